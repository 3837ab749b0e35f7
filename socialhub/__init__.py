"""socialhub: a self-hostable, real-time social network server on Twisted."""
