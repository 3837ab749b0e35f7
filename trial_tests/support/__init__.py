"""What the fast in-memory test tier is built on (see memory.py)."""
