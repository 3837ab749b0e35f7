"""The browser harness: Playwright's sync API driving Debian's Chromium from a worker thread.

Playwright's sync API blocks, and its objects belong to the thread that made them, so one worker
thread launches Chromium and runs every scenario (a Deferred to thread: the server under test
stays on the reactor, which the test awaits). A scenario is a plain
function `scenario(browser, base_url)`: it opens a page per person (`browser.person()`, a fresh
context each, so cookies and storage are their own) and drives them.

Every page reports its console errors, uncaught exceptions and Content-Security-Policy
violations to the harness (an init script listens for `securitypolicyviolation`; the CSP is never
bypassed), and the test fails on any of them. The one console error let through is Chromium's
"Failed to load resource" for an expected 4xx from /api/ (a logged-out GET /api/auth/me, say).
"""

from __future__ import annotations

import atexit
import dataclasses
import importlib.util
import os
import queue
import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.main import CONNECTION_DONE
from twisted.python.failure import Failure
from twisted.trial.unittest import FailTest, TestCase

from socialhub.auth.tokens import COOKIE_NAME, HINT_COOKIE_NAME
from trial_tests.support.harness import RunningServer, start_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright

CHROMIUM = "/usr/bin/chromium"
_DONE = Failure(CONNECTION_DONE)
T = TypeVar("T")

# Records each violation through a binding the harness exposes; runs before any page script.
_CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
    window.__socialhubCspViolation(
        `${event.effectiveDirective} blocked ${event.blockedURI || "inline"} ` +
        `at ${event.sourceFile}:${event.lineNumber}`);
}, true);
"""
# Chromium's console line for a response with an error status; its location is the resource.
_FAILED_LOAD = re.compile(r"^Failed to load resource: the server responded with a status of 4\d\d")
# Chromium's console lines for a connection refused or cut, or a server answering that it is
# stopping.
_REFUSED = re.compile(
    r"net::ERR_(CONNECTION_(REFUSED|RESET|CLOSED)|EMPTY_RESPONSE)|with a status of 503\b"
)


def launch_chromium(playwright: Playwright) -> Browser:
    """Debian's Chromium, never a browser Playwright downloads; no sandbox (it runs as root)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])


def session_cookies(token: str, base_url: str) -> list[Any]:
    """The cookies of a session as the server sets them at log-in, for a browser context: the
    session itself and the hint that lets the page ask who is signed in."""
    return [
        {"name": COOKIE_NAME, "value": token, "url": base_url},
        {"name": HINT_COOKIE_NAME, "value": "1", "url": base_url},
    ]


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (pip install -e '.[dev]')"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    return None


try:
    # For the tests' modules: they import it from here, so they load (and skip) without it.
    from playwright.sync_api import expect as expect
except ImportError:
    expect = None  # type: ignore[assignment]
else:
    # An assertion waits 5 s by default, an action or a wait_for 30 s: a page on a loaded
    # machine is given the longer time for both (a failing assertion only takes longer).
    expect.set_options(timeout=30_000)


def _expected(message: ConsoleMessage) -> bool:
    """Whether a console error is the browser's report of a 4xx answer from the API."""
    path = re.sub(r"^https?://[^/]+", "", message.location.get("url", ""))
    return bool(_FAILED_LOAD.match(message.text)) and path.startswith("/api/")


@dataclasses.dataclass
class PeopleBrowser:
    """What a scenario drives: one Chromium, a context and page per person, and the problems
    those pages reported. Only the harness thread touches it."""

    browser: Browser
    base_url: str
    problems: list[str] = dataclasses.field(default_factory=list)
    contexts: list[BrowserContext] = dataclasses.field(default_factory=list)
    watched: list[Page] = dataclasses.field(default_factory=list)
    tolerated: list[re.Pattern[str]] = dataclasses.field(default_factory=list)

    def person(self, session: str | None = None, **context_options: Any) -> Page:
        """A page in a new context (its own cookies, storage and, say, `color_scheme` or
        `viewport`) whose console errors and CSP violations fail the test; logged in when given
        a session token (trial_tests/support/chat.py's `Person.token`)."""
        context = self.browser.new_context(**context_options)
        self.contexts.append(context)
        if session is not None:
            context.add_cookies(session_cookies(session, self.base_url))
        context.expose_binding(
            "__socialhubCspViolation",
            lambda source, text: self.problems.append(
                f"CSP violation on {source['frame'].url}: {text}"
            ),
        )
        context.add_init_script(_CSP_LISTENER)
        context.on("page", self._watch)
        page = context.new_page()
        self._watch(page)
        return page

    def tolerate_refused_connections(self) -> None:
        """Let through the console errors of a server that cannot be reached or is stopping: a
        scenario that cuts the network or restarts the server expects the page's tries to fail
        until it is back."""
        self.tolerated.append(_REFUSED)

    def _watch(self, page: Page) -> None:
        if page in self.watched:
            return
        self.watched.append(page)
        page.on("console", lambda message: self._console(page, message))
        page.on("pageerror", lambda error: self.problems.append(f"uncaught on {page.url}: {error}"))

    def _console(self, page: Page, message: ConsoleMessage) -> None:
        tolerated = any(pattern.search(message.text) for pattern in self.tolerated)
        if message.type == "error" and not _expected(message) and not tolerated:
            location = message.location.get("url", page.url)
            self.problems.append(f"console error on {location}: {message.text}")

    def close(self) -> None:
        """Close every context, first letting each page deliver what it has queued."""
        for context in self.contexts:
            for page in context.pages:
                if not page.is_closed():
                    page.evaluate("() => new Promise((done) => setTimeout(done, 0))")
            context.close()
        self.contexts.clear()


Scenario = Callable[[PeopleBrowser, str], T]


class _BrowserThread:
    """The one thread of this process that owns Playwright and its Chromium.

    A daemon thread serving a queue: trial has no per-class hooks, so the browser is launched
    on first use, shared by every test of the process (each scenario has contexts of its own),
    and closed at exit.
    """

    def __init__(self) -> None:
        self._jobs: queue.Queue[Callable[[], None]] = queue.Queue()
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        threading.Thread(target=self._serve, name="playwright", daemon=True).start()
        atexit.register(self._close_at_exit)

    def _serve(self) -> None:
        while True:
            self._jobs.get()()

    def call(self, function: Callable[[], T]) -> Deferred[T]:
        """A Deferred firing, on the reactor, with `function()` as run on the browser thread."""
        result: Deferred[T] = Deferred()

        def job() -> None:
            try:
                value = function()
            except BaseException:
                failure = Failure()
                reactor.callFromThread(result.errback, failure)  # type: ignore[attr-defined]
            else:
                reactor.callFromThread(result.callback, value)  # type: ignore[attr-defined]

        self._jobs.put(job)
        return result

    def browser(self) -> Browser:
        """The Chromium, launched on first use (on the browser thread)."""
        if self._browser is None or not self._browser.is_connected():
            from playwright.sync_api import sync_playwright

            if self._playwright is None:
                self._playwright = sync_playwright().start()
            self._browser = launch_chromium(self._playwright)
        return self._browser

    def _close(self, done: threading.Event) -> None:
        try:
            if self._browser is not None:
                self._browser.close()
            if self._playwright is not None:
                self._playwright.stop()
        finally:
            done.set()

    def _close_at_exit(self) -> None:
        done = threading.Event()
        self._jobs.put(lambda: self._close(done))
        done.wait(10)


_thread: _BrowserThread | None = None


def browser_thread() -> _BrowserThread:
    global _thread
    if _thread is None:
        _thread = _BrowserThread()
    return _thread


def play(scenario: Callable[[PeopleBrowser, str], T], base_url: str) -> Deferred[T]:
    """Run `scenario(browser, base_url)` on the browser thread (for a test or a bench script);
    the Deferred fails with every problem the pages reported."""
    thread = browser_thread()

    def run() -> T:
        people = PeopleBrowser(thread.browser(), base_url)
        try:
            result = scenario(people, base_url)
        finally:
            people.close()
        if people.problems:
            raise FailTest("the pages reported problems:\n" + "\n".join(people.problems))
        return result

    return thread.call(run)


def drop_connections_at_end(testcase: TestCase, site: Any) -> None:
    """Close, when the test ends, every connection a browser still holds open to `site`.

    Chromium keeps connections alive after a page is closed and drops them when it pleases;
    the test must not end with them open (trial checks the reactor is clean), and must not wait
    on the browser's timing, so the server side closes them (its HTTP ones: the server's own
    stop closes its WebSockets).
    """
    open_: dict[Any, tuple[Any, Deferred[None]]] = {}
    build = site.buildProtocol

    def buildProtocol(address: Any) -> Any:
        protocol = build(address)
        if protocol is None:
            return None
        closed: Deferred[None] = Deferred()
        connect, lose = protocol.makeConnection, protocol.connectionLost

        def makeConnection(transport: Any) -> None:
            open_[protocol] = (transport, closed)
            connect(transport)

        def connectionLost(reason: Failure = _DONE) -> None:
            lose(reason)
            open_.pop(protocol, None)
            closed.callback(None)

        protocol.makeConnection = makeConnection
        protocol.connectionLost = connectionLost
        return protocol

    async def drop() -> None:
        for protocol, (transport, closed) in list(open_.items()):
            # A connection upgraded to a WebSocket has another protocol now: the server's
            # stop closes those.
            if getattr(transport, "protocol", None) is protocol:
                transport.abortConnection()
                await closed

    site.buildProtocol = buildProtocol
    testcase.addCleanup(drop)


class BrowserCase(TestCase):
    """A test class with one Chromium; `await self.scenario(fn)` runs `fn(browser, base_url)`.

    `self.server` is started by `start` (a real server over SQLite unless told otherwise) and
    scenarios run against it. Skipped, with the reason, where Chromium or Playwright is missing.
    """

    skip = missing_browser()
    server: RunningServer

    async def start(self, engine: str = "sqlite", **overrides: Any) -> RunningServer:
        """Start this test's server (Config `overrides` applied)."""
        self.server = await start_server(self, engine, **overrides)
        drop_connections_at_end(self, self.server.server.site)
        return self.server

    async def scenario(
        self, scenario: Callable[[PeopleBrowser, str], T], url: str | None = None
    ) -> T:
        """Run `scenario(browser, base_url)` in the browser thread; fail on any page problem."""
        return await play(scenario, url or self.server.url)
