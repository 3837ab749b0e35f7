"""A read in one tab, in Chromium: from the message shown there to the counts of another tab of
the same person cleared (WEB.md's budget for the conversation badge: ≤ 1 s), run by hand.

    python -m bench.badge [--runs 10]

Each run starts its own server (SQLite in a temporary directory) and plays the browser test's
scenario (trial_tests/web/test_chat.py's `read_in_one_tab`): Bob's second tab shows the
conversation list, counting Ann's unread messages; Bob opens the conversation in his first tab.
The time is from Ann's last message shown in the first tab to the second tab's title, the
conversation's badge and the Chat link's badge all cleared, on the monotonic clock of the thread
driving the browser. The test checks that they clear, under any load; this script prints the
figure: each run's, the median and the worst. Needs what the browser tests need: playwright
and /usr/bin/chromium.
"""

from __future__ import annotations

from trial_tests.web.browser import play
from trial_tests.web.test_chat import read_in_one_tab
from trial_tests.web.world import fresh_server, time_by_hand


async def once() -> float:
    async with fresh_server() as running:
        seconds: float = await play(read_in_one_tab, running.url)
    return seconds


def main() -> None:
    time_by_hand(once, __doc__, 10, "from the read to the other tab cleared")


if __name__ == "__main__":
    main()
