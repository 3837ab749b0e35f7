"""Tests of socialhub/handlers/: each handler's rules end to end (a real server, real sockets, both
engines) and on the fast in-memory tier (`*_memory.py`, trial_tests/support/memory.py)."""
