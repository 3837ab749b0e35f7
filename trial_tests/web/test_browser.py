"""The browser harness itself: it fails a test on a console error or a CSP violation, and lets
the browser's report of an expected 4xx from /api/ through."""

from __future__ import annotations

from typing import Any

from twisted.internet import reactor
from twisted.web.resource import Resource
from twisted.web.server import Site

from trial_tests.web.browser import BrowserCase, PeopleBrowser, drop_connections_at_end

listening: Any = reactor  # listenTCP's stubs want a factory type of their own
STRICT = b"default-src 'self'; script-src 'self'; img-src data:"


class Page(Resource):
    """One fixed answer: a body, a status and a CSP."""

    isLeaf = True

    def __init__(self, body: bytes, status: int = 200, csp: bytes | None = None) -> None:
        super().__init__()
        self.body, self.status, self.csp = body, status, csp

    def render_GET(self, request: Any) -> bytes:
        request.setResponseCode(self.status)
        if self.csp is not None:
            request.setHeader(b"content-security-policy", self.csp)
        request.setHeader(
            b"content-type", b"text/html" if self.status == 200 else b"application/json"
        )
        return self.body


def page(body: str) -> bytes:
    return f'<!doctype html><title>t</title><link rel="icon" href="data:,">{body}'.encode()


class HarnessTests(BrowserCase):
    """Each page is served by a bare twisted.web Site on loopback."""

    def serve(self, **pages: Page) -> str:
        root = Resource()
        for name, resource in pages.items():
            root.putChild(name.encode(), resource)
        api = Resource()
        api.putChild(b"me", Page(b'{"error":"unauthorized"}', 401))
        root.putChild(b"api", api)
        root.putChild(b"app.js", Page(b'fetch("/api/me");', csp=STRICT))
        site = Site(root)
        port = listening.listenTCP(0, site, interface="127.0.0.1")
        drop_connections_at_end(self, site)
        self.addCleanup(port.stopListening)
        return f"http://127.0.0.1:{port.getHost().port}"

    async def test_console_error_fails(self) -> None:
        url = self.serve(p=Page(page("<script>console.error('boom')</script>")))
        with self.assertRaises(self.failureException) as caught:
            await self.scenario(visit("/p"), url)
        self.assertIn("console error", str(caught.exception))
        self.assertIn("boom", str(caught.exception))

    async def test_uncaught_exception_fails(self) -> None:
        url = self.serve(p=Page(page("<script>null.x</script>")))
        with self.assertRaises(self.failureException) as caught:
            await self.scenario(visit("/p"), url)
        self.assertIn("uncaught", str(caught.exception))

    async def test_csp_violation_fails(self) -> None:
        url = self.serve(p=Page(page("<script>document.title = 'ran'</script>"), csp=STRICT))
        with self.assertRaises(self.failureException) as caught:
            await self.scenario(visit("/p"), url)
        self.assertIn("CSP violation", str(caught.exception))
        self.assertIn("script-src", str(caught.exception))

    async def test_api_4xx_is_expected(self) -> None:
        url = self.serve(p=Page(page('<script src="/app.js"></script>'), csp=STRICT))

        def scenario(browser: PeopleBrowser, base: str) -> str:
            tab = browser.person()
            with tab.expect_response(lambda response: response.url.endswith("/api/me")):
                tab.goto(base + "/p")
            return tab.title()

        self.assertEqual(await self.scenario(scenario, url), "t")

    async def test_people_have_their_own_cookies(self) -> None:
        url = self.serve(p=Page(page("")))

        def scenario(browser: PeopleBrowser, base: str) -> list[Any]:
            ann, bob = browser.person(), browser.person()
            ann.goto(base + "/p")
            bob.goto(base + "/p")
            ann.evaluate("() => { document.cookie = 'who=ann; path=/'; }")
            return [tab.evaluate("() => document.cookie") for tab in (ann, bob)]

        self.assertEqual(await self.scenario(scenario, url), ["who=ann", ""])


def visit(path: str) -> Any:
    """A scenario that opens `path` as one person and waits for the page to load."""

    def scenario(browser: PeopleBrowser, base: str) -> None:
        browser.person().goto(base + path, wait_until="load")

    return scenario
