"""A long conversation in Chromium: however far the reader scrolls, the page keeps at most a
window of rows (chat.js's WINDOW) and the document stays under WEB.md's 5,000 nodes; scrolling back
down shows every message again, in order, once. Not timed: bench/chat_scale.py measures."""

from __future__ import annotations

from trial_tests.support.chat import register
from trial_tests.web.browser import BrowserCase, PeopleBrowser
from trial_tests.web.scrolling import row_texts, scroll_through, window
from trial_tests.web.world import fill_conversation, numbered

# Long enough that the page's window of rows (chat.js's WINDOW) fits several times over.
MESSAGES = 1500
NODE_BUDGET = 5000  # WEB.md: the DOM after scrolling 5,000 messages


class LongConversationTests(BrowserCase):
    async def test_scrolling_keeps_a_window(self) -> None:
        """Up through all 1,500 messages the node count stays under the budget at every step;
        back down, each step shows consecutive messages, and all of them are seen, ending at
        the newest."""
        running = await self.start(rate_limit=0)
        ann, bob = await register(running.url, "ann"), await register(running.url, "bob")
        await fill_conversation(running, bob, ann.id, MESSAGES)
        everything = [numbered(number) for number in range(MESSAGES)]

        def scenario(browser: PeopleBrowser, base: str) -> None:
            page = browser.person(session=ann.token)
            page.goto(f"{base}/chat/u/{bob.id}")
            page.get_by_text(everything[-1]).wait_for()
            rows = window(page)
            self.assertLess(3 * rows, MESSAGES)
            counts: list[int] = []
            seen: set[str] = set()

            def consecutive(texts: list[str], nodes: int) -> None:
                counts.append(nodes)
                self.assertLessEqual(len(texts), rows)
                first = everything.index(texts[0])
                self.assertEqual(texts, everything[first : first + len(texts)])
                seen.update(texts)

            scroll_through(page, True, consecutive, everything[0])
            top = row_texts(page)
            self.assertEqual(top[0], everything[0])
            seen.clear()
            seen.update(top)
            scroll_through(page, False, consecutive, everything[-1])
            self.assertEqual(row_texts(page)[-1], everything[-1])
            self.assertEqual(seen, set(everything))
            self.assertLess(max(counts), NODE_BUDGET, counts)

        await self.scenario(scenario)
