"""Waiting on the client's states, by what a person sees (roles and labels), not its markup."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trial_tests.web.browser import expect

if TYPE_CHECKING:
    from playwright.sync_api import Page


def logged_in(page: Page) -> None:
    """Wait until the app shell is up: it has the log-out button."""
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def logged_out(page: Page) -> None:
    """Wait until the log-in form is up."""
    expect(page.get_by_label("Password")).to_be_visible()


def view_of(page: Page) -> tuple[str, str]:
    """Where the page is, and the main heading it shows there."""
    page.wait_for_load_state("networkidle")
    heading = page.locator("main h1").first
    expect(heading).not_to_be_empty()
    return page.evaluate("() => location.pathname"), heading.inner_text()
