"""A wheel of the project, installed, gives a twistd that knows `socialhub`, and the
`socialhub-admin` console script.

The plugin dropin lives outside the socialhub package (twisted/plugins/, without __init__.py),
so it is easy to ship a wheel without it or without the schema files: only a real install into
a clean virtualenv shows that `twistd socialhub` works for someone who is not in the source tree.
"""

from __future__ import annotations

import os
import shutil
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import TestCase

from socialhub import __version__
from socialhub.storage.migrations import migration_files
from trial_tests.support.processes import REPO_ROOT

# Build products and local state that a fresh checkout would not have either; a stale build/
# would otherwise end up in the wheel.
_NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "_trial_temp*",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    "*.sqlite3*",
)


def _not_source(directory: str, names: list[str]) -> set[str]:
    """_NOT_SOURCE, and the media directory a server run from the checkout leaves at its top
    (only there: socialhub/media/ is a package)."""
    ignored = set(_NOT_SOURCE(directory, names))
    if os.path.samefile(directory, REPO_ROOT) and "media" in names:
        ignored.add("media")
    return ignored


def _environment() -> dict[str, str]:
    """This process's environment (pip's settings, HOME, PATH) minus any active virtualenv."""
    return {
        name: value
        for name, value in os.environ.items()
        if name not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
    }


class PackagingTests(TestCase):
    """Install into a fresh virtualenv (no system site-packages), then ask twistd."""

    timeout = 300  # creating the virtualenv and installing the dependencies takes ~20-40 s

    async def _command(self, executable: str, *args: str, cwd: str) -> str:
        out: bytes
        err: bytes
        code: int
        out, err, code = await getProcessOutputAndValue(
            executable, args, env=_environment(), path=cwd
        )
        self.assertEqual(code, 0, f"{executable} {' '.join(args)}:\n{out!r}\n{err!r}")
        return out.decode("utf-8", "replace")

    async def test_pip_install_provides_the_twistd_plugin(self) -> None:
        """`pip wheel` makes a wheel carrying the licence and the version; installed from it,
        `twistd --help` lists socialhub, its options load from the installed package, the
        schema files were shipped, and the `socialhub-admin` console script lists its
        commands."""
        work = Path(self.mktemp()).resolve()
        work.mkdir(parents=True)
        source = work / "source"
        shutil.copytree(REPO_ROOT, source, ignore=_not_source)
        venv = work / "venv"
        await self._command(sys.executable, "-m", "venv", str(venv), cwd=str(work))
        python = str(venv / "bin" / "python")
        wheels = work / "wheels"
        pip = (python, "-m", "pip")
        await self._command(
            *pip, "wheel", "--quiet", "--no-deps", "-w", str(wheels), str(source), cwd=str(work)
        )
        (wheel,) = wheels.glob("socialhub-*.whl")
        self.check_wheel(wheel)
        await self._command(*pip, "install", "--quiet", str(wheel), cwd=str(work))

        twistd = str(venv / "bin" / "twistd")
        version = await self._command(twistd, "socialhub", "--version", cwd=str(work))
        self.assertEqual(version, f"socialhub {__version__}\n")
        listing = await self._command(twistd, "--help", cwd=str(work))
        self.assertIn("socialhub", listing.split("Commands:", 1)[-1])
        usage_text = await self._command(twistd, "socialhub", "--help", cwd=str(work))
        for option in ("--database", "--listen", "--admin", "--session-ttl", "--rate-limit"):
            self.assertIn(option, usage_text)

        probe = (
            "import socialhub, twisted.plugins.socialhub_plugin as plugin;"
            "from socialhub.storage.migrations import migration_files;"
            "print(socialhub.__file__); print(plugin.__file__); print(len(migration_files()))"
        )
        package, plugin, migrations = (
            await self._command(python, "-c", probe, cwd=str(work))
        ).split()
        site_packages = str(venv / "lib")
        self.assertTrue(package.startswith(site_packages), package)
        self.assertTrue(plugin.startswith(site_packages), plugin)
        self.assertEqual(int(migrations), len(migration_files()))

        admin = str(venv / "bin" / "socialhub-admin")
        admin_help = await self._command(admin, "--help", cwd=str(work))
        for command in ("create-user", "grant-admin", "revoke-admin", "copy-database"):
            self.assertIn(command, admin_help)
        admin_version = await self._command(admin, "--version", cwd=str(work))
        self.assertEqual(admin_version, f"socialhub-admin {__version__}\n")

    def check_wheel(self, wheel: Path) -> None:
        """The wheel is this version, Apache-2.0, with the licence's text inside."""
        info = f"socialhub-{__version__}.dist-info"
        self.assertEqual(wheel.name, f"socialhub-{__version__}-py3-none-any.whl")
        with zipfile.ZipFile(wheel) as archive:
            metadata = Parser().parsestr(archive.read(f"{info}/METADATA").decode())
            licence = archive.read(f"{info}/licenses/LICENSE").decode()
        self.assertEqual(metadata["Version"], __version__)
        self.assertEqual(metadata["License-Expression"], "Apache-2.0")
        self.assertEqual(metadata["License-File"], "LICENSE")
        self.assertIn("Apache License\n                           Version 2.0", licence)
        self.assertIn("Copyright 2026 the socialhub authors", licence)
