"""Page load to the first live message rendered, in Chromium, on loopback (WEB.md's budget).

    python -m bench.first_message [--runs 30]

Starts its own server (SQLite in a temporary directory) with the browser tests' small world.
Each run opens ann's chat with bob in a new page and, as the page starts loading, has bob send a
message from a socket of his own; the time is from the start of the load to the message shown
in ann's conversation (by the live frame, or by the history the page loads if it came first).
Prints the median and the p95. Needs what the browser tests need: playwright and
/usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from twisted.internet import task
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread

from trial_tests.web.browser import launch_chromium, session_cookies
from trial_tests.web.world import World, world_server

# Bob's page sends one private message on a socket of its own and answers once it is acked.
_SEND = """([to, content]) => new Promise((resolve) => {
  const ws = new WebSocket(`ws://${location.host}/ws`);
  ws.onopen = () => ws.send(JSON.stringify({type: "private", to, content, id: content}));
  ws.onmessage = (event) => {
    if (JSON.parse(event.data).type === "ack") { ws.close(); resolve(true); }
  };
})"""


def measure(base: str, world: World, runs: int) -> list[float]:
    """Seconds from the start of each load to the message shown (blocking: run on a thread)."""
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        bob = browser.new_context()
        bob.add_cookies(session_cookies(world.bob.token, base))
        sender = bob.new_page()
        sender.goto(base + "/login")  # any page of the origin: its script opens the socket
        ann = browser.new_context()
        ann.add_cookies(session_cookies(world.ann.token, base))
        for run in range(runs):
            page = ann.new_page()
            content = f"live {run} {time.time_ns()}"
            started = time.perf_counter()
            page.goto(f"{base}/chat/u/{world.bob.id}", wait_until="commit")
            sender.evaluate(_SEND, [world.ann.id, content])
            page.get_by_text(content).wait_for()
            times.append(time.perf_counter() - started)
            page.close()
        browser.close()
    return times


async def run(reactor: Any, runs: int) -> None:
    async with world_server() as (running, world):
        times = await deferToThread(measure, running.url, world, runs)
    ms = sorted(1000 * t for t in times)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    print(f"{len(ms)} loads: median {statistics.median(ms):.0f} ms, p95 {p95:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    runs = parser.parse_args().runs
    task.react(lambda reactor: Deferred.fromCoroutine(run(reactor, runs)))


if __name__ == "__main__":
    main()
