"""The feed, profile, groups, notifications and settings views, driven in Chromium against a real
server: what one person does in their page reaches the other person's page live, what is saved
survives a reload, and text from the server is shown as text, never as markup."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from trial_tests.support.images import picture
from trial_tests.web.browser import BrowserCase, PeopleBrowser, missing_browser

if TYPE_CHECKING:
    from playwright.sync_api import FilePayload, Locator, Page
if missing_browser() is None:  # the module loads (and its tests skip) without Playwright
    from playwright.sync_api import expect

PASSWORD = "correct horse"

# Markup an HTML-rendering client would run or draw. Rendered as text, none of it becomes an
# element; rendered as HTML, the page's CSP blocks the handlers and the harness fails the test.
XSS = [
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    '"><svg onload=alert(1)>',
    '<a href="javascript:alert(1)">click</a>',
    "&lt;b&gt;bold&lt;/b&gt; & <b>bold</b>",
    "<iframe srcdoc='<script>alert(1)</script>'></iframe>",
]


def image_file(name: str) -> FilePayload:
    """A 64x48 PNG as Playwright's set_input_files takes it."""
    return {"name": name, "mimeType": "image/png", "buffer": picture("PNG")}


def call(page: Page, method: str, url: str, body: dict[str, Any] | None = None) -> Any:
    """An API request with the page's own cookies; returns the JSON answer (None for 204)."""
    response = page.request.fetch(url, method=method, data=body)
    assert response.ok, (method, url, response.status, response.text())
    return None if response.status == 204 else response.json()


def sign_up(
    browser: PeopleBrowser, base: str, username: str, path: str, **context_options: Any
) -> Page:
    """A new person, registered (so logged in) in a browser context of their own (made with
    `context_options`), at `path`."""
    page = browser.person(**context_options)
    call(
        page,
        "POST",
        base + "/api/auth/register",
        {"username": username, "email": f"{username}@example.org", "password": PASSWORD},
    )
    page.goto(base + path)
    return page


def button(scope: Page | Locator, name: str) -> Locator:
    return scope.get_by_role("button", name=name, exact=True)


# Whether a text node of the element, or of one inside it, says "null": a missing value that
# reached the page as text.
_NULL_TEXT = (
    "e => [e, ...e.querySelectorAll('*')].some(n => [...n.childNodes]"
    ".some(c => c.nodeType === 3 && c.textContent.trim() === 'null'))"
)


def shows_null(locator: Any) -> bool:
    return bool(locator.evaluate(_NULL_TEXT))


class PostViewTests(BrowserCase):
    async def test_image_post_like_and_comment_reach_the_authors_bell_live(self) -> None:
        await self.start()

        def scenario(browser: PeopleBrowser, base: str) -> None:
            alice = sign_up(browser, base, "alice", "/")
            bob = sign_up(browser, base, "bob", "/")
            alice.get_by_label("What's on your mind?").fill("Sunset at the lake")
            alice.get_by_label("Add images").set_input_files([image_file("sunset.png")])
            expect(alice.get_by_role("img", name="Image 1: sunset.png")).to_be_visible()
            button(alice, "Post").click()
            post = alice.get_by_role("article", name="Post by alice")
            expect(post.get_by_text("Sunset at the lake")).to_be_visible()
            expect(post.get_by_role("img")).to_have_attribute("src", re.compile(r"^/media/"))
            alice.get_by_role("link", name=re.compile("Notifications")).click()
            expect(alice.get_by_role("heading", name="Notifications")).to_be_visible()

            bob.goto(base + "/u/alice")
            seen = bob.get_by_role("article", name="Post by alice")
            # The uploaded image itself is served and decoded, not just referenced.
            bob.wait_for_function(
                "() => { const i = document.querySelector('article img');"
                " return i && i.complete && i.naturalWidth === 64; }"
            )
            button(seen, "Like").click()
            expect(button(seen, "Like")).to_have_attribute("aria-pressed", "true")
            expect(seen.get_by_text("1 like", exact=True)).to_be_visible()
            button(seen, "Comments").click()
            seen.get_by_label("Write a comment").fill("Beautiful!")
            button(seen, "Send comment").click()
            expect(seen.get_by_text("1 comment", exact=True)).to_be_visible()

            expect(alice.locator("#bell-count")).to_have_text(re.compile(r"^2\b"))
            items = alice.locator(".v-notification")
            expect(items).to_have_count(2)
            expect(items.nth(0)).to_contain_text("bob commented on your post")
            expect(items.nth(1)).to_contain_text("bob liked your post")
            items.nth(0).get_by_role("link").click()
            expect(alice).to_have_url(re.compile(r"/posts/\d+$"))
            expect(alice.get_by_text("Beautiful!")).to_be_visible()
            expect(alice.locator("#bell-count")).to_have_text(re.compile(r"^1\b"))

        await self.scenario(scenario)

    async def test_own_comment_and_post_deleted(self) -> None:
        await self.start()

        def scenario(browser: PeopleBrowser, base: str) -> None:
            alice = sign_up(browser, base, "alice", "/")
            alice.get_by_label("What's on your mind?").fill("A passing thought")
            button(alice, "Post").click()
            post = alice.get_by_role("article", name="Post by alice")
            assert not shows_null(post)  # a post without images
            button(post, "Comments").click()
            post.get_by_label("Write a comment").fill("On second thought")
            button(post, "Send comment").click()
            button(post, "Delete comment").click()
            expect(post.get_by_text("On second thought")).to_have_count(0)
            alice.once("dialog", lambda dialog: dialog.accept())
            button(post, "Delete post").click()
            expect(alice.get_by_text("Post deleted.")).to_be_visible()
            alice.reload()
            expect(alice.get_by_text("Nothing here yet")).to_be_visible()
            expect(alice.get_by_text("A passing thought")).to_have_count(0)

        await self.scenario(scenario)

    async def test_post_for_chosen_followers_only(self) -> None:
        await self.start()

        def scenario(browser: PeopleBrowser, base: str) -> None:
            alice = sign_up(browser, base, "alice", "/")
            alice_id = call(alice, "GET", base + "/api/auth/me")["id"]
            bob = sign_up(browser, base, "bob", "/")
            carol = sign_up(browser, base, "carol", "/")
            for follower in (bob, carol):
                call(follower, "POST", f"{base}/api/users/{alice_id}/follow")
            alice.reload()
            alice.get_by_label("What's on your mind?").fill("Only for bob")
            alice.get_by_label("Who can see it").select_option(label="Chosen followers")
            alice.get_by_label("bob").check()
            button(alice, "Post").click()
            expect(alice.get_by_role("article", name="Post by alice")).to_contain_text(
                "Chosen followers"
            )
            bob.reload()
            expect(bob.get_by_text("Only for bob")).to_be_visible()
            carol.reload()
            expect(carol.get_by_text("Nothing here yet")).to_be_visible()
            expect(carol.get_by_text("Only for bob")).to_have_count(0)

        await self.scenario(scenario)


class GroupViewTests(BrowserCase):
    async def test_invitation_accepted_from_notifications_then_rsvp(self) -> None:
        await self.start()

        def scenario(browser: PeopleBrowser, base: str) -> None:
            alice = sign_up(browser, base, "alice", "/")
            bob = sign_up(browser, base, "bob", "/notifications")
            alice.get_by_role("link", name="Browse groups").click()
            alice.get_by_label("Group name").fill("Hikers")
            alice.get_by_label("Description").fill("Weekend walks")
            button(alice, "Create group").click()
            expect(alice.get_by_role("heading", name="Hikers", level=1)).to_be_visible()
            alice.get_by_label("Invite by username").fill("bob")
            button(alice, "Invite").click()
            expect(alice.get_by_text("bob was invited.")).to_be_visible()

            invite = bob.locator(".v-notification").filter(
                has_text="invited to join group 'Hikers'"
            )
            invite.get_by_role("button", name=re.compile("^Accept invitation")).click()
            expect(invite).to_contain_text("Accepted.")
            invite.get_by_role("link").click()
            expect(bob.get_by_role("heading", name="Hikers", level=1)).to_be_visible()
            expect(button(bob, "Leave group")).to_be_visible()
            expect(bob.get_by_role("heading", name="Members (2)")).to_be_visible()

            alice.reload()
            alice.get_by_label("Event title").fill("Ridge walk")
            alice.get_by_label("Starts at").fill("2030-06-01T09:30")
            button(alice, "Create event").click()
            expect(alice.get_by_role("listitem", name="Ridge walk")).to_contain_text("0 going")

            # The invitation was read by following its link: the new event is the one unread.
            expect(bob.locator("#bell-count")).to_have_text(re.compile(r"^1\b"))
            bob.reload()
            event = bob.get_by_role("listitem", name="Ridge walk")
            button(event, "Going").click()
            expect(event).to_contain_text("1 going · 0 not going")
            expect(button(event, "Going")).to_have_attribute("aria-pressed", "true")
            expect(alice.locator("#bell-count")).to_have_text(re.compile(r"^1\b"))
            bob.reload()
            event = bob.get_by_role("listitem", name="Ridge walk")
            expect(button(event, "Going")).to_have_attribute("aria-pressed", "true")
            expect(button(event, "Not going")).to_have_attribute("aria-pressed", "false")

        await self.scenario(scenario)

    async def test_join_request_accepted_then_member_removed(self) -> None:
        await self.start()

        def scenario(browser: PeopleBrowser, base: str) -> None:
            alice = sign_up(browser, base, "alice", "/")
            group = call(alice, "POST", base + "/api/groups", {"name": "Chess club"})
            carol = sign_up(browser, base, "carol", f"/g/{group['id']}")
            button(carol, "Request to join").click()
            expect(carol.get_by_text("You asked to join")).to_be_visible()
            assert not shows_null(carol.locator("main"))  # a group without a description

            alice.goto(f"{base}/g/{group['id']}")
            alice.get_by_role("button", name="Accept carol").click()
            expect(alice.get_by_role("heading", name="Members (2)")).to_be_visible()
            alice.once("dialog", lambda dialog: dialog.accept())
            alice.get_by_role("button", name="Remove carol").click()
            expect(alice.get_by_role("heading", name="Members (1)")).to_be_visible()
            carol.reload()
            expect(button(carol, "Request to join")).to_be_visible()

        await self.scenario(scenario)


class SettingsViewTests(BrowserCase):
    async def test_profile_saved_and_shown_after_reload(self) -> None:
        await self.start()

        def scenario(browser: PeopleBrowser, base: str) -> None:
            alice = sign_up(browser, base, "alice", "/settings")
            alice.get_by_label("Display name").fill("Alice Liddell")
            alice.get_by_label("About you").fill("Down the rabbit hole\nand back")
            alice.get_by_label("Private profile").check()
            alice.get_by_label("Show when I am online").uncheck()
            alice.get_by_label("Avatar image").set_input_files([image_file("me.png")])
            button(alice, "Save profile").click()
            expect(alice.get_by_text("Profile saved.")).to_be_visible()

            alice.reload()
            expect(alice.get_by_label("Display name")).to_have_value("Alice Liddell")
            expect(alice.get_by_label("About you")).to_have_value("Down the rabbit hole\nand back")
            expect(alice.get_by_label("Private profile")).to_be_checked()
            expect(alice.get_by_label("Show when I am online")).not_to_be_checked()
            avatar = alice.locator(".v-avatar-preview img")
            expect(avatar).to_have_attribute("src", re.compile(r"^/media/"))

            alice.goto(base + "/u/alice")
            expect(alice.get_by_role("heading", name="Alice Liddell", level=1)).to_be_visible()
            expect(alice.get_by_text("Private profile")).to_be_visible()
            expect(alice.locator(".v-about")).to_have_text("Down the rabbit hole\nand back")

        await self.scenario(scenario)

    async def test_password_changed(self) -> None:
        await self.start()

        def scenario(browser: PeopleBrowser, base: str) -> None:
            alice = sign_up(browser, base, "alice", "/settings")
            alice.get_by_label("Current password").fill("not my password")
            alice.get_by_label("New password (at least 8 characters)").fill("a new secret")
            alice.get_by_label("Repeat the new password").fill("a new secret")
            button(alice, "Change password").click()
            expect(alice.get_by_role("alert")).to_have_text("The current password is wrong.")
            alice.get_by_label("Current password").fill(PASSWORD)
            button(alice, "Change password").click()
            expect(alice.get_by_text("Password changed.")).to_be_visible()
            login = {"username": "alice", "password": "a new secret"}
            call(alice, "POST", base + "/api/auth/login", login)

        await self.scenario(scenario)


class ProfileViewTests(BrowserCase):
    async def test_follow_request_accepted_then_unfollow_and_block(self) -> None:
        await self.start()

        def scenario(browser: PeopleBrowser, base: str) -> None:
            alice = sign_up(browser, base, "alice", "/")
            call(alice, "PATCH", base + "/api/users/me", {"is_private": True})
            bob = sign_up(browser, base, "bob", "/u/alice")
            button(bob, "Follow").click()
            expect(button(bob, "Cancel follow request")).to_be_visible()

            alice.goto(base + "/u/alice")
            alice.get_by_role("button", name="Accept bob").click()
            expect(alice.get_by_text("1 follower · 0 following")).to_be_visible()
            expect(alice.get_by_text("No pending requests.")).to_be_visible()

            bob.reload()
            button(bob, "Unfollow").click()
            expect(button(bob, "Follow")).to_be_visible()
            bob.once("dialog", lambda dialog: dialog.accept())
            button(bob, "Block").click()
            expect(button(bob, "Unblock")).to_be_visible()

        await self.scenario(scenario)


class TextNotMarkupTests(BrowserCase):
    async def test_xss_corpus_shown_as_text(self) -> None:
        await self.start()

        def scenario(browser: PeopleBrowser, base: str) -> None:
            alice = sign_up(browser, base, "alice", "/settings")
            content = "\n".join(XSS)
            name = XSS[0]
            call(alice, "PATCH", base + "/api/users/me", {"display_name": name})
            post = call(alice, "POST", base + "/api/posts", {"content": content})
            call(alice, "POST", f"{base}/api/posts/{post['id']}/comments", {"content": XSS[2]})
            group = call(alice, "POST", base + "/api/groups", {"name": XSS[1]})

            alice.goto(f"{base}/posts/{post['id']}")
            card = alice.get_by_role("article")
            expect(card.locator(".v-text").first).to_have_text(content)
            expect(card.locator(".v-comment .v-text")).to_have_text(XSS[2])
            expect(card.get_by_role("link", name=name, exact=True).first).to_be_visible()
            assert_no_markup(alice)

            alice.goto(f"{base}/g/{group['id']}")
            expect(alice.get_by_role("heading", level=1)).to_have_text(XSS[1])
            assert_no_markup(alice)
            alice.goto(base + "/")
            alice.get_by_role("link", name="Browse groups").click()
            expect(alice.get_by_role("link", name=XSS[1], exact=True)).to_be_visible()
            assert_no_markup(alice)
            alice.goto(base + "/u/alice")
            expect(alice.get_by_role("heading", level=1)).to_have_text(name)
            assert_no_markup(alice)

        await self.scenario(scenario)


def assert_no_markup(page: Page) -> None:
    """No element the corpus could have made exists in the view."""
    expect(page.locator("main h1")).to_be_visible()
    expect(page.locator("main").locator("img, script, svg, iframe, b")).to_have_count(0)
