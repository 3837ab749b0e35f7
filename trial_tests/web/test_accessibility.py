"""axe-core on every main view, light and dark, at 360 and 1280 px: no serious or critical
violation of WCAG 2.0/2.1/2.2 A and AA (WEB.md). Lesser findings are logged, not failed."""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from twisted.logger import Logger

from trial_tests.web.browser import BrowserCase, PeopleBrowser
from trial_tests.web.pages import view_of
from trial_tests.web.world import World, make_world

log = Logger()
TAGS = ["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa"]
FAILING = {"serious", "critical"}
LOGGED_OUT_VIEWS = {
    "log in": "/login",
    "sign up": "/signup",
    "reset password": "/reset-password",
    "new password": "/reset-password?token=unknown",
    "verify email": "/verify-email?token=unknown",
}


def findings(page: Any, view: str) -> list[str]:
    """axe's violations on the page as it is, one line per rule and view."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": TAGS}})
    return [
        f"{violation['impact']}: {view}: {violation['id']} ({violation['help']}) at "
        + ", ".join(str(node["target"]) for node in violation["nodes"][:3])
        for violation in results.response["violations"]
    ]


class AccessibilityTests(BrowserCase):
    world: World

    def setUp(self) -> Deferred[None]:  # type: ignore[override]  # trial waits on it
        return Deferred.fromCoroutine(self.populate())

    async def populate(self) -> None:
        self.world = await make_world(await self.start())

    async def check(self, scheme: str, width: int) -> None:
        token, views = self.world.ann.token, self.world.views
        options: dict[str, Any] = {
            "color_scheme": scheme,
            "viewport": {"width": width, "height": 800},
        }

        def scenario(browser: PeopleBrowser, base: str) -> list[str]:
            found = []
            visitor = browser.person(**options)
            for view, path in LOGGED_OUT_VIEWS.items():
                visitor.goto(base + path)
                view_of(visitor)
                found += findings(visitor, view)
            ann = browser.person(session=token, **options)
            for view, path in views.items():
                ann.goto(base + path)
                view_of(ann)
                found += findings(ann, view)
            return found

        found = await self.scenario(scenario)
        for line in found:
            log.info("axe, {scheme} at {width} px: {line}", scheme=scheme, width=width, line=line)
        failing = [line for line in found if line.split(":", 1)[0] in FAILING]
        self.assertEqual(failing, [], f"{scheme} at {width} px")

    async def test_light_phone(self) -> None:
        await self.check("light", 360)

    async def test_dark_phone(self) -> None:
        await self.check("dark", 360)

    async def test_light_desktop(self) -> None:
        await self.check("light", 1280)

    async def test_dark_desktop(self) -> None:
        await self.check("dark", 1280)
