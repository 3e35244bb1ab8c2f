"""Turns `make bench` output into one markdown table.

Reads Go benchmark lines (BenchmarkPlainInference/bsNN, BenchmarkExplain/
METHOD/bsNN) and the peer's lines (BenchmarkPeer/tf-keras-vis/METHOD/bsNN),
all with an "images/s" metric, measured in the same run, and prints per
method its forward passes on copies of each image (the copies/img and
tail-copies/img metrics: its declared cost), images/s per batch size, and
the ratios to plain inference (the floor) and to tf-keras-vis (the peer).

Usage: python scripts/bench_table.py FILE [FILE ...]
"""

import re
import sys

LINE = re.compile(r"^Benchmark(\S+?)/bs(\d+)(?:-\d+)?\s+\d+\s+(.*)$")
METRIC = re.compile(r"([\d.e+-]+) (\S+)")


def main():
    rates, copies = {}, {}
    for path in sys.argv[1:]:
        for line in open(path):
            m = LINE.match(line.strip())
            if not m:
                continue
            metrics = {unit: float(v) for v, unit in METRIC.findall(m.group(3))}
            if "images/s" in metrics:
                rates[(m.group(1), int(m.group(2)))] = metrics["images/s"]
            if "copies/img" in metrics:
                copies[m.group(1)] = (metrics["copies/img"], metrics.get("tail-copies/img", 0))
    sizes = sorted({bs for _, bs in rates})
    plain = {bs: rates.get(("PlainInference", bs)) for bs in sizes}
    methods = [k[len("Explain/"):] for k in dict.fromkeys(name for name, _ in rates) if k.startswith("Explain/")]
    peers = [k for k in dict.fromkeys(name for name, _ in rates) if k.startswith("Peer/")]

    def cell(v):
        if v is None:
            return "—"
        return f"{v:.1f}" if v >= 10 else f"{v:.3g}"

    def ratio(a, b):
        if a is None or not b:
            return "—"
        return f"{a / b:.2f}×" if a / b >= 0.01 else f"{a / b:.2g}×"

    def cost(name):
        c = copies.get(name)
        if c is None:
            return "—"
        full, tail = int(c[0]), int(c[1])
        return f"{full:,}" + (f" + {tail:,} tail" if tail else "")

    head = "| | forward passes on copies per image | " + " | ".join(f"bs {bs} img/s" for bs in sizes)
    head += " | " + " | ".join(f"vs plain bs {bs}" for bs in sizes)
    head += " | " + " | ".join(f"vs tf-keras-vis bs {bs}" for bs in sizes) + " |"
    print(head)
    print("|" + "---|" * (2 + 3 * len(sizes)))
    print("| plain inference (floor) | — | " + " | ".join(cell(plain[bs]) for bs in sizes) + " |" + " |" * (2 * len(sizes)))
    for m in methods:
        row = [rates.get(("Explain/" + m, bs)) for bs in sizes]
        peer = [rates.get(("Peer/tf-keras-vis/" + m, bs)) for bs in sizes]
        print(f"| tfcam {m} | {cost('Explain/' + m)} | " + " | ".join(cell(v) for v in row) + " | "
              + " | ".join(ratio(v, plain[bs]) for v, bs in zip(row, sizes)) + " | "
              + " | ".join(ratio(v, p) for v, p in zip(row, peer)) + " |")
    for p in peers:
        row = [rates.get((p, bs)) for bs in sizes]
        print(f"| {p[len('Peer/'):]} (peer) | — | " + " | ".join(cell(v) for v in row) + " | "
              + " | ".join(ratio(v, plain[bs]) for v, bs in zip(row, sizes)) + " |" + " |" * len(sizes))


if __name__ == "__main__":
    main()
