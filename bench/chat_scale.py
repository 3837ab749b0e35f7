"""A conversation of 5,000 messages in Chromium: the DOM while scrolling it, and keypress to
paint in the composer (WEB.md's budgets: ≤ 5,000 nodes, ≤ 50 ms), run by hand.

    python -m bench.chat_scale [--messages 5000] [--presses 50]

Starts its own server (SQLite in a temporary directory, no rate limit) with the browser tests'
small world, has bob send ann --messages private messages, then opens the conversation as ann,
scrolls up through all of them and back down, printing the document's node count after each
step. Then it types --presses characters into the composer, one at a time, and prints the
median and p95 of keypress to paint: from the keydown event's timestamp to the end of the
second animation frame after it (the frame that shows the character has been painted).
Needs what the browser tests need: playwright and /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any

from twisted.internet import task
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread

from trial_tests.web.browser import launch_chromium, session_cookies
from trial_tests.web.scrolling import node_count, row_texts, scroll_through
from trial_tests.web.world import World, fill_conversation, numbered, world_server

# Records, for the next keydown in the composer, the ms from the event to the second frame after.
_ARM = """() => new Promise((armed) => {
  const composer = document.getElementById("composer");
  window.__pressed = new Promise((done) => {
    composer.addEventListener("keydown", (event) => {
      const painted = () => done(performance.now() - event.timeStamp);
      requestAnimationFrame(() => requestAnimationFrame(painted));
    }, { once: true });
  });
  armed(true);
})"""
_PRESSED = "() => window.__pressed"


def measure(base: str, world: World, messages: int, presses: int) -> list[float]:
    """Scroll the conversation up and down, printing node counts; ms of each keypress to paint
    (blocking: run on a thread)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context()
        context.add_cookies(session_cookies(world.ann.token, base))
        page = context.new_page()
        page.goto(f"{base}/chat/u/{world.bob.id}")
        page.get_by_text(numbered(messages - 1)).wait_for()
        print(f"open: {len(row_texts(page))} rows, {node_count(page)} nodes")

        def show(texts: list[str], nodes: int) -> None:
            print(f"  rows {texts[0]} .. {texts[-1]} ({len(texts)}): {nodes} nodes", flush=True)

        print("scrolling up")
        scroll_through(page, True, show, numbered(0))
        print("scrolling down")
        scroll_through(page, False, show, numbered(messages - 1))
        composer = page.get_by_role("textbox", name="Message", exact=True)
        composer.focus()
        times = []
        for press in range(presses):
            page.evaluate(_ARM)
            page.keyboard.press("abcdefghij"[press % 10])
            times.append(page.evaluate(_PRESSED))
        browser.close()
    return times


async def run(reactor: Any, messages: int, presses: int) -> None:
    async with world_server(rate_limit=0) as (running, world):
        await fill_conversation(running, world.bob, world.ann.id, messages)
        times = await deferToThread(measure, running.url, world, messages, presses)
    ms = sorted(times)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    print(f"{len(ms)} keypresses to paint: median {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--presses", type=int, default=50)
    arguments = parser.parse_args()
    task.react(
        lambda reactor: Deferred.fromCoroutine(run(reactor, arguments.messages, arguments.presses))
    )


if __name__ == "__main__":
    main()
