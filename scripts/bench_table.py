"""Turns `make bench` output into one markdown table.

Reads Go benchmark lines (BenchmarkPlainInference/bsNN, BenchmarkExplain/
METHOD/bsNN) and the peer's lines (BenchmarkPeer/tf-keras-vis/METHOD/bsNN),
all with an "images/s" metric, measured in the same run, and prints images/s
per method and batch size with the ratios to plain inference (the floor) and
to tf-keras-vis (the peer).

Usage: python scripts/bench_table.py FILE [FILE ...]
"""

import re
import sys

LINE = re.compile(r"^Benchmark(\S+?)/bs(\d+)(?:-\d+)?\s+\d+\s+\S+ ns/op\s+([\d.]+) images/s")


def main():
    rates = {}
    for path in sys.argv[1:]:
        for line in open(path):
            m = LINE.match(line.strip())
            if m:
                rates[(m.group(1), int(m.group(2)))] = float(m.group(3))
    sizes = sorted({bs for _, bs in rates})
    plain = {bs: rates.get(("PlainInference", bs)) for bs in sizes}
    methods = [k[len("Explain/"):] for k in dict.fromkeys(name for name, _ in rates) if k.startswith("Explain/")]
    peers = [k for k in dict.fromkeys(name for name, _ in rates) if k.startswith("Peer/")]

    def cell(v):
        return "—" if v is None else f"{v:.1f}"

    def ratio(a, b):
        return "—" if a is None or not b else f"{a / b:.2f}×"

    head = "| | " + " | ".join(f"bs {bs} img/s" for bs in sizes)
    head += " | " + " | ".join(f"vs plain bs {bs}" for bs in sizes)
    head += " | " + " | ".join(f"vs tf-keras-vis bs {bs}" for bs in sizes) + " |"
    print(head)
    print("|" + "---|" * (1 + 3 * len(sizes)))
    print("| plain inference (floor) | " + " | ".join(cell(plain[bs]) for bs in sizes) + " |" + " |" * (2 * len(sizes)))
    for m in methods:
        row = [rates.get(("Explain/" + m, bs)) for bs in sizes]
        peer = [rates.get(("Peer/tf-keras-vis/" + m, bs)) for bs in sizes]
        print(f"| tfcam {m} | " + " | ".join(cell(v) for v in row) + " | "
              + " | ".join(ratio(v, plain[bs]) for v, bs in zip(row, sizes)) + " | "
              + " | ".join(ratio(v, p) for v, p in zip(row, peer)) + " |")
    for p in peers:
        row = [rates.get((p, bs)) for bs in sizes]
        print(f"| {p[len('Peer/'):]} (peer) | " + " | ".join(cell(v) for v in row) + " | "
              + " | ".join(ratio(v, plain[bs]) for v, bs in zip(row, sizes)) + " |" + " |" * len(sizes))


if __name__ == "__main__":
    main()
