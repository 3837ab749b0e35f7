"""The served client in Chromium: it loads with no console error or CSP violation, a shared link
lands on the view it names (logged out: the log-in form), and the logged-in chat view's first
load stays within WEB.md's byte budget."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from twisted.internet.defer import Deferred
from twisted.logger import Logger

from trial_tests.web.browser import BrowserCase, PeopleBrowser, expect
from trial_tests.web.pages import logged_in, logged_out, view_of
from trial_tests.web.test_auth import connected, sign_up
from trial_tests.web.world import World, make_world

if TYPE_CHECKING:
    from playwright.sync_api import Request

log = Logger()
KIB = 1024
# WEB.md's budgets for the first load of the logged-in chat view.
JS_TRANSFERRED = 40 * KIB
JS_DECODED = 120 * KIB
ALL_TRANSFERRED = 100 * KIB


class PageLoadTests(BrowserCase):
    world: World

    def setUp(self) -> Deferred[None]:  # type: ignore[override]  # trial waits on it
        return Deferred.fromCoroutine(self.populate())

    async def populate(self) -> None:
        self.world = await make_world(await self.start())

    async def test_loads_clean(self) -> None:
        """Logged out and logged in, the first page loads with no console error, uncaught
        exception or CSP violation (the harness fails the test on any)."""
        token = self.world.ann.token

        def scenario(browser: PeopleBrowser, base: str) -> None:
            visitor = browser.person()
            visitor.goto(base + "/")
            logged_out(visitor)
            ann = browser.person(session=token)
            ann.goto(base + "/")
            logged_in(ann)
            ann.wait_for_load_state("networkidle")

        await self.scenario(scenario)

    async def test_logged_out_boot_requests_nothing_failing(self) -> None:
        """Logged out (no sign-in hint cookie), the page asks no one who is signed in: it shows
        the log-in form with no request answered 4xx or 5xx, so the console stays empty."""

        def scenario(browser: PeopleBrowser, base: str) -> list[str]:
            visitor = browser.person()
            failed: list[str] = []
            visitor.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
            visitor.goto(base + "/chat")
            logged_out(visitor)
            visitor.wait_for_load_state("networkidle")
            return failed

        self.assertEqual(await self.scenario(scenario), [])

    async def test_stale_hint_is_cleared(self) -> None:
        """A sign-in hint that outlived its session (here: an unknown token) costs one 401:
        the page shows the log-in form and clears the hint, so the next load asks nothing."""

        def scenario(browser: PeopleBrowser, base: str) -> list[str]:
            visitor = browser.person(session="no-such-session")
            visitor.goto(base + "/chat")
            logged_out(visitor)
            visitor.wait_for_load_state("networkidle")
            return [cookie["name"] for cookie in visitor.context.cookies()]

        self.assertEqual(await self.scenario(scenario), ["socialhub_session"])

    async def test_shared_link_lands_on_its_view(self) -> None:
        """A link to a conversation or the settings, opened or reloaded, shows that view."""
        token, paths = self.world.ann.token, [f"/chat/u/{self.world.bob.id}", "/settings"]

        def scenario(browser: PeopleBrowser, base: str) -> None:
            ann = browser.person(session=token)
            headings = set()
            for path in paths:
                ann.goto(base + path)
                logged_in(ann)
                opened = view_of(ann)
                ann.reload()
                logged_in(ann)
                assert view_of(ann) == opened, (view_of(ann), opened)
                assert opened[0] == path, opened
                headings.add(opened[1])
            assert len(headings) == len(paths), headings  # two views, not one page twice

        await self.scenario(scenario)

    async def test_shared_link_logged_out_shows_the_log_in_form(self) -> None:
        def scenario(browser: PeopleBrowser, base: str) -> None:
            visitor = browser.person()
            for path in ["/chat/u/1", "/settings"]:
                visitor.goto(base + path)
                logged_out(visitor)
                visitor.reload()
                logged_out(visitor)
                assert visitor.evaluate("() => location.pathname") == path

        await self.scenario(scenario)


@dataclasses.dataclass
class Bytes:
    """What a first load cost: JS transferred (encoded bodies plus headers) and decoded, and
    everything transferred."""

    js_transferred: int = 0
    js_decoded: int = 0
    all_transferred: int = 0

    def add(self, request: Request) -> None:
        if "/media/" in request.url:
            return  # user media is outside the budget
        sizes = request.sizes()
        transferred = sizes["responseBodySize"] + sizes["responseHeadersSize"]
        self.all_transferred += transferred
        if request.resource_type == "script":
            response = request.response()
            self.js_transferred += transferred
            self.js_decoded += len(response.body()) if response is not None else 0


class BudgetTests(BrowserCase):
    async def test_chat_first_load_within_budget(self) -> None:
        """The logged-in chat view, on an empty cache, by the bytes Chromium received."""
        world = await make_world(await self.start())

        def scenario(browser: PeopleBrowser, base: str) -> Bytes:
            ann = browser.person(session=world.ann.token)
            finished: list[Request] = []
            ann.on("requestfinished", lambda request: finished.append(request))
            ann.goto(base + "/chat", wait_until="networkidle")
            logged_in(ann)
            expect(ann.get_by_text("See you Sunday")).to_be_visible()  # the conversation list
            ann.wait_for_load_state("networkidle")
            used = Bytes()
            for request in finished:
                used.add(request)
            return used

        used = await self.scenario(scenario)
        log.info("first load of /chat: {used}", used=used)
        self.assertGreater(used.js_transferred, 0)
        self.assertLessEqual(used.js_transferred, JS_TRANSFERRED, used)
        self.assertLessEqual(used.js_decoded, JS_DECODED, used)
        self.assertLessEqual(used.all_transferred, ALL_TRANSFERRED, used)


# Sends an administrator's broadcast from the page's own session, on a socket of its own.
_BROADCAST = """(content) => new Promise((resolve) => {
  const ws = new WebSocket(`ws://${location.host}/ws`);
  ws.onopen = () => ws.send(JSON.stringify({type: "broadcast", content, id: "b1"}));
  ws.onmessage = (event) => {
    if (JSON.parse(event.data).type === "ack") { ws.close(); resolve(true); }
  };
})"""


class BroadcastTests(BrowserCase):
    async def test_a_broadcast_is_a_banner_in_every_open_tab_until_dismissed(self) -> None:
        """The administrator's announcement appears in each of bob's two tabs (and in the
        administrator's own app tab); dismissing it in one tab leaves the other's."""
        await self.start(admins=frozenset({"root"}))

        def scenario(browser: PeopleBrowser, base: str) -> None:
            admin = browser.person()
            sign_up(admin, base, "root", "/")
            bob_one = browser.person()
            sign_up(bob_one, base, "bob", "/")
            bob_two = bob_one.context.new_page()  # watched: the context's pages all are
            bob_two.goto(base + "/")
            for page in (admin, bob_one, bob_two):
                connected(page)
            admin.evaluate(_BROADCAST, "Maintenance at noon <b>today</b>")
            for page in (admin, bob_one, bob_two):
                note = page.get_by_role("note").filter(has_text="Maintenance at noon <b>today</b>")
                expect(note).to_be_visible()
            bob_one.get_by_role("note").get_by_role("button", name="Dismiss").click()
            expect(bob_one.get_by_role("note")).to_have_count(0)
            expect(bob_two.get_by_role("note")).to_have_count(1)

        await self.scenario(scenario)
