"""socialhub: a self-hostable, real-time social network server on Twisted."""

# The one place the version is written: setup.py reads this line without importing the package.
__version__ = "1.0.0"
