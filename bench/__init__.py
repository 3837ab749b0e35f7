"""The benchmark: socialhub against its peers, each server in its own process.

Not part of the installed package (setup.py excludes it): it is a tool to run from the
repository, `python -m bench`, described in docs/performance.md.
"""
