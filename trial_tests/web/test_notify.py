"""Browser notifications in Chromium: never asked for on load, asked for by the settings' button,
then shown for a message in a conversation that is not on screen.

An init script wraps `Notification.requestPermission` and the `Notification` constructor of
the person's pages, so the test sees every request and every notification the page makes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trial_tests.web.browser import BrowserCase, PeopleBrowser
from trial_tests.web.test_auth import connected, person, quiet, sign_up
from trial_tests.web.test_chat import message, say

if TYPE_CHECKING:
    from playwright.sync_api import Page

_RECORD_NOTIFICATIONS = """
window.__asked = 0;
window.__shown = [];
const NotificationOriginal = window.Notification;
const askOriginal = NotificationOriginal.requestPermission.bind(NotificationOriginal);
NotificationOriginal.requestPermission = (...args) => {
    window.__asked += 1;
    return askOriginal(...args);
};
window.Notification = new Proxy(NotificationOriginal, {
    construct(target, args) {
        window.__shown.push({ title: args[0], body: (args[1] || {}).body });
        return Reflect.construct(target, args);
    },
});
"""


def asked(page: Page) -> int:
    count: int = page.evaluate("() => window.__asked")
    return count


def shown(page: Page) -> list[dict[str, Any]]:
    notes: list[dict[str, Any]] = page.evaluate("() => window.__shown")
    return notes


class BrowserNotificationTests(BrowserCase):
    async def test_asked_only_after_a_click_then_shown_for_a_background_message(self) -> None:
        await self.start()

        def scenario(browser: PeopleBrowser, base_url: str) -> None:
            ann = person(browser)
            ann_id = sign_up(ann, base_url, "ann")
            bob = person(browser)
            bob.context.add_init_script(_RECORD_NOTIFICATIONS)
            bob_id = sign_up(bob, base_url, "bob")
            # A load signed in, the boot's whole path.
            bob.goto(base_url + "/settings")
            connected(bob)
            ann.goto(f"{base_url}/chat/u/{bob_id}")
            connected(ann)
            say(ann, "Before you asked")
            bob.wait_for_function("() => document.title === '(1) socialhub'")
            assert asked(bob) == 0
            assert shown(bob) == []

            bob.context.grant_permissions(["notifications"], origin=base_url)
            bob.get_by_role("button", name="Turn on browser notifications").click()
            bob.get_by_text("Browser notifications are on").wait_for()
            assert asked(bob) == 1
            say(ann, "Are you there?")
            bob.wait_for_function("() => window.__shown.length > 0")
            assert shown(bob) == [{"title": "ann", "body": "Are you there?"}], shown(bob)

            # The conversation on screen notifies nothing.
            bob.get_by_role("link", name="Chat").click()
            bob.locator(f'a[href="/chat/u/{ann_id}"]').click()
            say(ann, "Now you see me")
            message(bob, "Now you see me").wait_for()
            assert len(shown(bob)) == 1, shown(bob)
            assert asked(bob) == 1
            quiet(ann, bob)

        await self.scenario(scenario)
