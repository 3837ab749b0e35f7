"""Hostile text in every place the web client shows what people wrote, on a 360 px phone.

Markup, script, right-to-left overrides, zero-width characters and 4,000 characters without a
space go into names, group and event texts, posts, comments, an about, notifications, chat
messages (their previews, quotes and edits), the typing line, search results and a broadcast.
Each view must show them as text: no element made from them, nothing run (an inline handler
turned into markup would be a CSP violation, which fails the test in the harness), and no
horizontal scroll.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trial_tests.web.browser import BrowserCase, PeopleBrowser
from trial_tests.web.test_auth import connected
from trial_tests.web.test_chat import message, say
from trial_tests.web.test_page import _BROADCAST
from trial_tests.web.test_views import XSS, button, call, sign_up

if TYPE_CHECKING:
    from playwright.sync_api import Page

PHONE = {"viewport": {"width": 360, "height": 740}}
RTL = "\u202eevil\u202c rtl \u05e9\u05dc\u05d5\u05dd zero\u200bwidth\u200d\ufeff joiner"
# 4,000 characters, one word: the longest chat message, and a test of wrapping.
LONG = "<i>" + "y" * 3993 + "</i>"
MARKUP = "\n".join([*XSS, RTL])
ABOUT = MARKUP + "\n" + "y" * 1500  # within an about's 2,000 characters
# Within the 64 characters of a display name and the 100 of a group name.
NAME = "<img src=x onerror=alert(1)>\u202eRTL\u200b"
GROUP = "<script>alert(1)</script>" + "g" * 60
# What the corpus would make if it became markup.
ELEMENTS = ", ".join(
    f"#app {tag}" for tag in ["script", "iframe", "svg", "style", "b", "i", "img[src='x']"]
)
_SHOWS = """([selector, text]) =>
    [...document.querySelectorAll(selector)].some((e) => e.textContent.includes(text))"""

# The elements that reach past the viewport's right edge, innermost last.
_WIDE = """() => [...document.querySelectorAll("#app *")]
    .filter((e) => e.getBoundingClientRect().right > innerWidth + 0.5 || e.scrollWidth > innerWidth)
    .map((e) => `${e.tagName.toLowerCase()}.${e.className}: ${e.scrollWidth} px`)
    .slice(-4)"""


def shows(page: Page, *texts: str, where: str = "main") -> None:
    """Wait until each text is in the view as text, then check nothing became markup and the
    page does not scroll sideways."""
    for text in texts:
        page.wait_for_function(_SHOWS, arg=[where, text])
    made = page.locator(ELEMENTS + ", a[href^='javascript']")
    assert made.count() == 0, made.first.evaluate("(e) => e.outerHTML.slice(0, 200)")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 360, f"{page.url} is {width} px wide: " + ", ".join(page.evaluate(_WIDE))


def person(browser: PeopleBrowser, base: str, username: str, path: str = "/") -> Page:
    """A new person on a phone, named hostilely, at `path`."""
    page = sign_up(browser, base, username, path, **PHONE)
    call(page, "PATCH", base + "/api/users/me", {"display_name": f"{NAME} {username}"})
    return page


class HostileTextTests(BrowserCase):
    async def test_groups_events_posts_profiles_and_search(self) -> None:
        await self.start()

        def scenario(browser: PeopleBrowser, base: str) -> None:
            alice = person(browser, base, "alice")
            call(alice, "PATCH", base + "/api/users/me", {"about": ABOUT})
            group = call(
                alice, "POST", base + "/api/groups", {"name": GROUP, "description": MARKUP}
            )
            event = {"title": XSS[2] + RTL, "starts_at": "2030-01-01T12:00:00Z"}
            call(
                alice,
                "POST",
                f"{base}/api/groups/{group['id']}/events",
                {**event, "description": MARKUP},
            )
            post = call(
                alice,
                "POST",
                base + "/api/posts",
                {"content": MARKUP + LONG, "group_id": group["id"]},
            )
            call(alice, "POST", f"{base}/api/posts/{post['id']}/comments", {"content": LONG})

            alice.goto(f"{base}/g/{group['id']}")
            shows(alice, GROUP, MARKUP, event["title"], MARKUP + LONG)
            article = alice.get_by_role("article").first
            button(article, "Comments").click()
            shows(alice, LONG)

            alice.goto(base + "/u/alice")
            shows(alice, NAME, ABOUT)

            alice.goto(base + "/g")
            alice.get_by_role("searchbox").fill("script")
            alice.get_by_role("searchbox").press("Enter")
            shows(alice, GROUP)

            bob = person(browser, base, "bob", "/chat")
            bob.get_by_label("Start a chat: find people").fill("RTL")
            button(bob, "Search").click()
            shows(bob, NAME + " alice")

        await self.scenario(scenario)

    async def test_notifications(self) -> None:
        await self.start()

        def scenario(browser: PeopleBrowser, base: str) -> None:
            alice = person(browser, base, "alice")
            bob = person(browser, base, "bob")
            bob_id = call(bob, "GET", base + "/api/auth/me")["id"]
            group = call(alice, "POST", base + "/api/groups", {"name": GROUP})
            invite = {"group_id": group["id"], "user_id": bob_id}
            call(alice, "POST", base + "/api/groups/invite", invite)
            call(bob, "POST", f"{base}/api/groups/{group['id']}/invitation/accept")
            title = XSS[5] + RTL
            event = {"title": title, "starts_at": "2030-01-01T12:00:00Z"}
            call(alice, "POST", f"{base}/api/groups/{group['id']}/events", event)
            post = call(alice, "POST", base + "/api/posts", {"content": MARKUP})
            call(bob, "POST", f"{base}/api/posts/{post['id']}/comments", {"content": LONG})

            bob.goto(base + "/notifications")
            shows(bob, f"invited to join group '{GROUP}'", f"'{title}' in group '{GROUP}'")
            alice.goto(base + "/notifications")
            shows(alice, "bob commented on your post")

        await self.scenario(scenario)

    async def test_chat_previews_quotes_edits_typing_and_broadcast(self) -> None:
        await self.start(admins=frozenset({"ann"}))

        def scenario(browser: PeopleBrowser, base: str) -> None:
            ann = person(browser, base, "ann")
            ann_id = call(ann, "GET", base + "/api/auth/me")["id"]
            bob = person(browser, base, "bob", "/chat")
            bob_id = call(bob, "GET", base + "/api/auth/me")["id"]
            connected(bob)
            ann.goto(f"{base}/chat/u/{bob_id}")
            connected(ann)
            for text in (*XSS, RTL, LONG):
                say(ann, text)
            # The list's preview of the last message (its first 200 characters).
            shows(bob, LONG[:200])

            bob.locator(f'a[href="/chat/u/{ann_id}"]').click()
            message(bob, LONG).wait_for()
            shows(bob, NAME, *XSS, RTL, LONG)
            message(ann, XSS[0]).get_by_role("button", name="Reply").click()
            say(ann, "A reply to " + RTL)
            shows(bob, "↪ " + XSS[0])
            message(ann, XSS[1]).get_by_role("button", name="Edit").click()
            ann.get_by_role("textbox", name="Edit message").fill(XSS[3] + RTL)
            ann.get_by_role("textbox", name="Edit message").press("Enter")
            message(bob, XSS[3] + RTL).get_by_text("(edited)").wait_for()
            ann.get_by_role("textbox", name="Message", exact=True).press_sequentially(
                "hi", delay=20
            )
            shows(bob, f"{NAME} ann is typing…")

            ann.evaluate(_BROADCAST, MARKUP)
            shows(bob, MARKUP, where="[role=note]")

        await self.scenario(scenario)
