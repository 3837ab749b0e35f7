"""schemathesis against a live server, from the server's own /api/openapi.json.

    python -m bench.api_fuzz [--engine sqlite|postgres] [--max-examples 100]

Starts socialhub (twistd, as the benchmarks do) on a fresh database with rate limits off,
registers its administrator, and runs `st run` with that session's cookie: every operation,
every phase but the stateful one, the checks below. It prints schemathesis' summary (cases
run, failures) and exits with its status. The short run of trial_tests/system/
test_schemathesis.py uses the same command. docs/fuzzing.md keeps the figures.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import psycopg2

from bench import fixtures, procs
from bench.servers import socialhub_argv

# No 5xx; each status, Content-Type and body as the document says; a request the schema
# refuses is refused (4xx).
CHECKS = ",".join(
    (
        "not_a_server_error",
        "negative_data_rejection",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    )
)
# The operations that can end the fuzzer's own session or account, or take its role: the rest
# of the run would go signed out (401) or refused (403). Their own tests cover them.
SESSION_ENDING = (
    "POST /api/auth/logout",
    "DELETE /api/auth/sessions/{session_id}",
    "POST /api/admin/users/{target_id}/sessions/revoke",
    "POST /api/admin/users/{user_id}/password-reset",
    "POST /api/admin/users/{target_id}/deactivate",
    "DELETE /api/admin/users/{target_id}",
    "DELETE /api/admin/users/{target_id}/admin",
    "DELETE /api/users/me",
)
# The long run's phases; the short one in the tests only fuzzes.
ALL_PHASES = "examples,coverage,fuzzing"
PASSWORD = "correct horse battery"  # noqa: S105 - a throwaway server's account


def st_command(
    base_url: str, cookie: str, max_examples: int, phases: str = ALL_PHASES
) -> list[str]:
    """`st run` against the server at `base_url`, signed in with `cookie` (`name=value`):
    at most `max_examples` cases per operation and phase, the same ones on every run."""
    excluded = [argument for name in SESSION_ENDING for argument in ("--exclude-name", name)]
    return [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{base_url}/api/openapi.json",
        "--header",
        f"Cookie: {cookie}",
        "--checks",
        CHECKS,
        "--phases",
        phases,
        "--max-examples",
        str(max_examples),
        "--generation-deterministic",
        # The cookie is the one above, not one schemathesis makes up for the security scheme.
        "--generation-with-security-parameters",
        "false",
        "--workers",
        "1",
        "--no-color",
        *excluded,
    ]


def register_admin(base_url: str) -> str:
    """Register the administrator; its session cookie as `name=value`."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    body = {"username": fixtures.ADMIN, "email": "admin@example.org", "password": PASSWORD}
    request = urllib.request.Request(  # noqa: S310 - our own http:// URL
        f"{base_url}/api/auth/register",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with opener.open(request) as response:
        assert response.status == 201, response.status
    return next(f"{c.name}={c.value}" for c in jar if c.name == "socialhub_session")


POSTGRES = "postgresql://postgres@127.0.0.1:5432/"


def _postgres(statement: str) -> None:
    connection = psycopg2.connect(POSTGRES + "postgres")
    connection.autocommit = True  # CREATE and DROP DATABASE run outside a transaction
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()


def _database(engine: str, workdir: Path) -> str:
    """A fresh database: a SQLite file in `workdir`, or a PostgreSQL database named after it."""
    if engine == "sqlite":
        return f"sqlite:{workdir / 'fuzz.sqlite3'}"
    _postgres(f'CREATE DATABASE "{workdir.name.lower()}"')
    return POSTGRES + workdir.name.lower()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--max-examples", type=int, default=100)
    options = parser.parse_args()
    procs.install_cleanup()
    with tempfile.TemporaryDirectory(prefix="socialhub_fuzz_") as directory:
        workdir = Path(directory)
        port = procs.free_port()
        log = workdir / "server.log"
        argv = socialhub_argv(_database(options.engine, workdir), port, workdir)
        server = procs.spawn(argv, log)
        try:
            procs.wait_for_line(server, log, "socialhub listening on")
            base_url = f"http://127.0.0.1:{port}"
            command = st_command(base_url, register_admin(base_url), options.max_examples)
            # In the run's directory: schemathesis keeps its cache of failing cases where it runs.
            run = subprocess.run(command, check=False, cwd=workdir)  # noqa: S603 - our argv
            return run.returncode
        finally:
            procs.stop(server)
            print(procs.tail(log, 20) if "Traceback" in log.read_text() else "server log clean")
            if options.engine == "postgres":
                _postgres(f'DROP DATABASE "{workdir.name.lower()}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
