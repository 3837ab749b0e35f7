"""Screenshots of the web client's main views for docs/screenshots/, taken in Chromium.

    python -m bench.screenshots [--out docs/screenshots]

Starts its own server (SQLite in a temporary directory, a free loopback port) serving the
client in socialhub/web/, fills it with the browser tests' small world (trial_tests/web/world.py)
and saves each view light and dark, 1280 and 360 px wide: `<view>-<theme>-<width>.png`.
Needs what the browser tests need: playwright and /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Literal

from twisted.internet import task
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread

from trial_tests.web.browser import launch_chromium, session_cookies
from trial_tests.web.world import World, world_server

THEMES: list[Literal["light", "dark"]] = ["light", "dark"]
WIDTHS = {1280: 800, 360: 740}  # width: height


def views(world: World) -> dict[str, tuple[str, bool]]:
    """name: (path, logged in)."""
    return {
        "login": ("/login", False),
        "feed": ("/", True),
        "chat": (f"/chat/u/{world.bob.id}", True),
        "profile": (f"/u/{world.bob.username}", True),
        "group": (f"/g/{world.group_id}", True),
    }


def shoot(base: str, world: World, out: Path) -> list[Path]:
    """Every view in every theme and width (blocking: run on a thread)."""
    from playwright.sync_api import sync_playwright

    saved = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        for theme in THEMES:
            for width, height in WIDTHS.items():
                context = browser.new_context(
                    color_scheme=theme, viewport={"width": width, "height": height}
                )
                cookies = session_cookies(world.ann.token, base)
                for name, (path, logged_in) in views(world).items():
                    context.clear_cookies()
                    if logged_in:
                        context.add_cookies(cookies)
                    page = context.new_page()
                    page.goto(base + path, wait_until="networkidle")
                    page.locator("main h1").first.wait_for()
                    target = out / f"{name}-{theme}-{width}.png"
                    page.screenshot(path=target)
                    saved.append(target)
                    page.close()
                context.close()
        browser.close()
    return saved


async def run(reactor: Any, out: Path) -> None:
    async with world_server() as (running, world):
        out.mkdir(parents=True, exist_ok=True)
        for path in await deferToThread(shoot, running.url, world, out):
            print(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    out = parser.parse_args().out
    task.react(lambda reactor: Deferred.fromCoroutine(run(reactor, out)))


if __name__ == "__main__":
    main()
