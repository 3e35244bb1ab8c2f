"""Writes fresh random bytes to OUT/probe.bin: internal/fixture's test of
the reference cache tells a run of this script from a cached copy by them.

Usage: refcache_probe.py OUT [ARGS...]
"""
import os
import sys

with open(os.path.join(sys.argv[1], "probe.bin"), "wb") as f:
    f.write(os.urandom(16))
