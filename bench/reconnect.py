"""A real connection drop of 10 s, in Chromium: from the network's return to every message sent
meanwhile shown (WEB.md's budget: ≤ 1 s), run by hand.

    python -m bench.reconnect [--runs 5]

Each run starts its own server (SQLite in a temporary directory) and plays the browser test's
scenario (trial_tests/web/test_reconnect.py's `across_a_cut`): Ann and Bob chatting, Bob
through a loopback proxy that is cut for 10 s while Ann sends 20 messages, then listens again.
The time is from the proxy listening again to Bob's page showing all 20 (checked once each, in
order, without a reload), on the monotonic clock of the thread driving the browser. The test
checks what the page shows, under any load; this script prints the figure: each run's, the
median and the worst. Needs what the browser tests need: playwright and /usr/bin/chromium.
"""

from __future__ import annotations

from trial_tests.support.proxy import LoopbackProxy
from trial_tests.web.browser import play
from trial_tests.web.test_reconnect import across_a_cut
from trial_tests.web.world import fresh_server, time_by_hand


async def once() -> float:
    """One drop on a server and proxy of its own: seconds from the network's return to all
    messages shown."""
    async with fresh_server() as running:
        proxy = LoopbackProxy(int(running.url.rsplit(":", 1)[1]))
        proxy.listen()
        try:
            seconds: float = await play(
                lambda browser, url: across_a_cut(browser, url, proxy), running.url
            )
        finally:
            await proxy.cut()
    return seconds


def main() -> None:
    time_by_hand(once, __doc__, 5, "from the network's return to all messages shown")


if __name__ == "__main__":
    main()
