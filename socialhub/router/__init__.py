"""Live delivery: which connections are open for which user, and getting frames to them."""
