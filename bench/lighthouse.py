"""Lighthouse scores of the web client's log-in, feed and chat views, run by hand.

    python -m bench.lighthouse --url http://127.0.0.1:9000

The server at --url must be running. Two people are registered on it (random names), follow
each other and post, so the feed is not empty; the feed and the chat are measured logged in
as the first of them. Lighthouse 12.2.3 (13 needs Node 22) is installed with npm into
--lighthouse-dir on first use and drives Debian's Chromium (/usr/bin/chromium) with its
mobile defaults. docs/web.md quotes the figures; this is not a test: the scores vary between
runs and machines.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import secrets
import shutil
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

LIGHTHOUSE = "lighthouse@12.2.3"
CATEGORIES = ["performance", "accessibility", "best-practices"]
VIEWS = {"login": ("/login", False), "feed": ("/", True), "chat": ("/chat", True)}
COOKIE = "socialhub_session"
HINT = "socialhub_signed_in=1"  # the page asks who is signed in only with it
ATTEMPTS = 3


class Session:
    """One person's cookie jar on the server."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.cookies = http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body or {}).encode()
        request = urllib.request.Request(  # noqa: S310 - the --url given, http(s)
            self.url + path, data, {"Content-Type": "application/json"}, method="POST"
        )
        with self._opener.open(request) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def token(self) -> str:
        return next(cookie.value or "" for cookie in self.cookies if cookie.name == COOKIE)


def populate(url: str) -> Session:
    """Two people who follow each other and have posted; the first one's session."""
    people = []
    for _ in range(2):
        name = "lh_" + secrets.token_hex(4)
        session = Session(url)
        user = session.post(
            "/api/auth/register",
            {"username": name, "email": f"{name}@example.org", "password": "correct horse"},
        )
        people.append((session, user["id"]))
    (first, first_id), (second, second_id) = people
    first.post(f"/api/users/{second_id}/follow")
    second.post(f"/api/users/{first_id}/follow")
    for session, _ in people:
        session.post("/api/posts", {"content": "Measuring the feed with Lighthouse."})
    return first


def install(directory: Path) -> None:
    if not (directory / "node_modules" / ".bin" / "lighthouse").exists():
        directory.mkdir(parents=True, exist_ok=True)
        argv = [_tool("npm"), "i", "-E", LIGHTHOUSE]
        subprocess.run(argv, cwd=directory, check=True)  # noqa: S603 - our own argv


def scores(directory: Path, url: str, cookie: str | None) -> dict[str, int]:
    """One Lighthouse run (mobile defaults): each category's score out of 100."""
    command = [
        _tool("npx"),
        "lighthouse",
        url,
        "--chrome-flags=--headless=new --no-sandbox",
        "--only-categories=" + ",".join(CATEGORIES),
        "--output=json",
        "--output-path=stdout",
        "--quiet",
    ]
    if cookie is not None:
        command.append("--extra-headers=" + json.dumps({"Cookie": f"{COOKIE}={cookie}; {HINT}"}))
    report = json.loads(_run_lighthouse(command, directory))
    return {name: round(report["categories"][name]["score"] * 100) for name in CATEGORIES}


def _run_lighthouse(command: list[str], directory: Path) -> str:
    """Lighthouse's JSON report. Lighthouse 12.2.3 with a newer Chromium now and then fails a
    run outright, so a run is tried up to ATTEMPTS times."""
    environment = {**os.environ, "CHROME_PATH": "/usr/bin/chromium"}
    error = ""
    for _ in range(ATTEMPTS):
        run = subprocess.run(  # noqa: S603 - our own argv, no shell
            command, cwd=directory, env=environment, capture_output=True, text=True
        )
        if run.returncode == 0:
            return run.stdout
        error = run.stderr[-2000:]
    raise SystemExit(f"Lighthouse failed {ATTEMPTS} times:\n{error}")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SystemExit(
            f"{name} is missing: install Node.js 18 or 20 (apt-get install nodejs npm)"
        )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:9000", help="the running server")
    parser.add_argument(
        "--lighthouse-dir",
        type=Path,
        default=Path.home() / ".cache" / "socialhub-lighthouse",
        help="where npm installs Lighthouse",
    )
    arguments = parser.parse_args()
    url = arguments.url.rstrip("/")
    install(arguments.lighthouse_dir)
    token = populate(url).token()
    print(f"{'view':<8}" + "".join(f"{name:>16}" for name in CATEGORIES))
    for view, (path, logged_in) in VIEWS.items():
        result = scores(arguments.lighthouse_dir, url + path, token if logged_in else None)
        print(f"{view:<8}" + "".join(f"{result[name]:>16}" for name in CATEGORIES), flush=True)


if __name__ == "__main__":
    main()
