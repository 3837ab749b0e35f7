"""Page load to the first live message rendered, in Chromium, on loopback (WEB.md's budget).

    python -m bench.first_message [--runs 30] [--against DIR]

Starts its own server (SQLite in a temporary directory) with the browser tests' small world.
Each run opens ann's chat with bob in a new page and, as the page starts loading, has bob send a
message on the socket his own page keeps open; the time is from the start of the load to the
message shown in ann's conversation (by the live frame, or by the history the page loads if it
came first). The page times itself: a MutationObserver, installed before any of the page's
scripts, notes the first frame painted after the message's text entered the document, on the
page's own clock (0 is the start of the navigation). Playwright's polling, which checks for the
text at 0, 20, 70, 170 and 270 ms and so rounds every figure up, is outside the figure.
Prints the median and the p95. With `--against DIR` a second server serves the client in DIR
(another checkout's `socialhub/web`) and the runs alternate between the two, so that both see
the same machine: an A/B that a loaded machine's noise does not decide. Needs what the browser
tests need: playwright and /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

from twisted.internet import task
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread

from trial_tests.web.browser import launch_chromium, session_cookies
from trial_tests.web.world import World, world_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser

# Bob's page keeps a socket of its own open, as a person in a conversation does...
_OPEN = """() => new Promise((resolve) => {
  window.sender = new WebSocket(`ws://${location.host}/ws`);
  window.sender.onopen = () => resolve(true);
})"""
# ... and sends on it without waiting for the ack, just before ann's page starts loading.
_SEND = """([to, content]) => {
  window.sender.send(JSON.stringify({type: "private", to, content, id: content}));
}"""
# Ann's page, from before its own scripts run: `shown` is when the first frame after `text`
# entered the document began (performance.now(), from the start of the navigation).
_WATCH = """((text) => {
  const seen = () => document.body !== null && document.body.textContent.includes(text);
  const shown = () => requestAnimationFrame((now) => { window.shown = now; });
  const observer = new MutationObserver(() => {
    if (seen()) { observer.disconnect(); shown(); }
  });
  observer.observe(document, {childList: true, subtree: true, characterData: true});
})"""


class _Loads:
    """Ann's chat with bob loaded again and again from one server, bob sending as it loads."""

    def __init__(self, browser: Browser, base: str, world: World) -> None:
        self.base = base
        self.world = world
        bob = browser.new_context()
        bob.add_cookies(session_cookies(world.bob.token, base))
        self.sender = bob.new_page()
        self.sender.goto(base + "/login")  # any page of the origin
        self.sender.evaluate(_OPEN)
        self.ann = browser.new_context()
        self.ann.add_cookies(session_cookies(world.ann.token, base))

    def load(self, run: int) -> float:
        """Seconds from the start of the navigation to the first frame showing the message."""
        page = self.ann.new_page()
        content = f"live {run} {time.time_ns()}"
        page.add_init_script(f"{_WATCH}({json.dumps(content)})")
        self.sender.evaluate(_SEND, [self.world.ann.id, content])
        page.goto(f"{self.base}/chat/u/{self.world.bob.id}", wait_until="commit")
        page.get_by_text(content).wait_for()
        shown = page.wait_for_function("() => window.shown").json_value()
        page.close()
        return float(shown) / 1000


def measure(servers: list[tuple[str, World]], runs: int) -> list[list[float]]:
    """Each server's times, its loads interleaved with the others' (blocking: run on a thread)."""
    from playwright.sync_api import sync_playwright

    times: list[list[float]] = [[] for _ in servers]
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        loads = [_Loads(browser, base, world) for base, world in servers]
        for run in range(runs):
            order = list(range(len(loads)))
            for index in order if run % 2 == 0 else reversed(order):  # neither always first
                times[index].append(loads[index].load(run))
        browser.close()
    return times


def summary(times: list[float]) -> tuple[float, float]:
    """The median and the p95, in ms."""
    ms = sorted(1000 * t for t in times)
    return statistics.median(ms), ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]


async def run(reactor: Any, runs: int, against: str | None) -> None:
    async with AsyncExitStack() as stack:
        servers = [await stack.enter_async_context(world_server())]
        if against:
            servers.append(await stack.enter_async_context(world_server(web_dir=against)))
        targets = [(running.url, world) for running, world in servers]
        times = await deferToThread(measure, targets, runs)
    names = ["this client", against]
    for name, each in zip(names, times, strict=False):
        median, p95 = summary(each)
        print(f"{name}: {len(each)} loads: median {median:.0f} ms, p95 {p95:.0f} ms")
    if against:
        (median, p95), (their_median, their_p95) = summary(times[0]), summary(times[1])
        print(f"this / {against}: median {median / their_median:.2f}, p95 {p95 / their_p95:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--against", metavar="DIR", help="also serve the client in DIR, in turn")
    args = parser.parse_args()
    task.react(lambda reactor: Deferred.fromCoroutine(run(reactor, args.runs, args.against)))


if __name__ == "__main__":
    main()
