"""What more than one test module uses, and nothing else: test modules import from here, never
from each other.

harness.py starts a real server on a loopback port (end-to-end tier); memory.py and case.py
run the same wiring on a reactor in memory (fast tier, `*_memory.py`). Both drive the server
only through its HTTP and WebSocket API. The rest are the helpers of one area each (chat,
follows, groups, posts), of the tests that need more than one server (processes, redis_server),
or of the tests that reach below the API (database, counting, raw_http, images).
"""
