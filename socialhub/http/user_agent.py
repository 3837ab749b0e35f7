"""A session's client as its owner is shown it: "Firefox on Linux", from the User-Agent.

Only this short description is stored, never the header itself: the list of sessions needs no
more, and a header's version numbers and build strings would tell a reader of the database more
about the user's machine than they need to know.
"""

from __future__ import annotations

# The first marker found names the browser; order matters where one browser's header names
# another's (Edge and Opera say Chrome, Chrome says Safari).
_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chromium/", "Chromium"),
    ("HeadlessChrome/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)
# A client that is no browser (curl, a script) is named by its product token, cut to this.
PRODUCT_MAX = 40
UNKNOWN = "unknown client"


def _first(header: str, markers: tuple[tuple[str, str], ...]) -> str | None:
    return next((name for marker, name in markers if marker in header), None)


def _product(header: str) -> str:
    """The header's first product name (`curl` of `curl/8.5.0`), printable ASCII only."""
    name = header.split("/", 1)[0].split(" ", 1)[0]
    printable = "".join(c for c in name if c.isascii() and c.isprintable())
    return printable[:PRODUCT_MAX] or UNKNOWN


def describe(header: str | None) -> str:
    """A description of the client that sent `header` (a User-Agent), at most ~60 characters."""
    if not header:
        return UNKNOWN
    browser = _first(header, _BROWSERS) or _product(header)
    system = _first(header, _SYSTEMS)
    return f"{browser} on {system}" if system else browser
