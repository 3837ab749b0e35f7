"""The deployment examples in docs/deploy are checked by the tools that will read them."""

from __future__ import annotations

import os
import shutil
import sys

from twisted.internet import reactor
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import SkipTest, TestCase

from trial_tests.support.processes import REPO_ROOT

DEPLOY = os.path.join(REPO_ROOT, "docs", "deploy")


def _tool(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if path is None:
        raise SkipTest(f"{name} is not installed (.ci/run installs it)")
    return path


class DeployFileTests(TestCase):
    async def test_nginx_example_is_valid(self) -> None:
        """`nginx -t` accepts docs/deploy/nginx-socialhub.conf inside an http block."""
        nginx = _tool("nginx")
        prefix = os.path.abspath(self.mktemp())
        os.makedirs(os.path.join(prefix, "logs"))
        main = os.path.join(prefix, "nginx.conf")
        with open(main, "w") as conf:
            conf.write(
                f"pid {prefix}/nginx.pid;\nerror_log {prefix}/logs/error.log;\n"
                "events {}\n"
                f"http {{\n access_log off;\n include {DEPLOY}/nginx-socialhub.conf;\n}}\n"
            )
        _out, err, code = await getProcessOutputAndValue(
            nginx, ["-t", "-p", prefix, "-c", main], reactor=reactor
        )
        self.assertEqual(code, 0, err.decode())
        self.assertIn(b"syntax is ok", err)

    async def test_systemd_unit_verifies(self) -> None:
        """`systemd-analyze verify` accepts the template unit (as instance 9001), with the
        twistd of this environment in place of the documented install path."""
        analyze = _tool("systemd-analyze")
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        with open(os.path.join(DEPLOY, "socialhub@.service")) as template:
            unit = template.read()
        twistd = os.path.join(os.path.dirname(sys.executable), "twistd")
        unit = unit.replace("/opt/socialhub/.venv/bin/twistd", twistd)
        self.assertIn(f"ExecStart={twistd}", unit)
        path = os.path.join(directory, "socialhub@.service")
        with open(path, "w") as copy:
            copy.write(unit)
        instance = os.path.join(directory, "socialhub@9001.service")
        os.symlink(path, instance)
        _out, err, _code = await getProcessOutputAndValue(
            analyze, ["verify", "--man=no", instance], reactor=reactor
        )
        problems = [
            line
            for line in err.decode().splitlines()
            if "socialhub" in line and "not found" not in line.lower()
        ]
        self.assertEqual(problems, [], err.decode())
        self.assertIn("LimitNOFILE=", unit)
