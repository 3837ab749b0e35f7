"""The mailed-link pages and the sign-up form's registration modes, in Chromium against a real
server (and a real SMTP server on loopback for the reset mail)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trial_tests.support.smtp import link_of, smtp_server
from trial_tests.web.browser import BrowserCase, PeopleBrowser
from trial_tests.web.test_auth import PASSWORD, person, quiet

if TYPE_CHECKING:
    from playwright.sync_api import Page

NEW_PASSWORD = "a brand new password"


def log_in(page: Page, base_url: str, password: str) -> None:
    page.goto(base_url + "/login")
    page.get_by_label("Username or email").fill("ada")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


class AccountLinkViewTests(BrowserCase):
    async def test_forgotten_password_reset_through_the_mailed_link(self) -> None:
        mail = await smtp_server(self)
        await self.start(smtp=mail.url)
        await self.server.client().register("ada", PASSWORD)

        def ask(browser: PeopleBrowser, base_url: str) -> None:
            page = person(browser)
            page.goto(base_url + "/login")
            page.get_by_role("link", name="Forgot your password?").click()
            page.get_by_role("heading", name="Reset your password").wait_for()
            page.get_by_label("Email").fill("ada@example.org")
            page.get_by_role("button", name="Send the link").click()
            page.get_by_role("status").filter(has_text="on its way").wait_for()
            quiet(page)

        await self.scenario(ask)
        _, token = link_of(await mail.next())

        def reset(browser: PeopleBrowser, base_url: str) -> None:
            page = person(browser)
            page.goto(f"{base_url}/reset-password?token={token}")
            page.get_by_label("New password").fill(NEW_PASSWORD)
            page.get_by_role("button", name="Set the password").click()
            page.get_by_role("status").filter(has_text="password is changed").wait_for()
            page.get_by_role("button", name="Set the password").wait_for(state="detached")
            page.goto(f"{base_url}/reset-password?token={token}")
            page.get_by_label("New password").fill("yet another password")
            page.get_by_role("button", name="Set the password").click()
            page.get_by_role("alert").filter(has_text="unknown, used or expired").wait_for()
            log_in(page, base_url, NEW_PASSWORD)
            page.get_by_role("button", name="Log out").wait_for()
            quiet(page)

        await self.scenario(reset)

    async def test_sign_up_follows_the_registration_mode(self) -> None:
        await self.start(registration="closed")

        def closed(browser: PeopleBrowser, base_url: str) -> None:
            page = person(browser)
            page.goto(base_url + "/signup")
            page.get_by_text("Registration is closed on this server.").wait_for()
            assert page.get_by_role("button", name="Sign up").count() == 0
            quiet(page)

        await self.scenario(closed)
        await self.server.stop()
        await self.start(registration="token")

        def token(browser: PeopleBrowser, base_url: str) -> None:
            page = person(browser)
            page.goto(base_url + "/signup?token=not-a-token")
            page.get_by_label("Username", exact=True).fill("ada")
            page.get_by_label("Email").fill("ada@example.org")
            page.get_by_label("Password").fill(PASSWORD)
            assert page.get_by_label("Registration token").input_value() == "not-a-token"
            page.get_by_role("button", name="Sign up").click()
            page.get_by_role("alert").filter(has_text="registration token").wait_for()
            quiet(page)

        await self.scenario(token)
