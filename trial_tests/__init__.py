"""twisted.trial tests for socialhub.

Where a test goes: the tree mirrors the package, so one directory holds every test of a module.

- A test of `socialhub/<sub>/<module>.py` is `trial_tests/<sub>/test_<module>.py`; a second file
  for the same module adds what it covers to the name (`handlers/test_posts_visibility.py`).
  A test of a top-level module (`socialhub/metrics.py`) sits at the top (`test_metrics.py`).
- An end-to-end test of an area (a real server driven over HTTP and WebSocket) goes with the
  handler module whose rules it tests: `handlers/test_groups.py`, `handlers/test_users_follows.py`.
- The fast in-memory tier (support/memory.py) sits beside the end-to-end tests of the same
  module, named `*_memory.py`: `handlers/test_groups_memory.py`.
- A test of a whole package's contract, every implementation at once, is named after the
  package: `bus/test_bus.py`.
- Whole-process and system tests that are about no single module (clusters, faults, durability,
  startup, packaging, deployment files, examples, the benchmark) are in `system/`.
- What more than one test module uses is in `support/`; a test module never imports another.
"""
