"""Mutation testing of the SQL authorization conditions, which mutmut leaves whole.

To mutmut an SQL condition is a string, and its one mutant (the string with "XX" around it)
is a syntax error that any test kills. This mutates the SQL itself, one operator at a time
(AND and OR, EXISTS and NOT EXISTS, = and <>, IS NULL and IS NOT NULL, a status or privacy
literal, a negated flag), and runs the tests mutmut runs (pyproject.toml's `[tool.mutmut]`
runner) against each mutant: one they pass is a part of the rule that no test checks. The
file is changed in place and restored after each mutant, as mutmut does. From the
repository's root, with PYTHONPATH pointing at it (docs/testing.md):

    python -m trial_tests.mutation.sql_rules
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Each SQL condition: its file, and the line its string starts on (it ends at the next ")").
CONDITIONS = (
    ("socialhub/storage/stores/post_visibility.py", "_RULE = ("),
    ("socialhub/storage/stores/users.py", "_SHOWN = ("),
)
# (pattern, replacement): every match of the pattern in a condition is one mutant.
SWAPS = (
    (r" AND ", " OR "),
    (r" OR ", " AND "),
    (r"NOT EXISTS", "EXISTS"),
    (r"(?<!NOT )EXISTS", "NOT EXISTS"),
    (r" = ", " <> "),
    (r" <> ", " = "),
    (r"IS NOT NULL", "IS NULL"),
    (r"IS NULL", "IS NOT NULL"),
    (r"'accepted'", "'pending'"),
    (r"'public'", "'followers'"),
    (r"NOT a\.is_private", "a.is_private"),
    (r"vm\.is_accepted", "NOT vm.is_accepted"),
    (r"sv\.is_admin", "NOT sv.is_admin"),
)


@dataclass(frozen=True)
class Mutant:
    path: Path
    source: str
    start: int
    end: int
    replacement: str

    def text(self) -> str:
        return self.source[: self.start] + self.replacement + self.source[self.end :]

    def describe(self) -> str:
        line = self.source.count("\n", 0, self.start) + 1
        column = self.start - self.source.rfind("\n", 0, self.start)
        before = self.source[self.start : self.end]
        return f"{self.path}:{line}:{column}: {before.strip()!r} -> {self.replacement.strip()!r}"


def mutants(path: Path, marker: str) -> Iterator[Mutant]:
    source = path.read_text(encoding="utf-8")
    begin = source.index(marker) + len(marker)
    end = source.index("\n)\n", begin)
    for pattern, replacement in SWAPS:
        for found in re.finditer(pattern, source[begin:end]):
            yield Mutant(path, source, begin + found.start(), begin + found.end(), replacement)


def survives(mutant: Mutant, command: list[str]) -> bool:
    """Do the tests pass with the mutant in place? The file is restored whatever happens."""
    mutant.path.write_text(mutant.text(), encoding="utf-8")
    try:
        finished = subprocess.run(command, capture_output=True, check=False)
    finally:
        mutant.path.write_text(mutant.source, encoding="utf-8")
    return finished.returncode == 0


def main() -> int:
    config = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))
    command = shlex.split(config["tool"]["mutmut"]["runner"])
    if subprocess.run(command, capture_output=True, check=False).returncode != 0:
        print("the tests fail without any mutant", file=sys.stderr)
        return 1
    found = [mutant for path, marker in CONDITIONS for mutant in mutants(Path(path), marker)]
    survived = []
    for mutant in found:
        if survives(mutant, command):
            survived.append(mutant)
            print("SURVIVED", mutant.describe(), flush=True)
        else:
            print("killed  ", mutant.describe(), flush=True)
    killed = len(found) - len(survived)
    print(f"{len(found)} mutants, {killed} killed, {len(survived)} survived")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
