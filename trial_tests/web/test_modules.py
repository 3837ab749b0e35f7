"""The shipped client's page names, as `modulepreload`, exactly the modules its entry module
imports statically, directly or not: each one arrives with the entry, not a round trip after
the module that imports it, and none is fetched for nothing. Checked over real HTTP against the
files the server serves, so the list cannot go stale. No browser needed."""

from __future__ import annotations

import posixpath
import re

from twisted.trial.unittest import TestCase

from trial_tests.support.harness import start_server

ENTRY = re.compile(r'<script type="module" src="/static/[0-9a-f]{16}/(js/[^"]+)"></script>')
PRELOAD = re.compile(r'<link rel="modulepreload" href="/static/[0-9a-f]{16}/([^"]+)">')
# `import ... from "./x.js";` and `import "./x.js";` at the start of a line: static imports only
# (a dynamic `import(...)` is loaded when it is needed).
STATIC_IMPORT = re.compile(r'^import\s+(?:[^"\';]*?\s+from\s+)?"(\.{1,2}/[^"]+)"', re.MULTILINE)


def static_imports(source: str, importer: str) -> set[str]:
    """The paths, relative to the client's root, that one module imports statically."""
    base = posixpath.dirname(importer)
    paths = STATIC_IMPORT.findall(source)
    return {posixpath.normpath(posixpath.join(base, path)) for path in paths}


class ModulePreloadTests(TestCase):
    async def test_the_page_preloads_the_entry_modules_static_graph(self) -> None:
        client = (await start_server(self, "sqlite")).client()
        page = (await client.get("/")).raw.decode()
        (entry,) = ENTRY.findall(page)
        version = re.search(r"/static/[0-9a-f]{16}/", page)
        assert version is not None, page
        graph: set[str] = set()
        pending = [entry]
        while pending:
            module = pending.pop()
            answer = await client.get(version.group(0) + module)
            self.assertEqual(answer.status, 200, module)
            found = static_imports(answer.raw.decode(), module) - graph
            graph |= found
            pending.extend(found)
        self.assertEqual(sorted(PRELOAD.findall(page)), sorted(graph - {entry}))
