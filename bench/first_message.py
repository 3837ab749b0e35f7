"""Page load to the first live message rendered, in Chromium, on loopback (WEB.md's budget).

    python -m bench.first_message [--runs 30] [--against DIR] [--floor] [--trace]

Starts its own server (SQLite in a temporary directory) with the browser tests' small world.
Each run opens ann's chat with bob in a new page and, as the page starts loading, has bob send a
message on the socket his own page keeps open; the time is from the start of the load to the
message shown in ann's conversation (by the live frame, or by the history the page loads if it
came first). The page times itself: a MutationObserver, installed before any of the page's
scripts, notes the first frame painted after the message's text entered the document, on the
page's own clock (0 is the start of the navigation), and reports it in a console message. The
harness runs nothing in the page before that message: a Playwright locator waiting for the text
would inject Playwright's script into the page, 15-25 ms on its main thread, often in the middle
of the load (and Playwright's polling, at 0, 20, 70, 170 and 270 ms, would round figures up).
Prints the median and the p95. With `--against DIR` a second server serves the client in DIR
(another checkout's `socialhub/web`) and the runs alternate between the two, so that both see
the same machine: an A/B that a loaded machine's noise does not decide. `--floor` adds, in turn
with the others, the same new tab opened on a tiny page whose text is the message: what the
browser and Playwright cost before any of the client's work. `--trace` prints, for each client,
where the time went by the page's own timings (navigation and resource timing, long animation
frames). Needs what the browser tests need: playwright and /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import html
import json
import statistics
import time
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from twisted.internet import task
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread
from twisted.web.resource import Resource
from twisted.web.server import Site

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
# entered the document began (performance.now(), from the start of the navigation), told in a
# console message "<_SHOWN> <ms>".
_SHOWN = "first-message-shown"
_WATCH = """((text, said) => {
  const seen = () => document.body !== null && document.body.textContent.includes(text);
  const shown = () => requestAnimationFrame((now) => {
    window.shown = now;
    console.log(said, now);
  });
  const observer = new MutationObserver(() => {
    if (seen()) { observer.disconnect(); shown(); }
  });
  observer.observe(document, {childList: true, subtree: true, characterData: true});
})"""
# The long animation frames (over 50 ms) of the load, kept for `--trace`.
_FRAMES = """(() => {
  window.longFrames = [];
  const keep = (list) => window.longFrames.push(...list.getEntries().map((e) => e.toJSON()));
  new PerformanceObserver(keep).observe({type: "long-animation-frame", buffered: true});
})()"""
# Where the time went, read once the message is shown: ms from the start of the navigation.
# A step the page did not take (the floor's tiny page asks nothing) is null.
_STEPS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const resources = performance.getEntriesByType("resource");
  const first = (part, key) => {
    const times = resources.filter((entry) => entry.name.includes(part)).map((entry) => entry[key]);
    return times.length ? Math.min(...times) : null;
  };
  const before = window.longFrames.filter((frame) => frame.startTime < window.shown);
  const scripts = {};
  for (const script of before.flatMap((frame) => frame.scripts)) {
    const where = `${script.sourceURL.split("/").pop() || script.invoker}: ${script.invokerType}`;
    scripts[where] = (scripts[where] || 0) + script.duration;
  }
  const history = first("/api/messages/", "responseEnd");
  return {
    steps: {
      "the page's bytes received": nav.responseEnd,
      "its CSS and modules asked": first("/static/", "startTime"),
      "the page parsed (domInteractive)": nav.domInteractive,
      "the first API request asked": first("/api/", "startTime"),
      "the newest page of history answered": history,
      "long frames before the message (ms of them)": before.reduce((sum, f) => sum + f.duration, 0),
      "  of which forced style and layout": before.flatMap((f) => f.scripts)
        .reduce((sum, s) => sum + s.forcedStyleAndLayoutDuration, 0),
      "the message painted": window.shown,
      "from the history's answer to the paint": history === null ? null : window.shown - history,
    },
    scripts,
  };
}"""


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
        self.traces: list[dict[str, Any]] = []

    def load(self, run: int, trace: bool = False) -> float:
        """Seconds from the start of the navigation to the first frame showing the message."""
        page = self.ann.new_page()
        content = f"live {run} {time.time_ns()}"
        page.add_init_script(f"{_WATCH}({json.dumps(content)}, {json.dumps(_SHOWN)})")
        if trace:
            page.add_init_script(_FRAMES)
        said = page.expect_console_message(lambda message: message.text.startswith(_SHOWN))
        with said as message:
            page.goto(self.start(content), wait_until="commit")
        shown = message.value.text.split()[-1]
        if trace:
            self.traces.append(page.evaluate(_STEPS))
        page.close()
        return float(shown) / 1000

    def start(self, content: str) -> str:
        """Bob sends the message; the URL of the page that shows it."""
        self.sender.evaluate(_SEND, [self.world.ann.id, content])
        return f"{self.base}/chat/u/{self.world.bob.id}"


class _Floor(_Loads):
    """The same new tab on a tiny page whose text is the message: the harness's own cost."""

    def __init__(self, browser: Browser, base: str) -> None:
        self.base = base
        self.ann = browser.new_context()
        self.traces = []

    def start(self, content: str) -> str:
        return f"{self.base}/?{urlencode({'m': content})}"


class _TinyPage(Resource):
    """`/?m=<text>`: a page of that text, and nothing else."""

    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        text = html.escape(request.args.get(b"m", [b""])[0].decode())
        return f"<!doctype html><title>floor</title><p>{text}</p>".encode()


def measure(
    servers: list[tuple[str, World]], floor: str | None, runs: int, trace: bool
) -> tuple[list[list[float]], list[list[dict[str, Any]]]]:
    """Each server's times (then the floor's), its loads interleaved with the others', and
    with `trace` their steps (blocking: run on a thread)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        loads = [_Loads(browser, base, world) for base, world in servers]
        if floor:
            loads.append(_Floor(browser, floor))
        times: list[list[float]] = [[] for _ in loads]
        for run in range(runs):
            order = list(range(len(loads)))
            for index in order if run % 2 == 0 else reversed(order):  # none always first
                times[index].append(loads[index].load(run, trace))
        browser.close()
    return times, [each.traces for each in loads]


def summary(times: list[float]) -> tuple[float, float]:
    """The median and the p95, in ms."""
    ms = sorted(1000 * t for t in times)
    return statistics.median(ms), ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]


def print_steps(name: str, traces: list[dict[str, Any]]) -> None:
    """Each step's median and p95 over the loads, then the scripts of the long frames."""
    print(f"{name}, ms from the start of the navigation (median, p95):")
    for step in traces[0]["steps"]:
        found = [t["steps"][step] / 1000 for t in traces if t["steps"][step] is not None]
        if found:
            median, p95 = summary(found)
            print(f"  {step}: {median:.0f}, {p95:.0f}")
    scripts = sorted({where for t in traces for where in t["scripts"]})
    totals = {
        where: sum(t["scripts"].get(where, 0) for t in traces) / len(traces) for where in scripts
    }
    for where, mean in sorted(totals.items(), key=lambda item: -item[1])[:6]:
        print(f"  long frames' script {where}: {mean:.0f} ms a load on average")


async def run(reactor: Any, runs: int, against: str | None, floor: bool, trace: bool) -> None:
    async with AsyncExitStack() as stack:
        servers = [await stack.enter_async_context(world_server())]
        if against:
            servers.append(await stack.enter_async_context(world_server(web_dir=against)))
        targets = [(running.url, world) for running, world in servers]
        tiny = None
        if floor:
            port = reactor.listenTCP(0, Site(_TinyPage()), interface="127.0.0.1")
            stack.push_async_callback(port.stopListening)
            tiny = f"http://127.0.0.1:{port.getHost().port}"
        times, traces = await deferToThread(measure, targets, tiny, runs, trace)
    names = ["this client", against] if against else ["this client"]
    names += ["the floor (a tiny page)"] if floor else []
    for name, each in zip(names, times, strict=True):
        median, p95 = summary(each)
        print(f"{name}: {len(each)} loads: median {median:.0f} ms, p95 {p95:.0f} ms")
    if against:
        (median, p95), (their_median, their_p95) = summary(times[0]), summary(times[1])
        print(f"this / {against}: median {median / their_median:.2f}, p95 {p95 / their_p95:.2f}")
    for name, steps in zip(names, traces, strict=True) if trace else ():
        print_steps(name, steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--against", metavar="DIR", help="also serve the client in DIR, in turn")
    parser.add_argument("--floor", action="store_true", help="also load a tiny page, in turn")
    parser.add_argument("--trace", action="store_true", help="print where the time went")
    args = parser.parse_args()
    task.react(
        lambda reactor: Deferred.fromCoroutine(
            run(reactor, args.runs, args.against, args.floor, args.trace)
        )
    )


if __name__ == "__main__":
    main()
