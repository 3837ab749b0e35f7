"""The web client's sign-up, log-in and log-out forms, in Chromium against a real server.

The helpers here are how every browser test gets a signed-in person: through the forms, as a
person would, never by planting a cookie.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trial_tests.web.browser import BrowserCase, PeopleBrowser

if TYPE_CHECKING:
    from playwright.sync_api import Page

PASSWORD = "correct horse battery"
# Counts the page's API requests in flight, so a scenario can end when the page is quiet: a
# request cut off by the server's stop at the end of the test would be logged as an error.
_COUNT_FETCHES = """
const fetchOriginal = window.fetch;
window.__fetching = 0;
window.fetch = (...args) => {
    window.__fetching += 1;
    return fetchOriginal(...args).finally(() => { window.__fetching -= 1; });
};
"""
# Evaluated, not waited for with wait_for_function, which takes a Promise for a true value.
_IDLE_AND_NOT_FETCHING = """() => new Promise((done) => {
    requestIdleCallback(() => done(window.__fetching === 0));
})"""


def person(browser: PeopleBrowser) -> Page:
    """A page of a new person whose API requests in flight `quiet` can wait out."""
    page = browser.person()
    page.context.add_init_script(_COUNT_FETCHES)
    return page


def quiet(*pages: Page) -> None:
    """Wait until no page has an API request in flight (then the test may end): asked when the
    page is idle, once the work it has queued (which may start a request) has run."""
    for page in pages:
        for tab in page.context.pages:
            while not tab.evaluate(_IDLE_AND_NOT_FETCHING):
                continue


def sign_up(page: Page, base_url: str, username: str, then: str = "/chat") -> int:
    """Fill in the sign-up form (reached from the log-in form's link) and wait for the app to
    show `then`; returns the new user's id."""
    page.goto(f"{base_url}/login?next={then}")
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Email").fill(f"{username}@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.get_by_role("button", name="Log out").wait_for()
    page.wait_for_url(base_url + then)
    return user_id(page)


def user_id(page: Page) -> int:
    """The signed-in user's id, as the page's own session sees it."""
    me: dict[str, Any] = page.evaluate("() => fetch('/api/auth/me').then((r) => r.json())")
    return int(me["id"])


def connected(page: Page) -> None:
    """Wait until the page's WebSocket is up (the shell's status says so)."""
    page.get_by_role("status").filter(has_text="Connected").wait_for()


class AuthTests(BrowserCase):
    async def test_sign_up_stay_logged_in_log_out_log_in(self) -> None:
        await self.start()

        def scenario(browser: PeopleBrowser, base_url: str) -> None:
            page = person(browser)
            sign_up(page, base_url, "ada")
            connected(page)
            page.reload()
            page.get_by_role("heading", name="Chat").wait_for()
            page.get_by_role("button", name="Log out").click()
            page.get_by_role("heading", name="Log in").wait_for()
            page.goto(base_url + "/chat")
            page.get_by_role("heading", name="Log in").wait_for()
            page.get_by_label("Username or email").fill("ada@example.org")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.get_by_role("heading", name="Chat").wait_for()
            assert page.url == base_url + "/chat", page.url
            quiet(page)

        await self.scenario(scenario)

    async def test_a_shared_link_logs_in_to_the_page_it_names(self) -> None:
        await self.start()
        bob = await self.server.client().register("bob")

        def scenario(browser: PeopleBrowser, base_url: str) -> None:
            page = person(browser)
            page.goto(f"{base_url}/chat/u/{bob['id']}")
            page.get_by_label("Username or email").fill("ada_not_yet")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.get_by_role("alert").filter(has_text="wrong username").wait_for()
            page.get_by_role("link", name="Create an account").click()
            page.get_by_label("Username", exact=True).fill("ada")
            page.get_by_label("Email").fill("ada@example.org")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign up").click()
            page.get_by_role("heading", name="bob").wait_for()
            assert page.url == f"{base_url}/chat/u/{bob['id']}", page.url
            quiet(page)

        await self.scenario(scenario)

    async def test_api_errors_are_shown_as_text(self) -> None:
        await self.start()
        await self.server.client().register("taken")

        def scenario(browser: PeopleBrowser, base_url: str) -> None:
            page = person(browser)
            page.goto(base_url + "/signup")
            page.get_by_label("Username", exact=True).fill("taken")
            page.get_by_label("Email").fill("other@example.org")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign up").click()
            page.get_by_role("alert").filter(has_text="taken").wait_for()
            assert page.get_by_role("button", name="Log out").count() == 0

        await self.scenario(scenario)
