"""Fast tests of the handlers' rules, run on the in-memory tier (trial_tests/support/memory.py).

They drive the server only through its HTTP and WebSocket API, as the end-to-end tier does.
"""
