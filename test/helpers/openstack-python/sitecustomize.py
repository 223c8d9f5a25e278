# Loaded by the tests' `openstack` CLI only (its PYTHONPATH names this directory). keystoneauth and
# the CLI import osprofiler whenever it is installed — Debian's Keystone package, which the Keystone
# tests need, pulls it in — and it brings eventlet and oslo.concurrency with it: about a third of
# each call's CPU on a command that never profiles. Without it the CLI skips profiling support
# (--os-profile), as on a machine without osprofiler; everything else runs as installed.
import sys

sys.modules['osprofiler'] = None
