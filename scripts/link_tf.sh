#!/usr/bin/env bash
# Exposes the TensorFlow C library from the venv's wheel to cgo.
# Usage: scripts/link_tf.sh VENV_DIR TF_DIR
#
# The tensorflow-cpu (or tensorflow[and-cuda]) wheel ships the C API inside
# libtensorflow_cc.so.2 (with libtensorflow_framework.so.2 beside it) and the
# C headers under tensorflow/include. graft links with -ltensorflow, so we
# make TF_DIR/lib/libtensorflow.so point at libtensorflow_cc.so.2, keep the
# real sonames beside it for the run-time loader, and TF_DIR/include at the
# headers. Then we check that the symbols graft and tfcam call are exported.
set -euo pipefail
venv=$1
tfdir=$2
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
pkg=$site/tensorflow
for f in libtensorflow_cc.so.2 libtensorflow_framework.so.2 include/tensorflow/c/c_api.h include/tensorflow/c/eager/c_api.h; do
  if [ ! -e "$pkg/$f" ]; then
    echo "setup: $pkg/$f is missing; the TensorFlow wheel in $venv is incomplete or not 2.18 (rm -rf $venv and run make setup again)" >&2
    exit 1
  fi
done
missing=""
exported=$(nm -D --defined-only "$pkg/libtensorflow_cc.so.2" | awk '{print $3}' | sed 's/@.*//')
for sym in TF_Version TF_LoadSessionFromSavedModel TF_SessionRun TF_AddGradientsWithPrefix TF_GraphImportGraphDefWithResults TF_GetAllOpList TF_DeleteTensor TFE_NewContext; do
  if ! grep -qx "$sym" <<<"$exported"; then
    missing="$missing $sym"
  fi
done
if [ -n "$missing" ]; then
  echo "setup: $pkg/libtensorflow_cc.so.2 does not export:$missing" >&2
  exit 1
fi
rm -rf "$tfdir/lib" "$tfdir/include"
mkdir -p "$tfdir/lib"
ln -sr "$pkg/libtensorflow_cc.so.2" "$tfdir/lib/libtensorflow.so"
ln -sr "$pkg/libtensorflow_cc.so.2" "$tfdir/lib/libtensorflow_cc.so.2"
ln -sr "$pkg/libtensorflow_framework.so.2" "$tfdir/lib/libtensorflow_framework.so.2"
ln -sr "$pkg/include" "$tfdir/include"
echo "setup: TensorFlow C library linked in $tfdir ($(cd "$pkg" && "$venv/bin/python" -c 'import importlib.metadata as m; print([d.metadata["Name"] + " " + d.version for d in m.distributions() if d.metadata["Name"].startswith("tensorflow") and "io" not in d.metadata["Name"]])'))"
