"""The deployment examples in docs/deploy are checked by the tools that will read them, and the
sandbox the systemd unit sets is one the server runs in."""

from __future__ import annotations

import os
import re
import shutil
import sys

from twisted.internet import reactor
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import SkipTest, TestCase

from trial_tests.support.chat import register
from trial_tests.support.images import picture
from trial_tests.support.processes import REPO_ROOT, start_process
from trial_tests.support.wsclient import connect

DEPLOY = os.path.join(REPO_ROOT, "docs", "deploy")
CERTBOT_LIVE = "/etc/letsencrypt/live/socialhub.example.org"
MAX_EXPOSURE = 3.0
_EXPOSURE = re.compile(r"Overall exposure level for \S+: (\d+\.\d+)")
_MDWE = ["-m", "trial_tests.support.mdwe"]


def _tool(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if path is None:
        raise SkipTest(f"{name} is not installed (.ci/run installs it)")
    return path


async def _run(tool: str, *args: str) -> tuple[str, str, int]:
    out, err, code = await getProcessOutputAndValue(tool, args, reactor=reactor)
    return out.decode(), err.decode(), code


class DeployFileTests(TestCase):
    timeout = 60

    def unit_instance(self) -> str:
        """The template unit copied as instance 9001, with the twistd of this environment in
        place of the documented install path."""
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
        return instance

    async def nginx_test(self, conf: str) -> tuple[str, int]:
        """`nginx -t` of `conf` included in an http block; its stderr and status."""
        nginx = _tool("nginx")
        prefix = os.path.abspath(self.mktemp())
        os.makedirs(os.path.join(prefix, "logs"))
        main = os.path.join(prefix, "nginx.conf")
        with open(main, "w") as out:
            out.write(
                f"pid {prefix}/nginx.pid;\nerror_log {prefix}/logs/error.log;\n"
                "events {}\n"
                f"http {{\n access_log off;\n include {conf};\n}}\n"
            )
        _out, err, code = await _run(nginx, "-t", "-p", prefix, "-c", main)
        return err, code

    async def test_nginx_example_is_valid(self) -> None:
        """`nginx -t` accepts docs/deploy/nginx-socialhub.conf, its TLS block with a
        self-signed certificate where certbot's would be."""
        openssl = _tool("openssl")
        _tool("nginx")
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
        _out, err, code = await _run(
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=socialhub.example.org", "-keyout", key, "-out", cert,
        )  # fmt: skip
        self.assertEqual(code, 0, err)
        with open(os.path.join(DEPLOY, "nginx-socialhub.conf")) as example:
            conf = example.read()
        for name in ("fullchain.pem", "privkey.pem"):
            self.assertIn(f"{CERTBOT_LIVE}/{name}", conf)
        conf = conf.replace(f"{CERTBOT_LIVE}/fullchain.pem", cert)
        conf = conf.replace(f"{CERTBOT_LIVE}/privkey.pem", key)
        copy = os.path.join(directory, "nginx-socialhub.conf")
        with open(copy, "w") as out:
            out.write(conf)
        err, code = await self.nginx_test(copy)
        self.assertEqual(code, 0, err)
        self.assertIn("syntax is ok", err)
        for needed in ("listen 443 ssl", "Strict-Transport-Security", "return 301 https://"):
            self.assertIn(needed, conf)

    async def test_systemd_unit_verifies(self) -> None:
        """`systemd-analyze verify` accepts the template unit (as instance 9001)."""
        analyze = _tool("systemd-analyze")
        instance = self.unit_instance()
        _out, err, _code = await _run(analyze, "verify", "--man=no", instance)
        problems = [
            line
            for line in err.splitlines()
            if "socialhub" in line and "not found" not in line.lower()
        ]
        self.assertEqual(problems, [], err)
        with open(instance) as unit:
            self.assertIn("LimitNOFILE=", unit.read())

    async def test_systemd_unit_exposure(self) -> None:
        """`systemd-analyze security` rates the unit's sandbox at most 3.0 ("OK")."""
        analyze = _tool("systemd-analyze")
        usage, _, _ = await _run(analyze, "security", "--help")
        if "--offline" not in usage:
            raise SkipTest("this systemd-analyze has no --offline (systemd 250 and later)")
        out, err, _code = await _run(analyze, "security", "--offline=true", self.unit_instance())
        exposure = _EXPOSURE.search(out + err)
        assert exposure is not None, out + err
        self.assertLessEqual(float(exposure.group(1)), MAX_EXPOSURE, out)

    async def test_serves_without_writable_executable_memory(self) -> None:
        """Under the rule of the unit's MemoryDenyWriteExecute= (set with prctl here, as no
        systemd runs this machine's services), the server hashes passwords (argon2-cffi),
        decodes an upload (Pillow) and relays a WebSocket message."""
        probe = "import mmap; mmap.mmap(-1, 4096, prot=7)"  # read, write and execute
        _out, err, code = await _run(sys.executable, *_MDWE, "-c", probe)
        if "PR_SET_MDWE" in err:
            raise SkipTest(f"this kernel cannot refuse W+X memory to a process: {err}")
        self.assertNotEqual(code, 0, "a W+X mapping was allowed")
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        database = f"sqlite:{directory}/socialhub.sqlite3"
        media = os.path.join(directory, "media")
        process = await start_process(self, database, "--media-dir", media, launcher=_MDWE)
        alice, bob = await register(process.url, "alice"), await register(process.url, "bob")
        upload = await alice.client.request(
            "POST", "/api/media", data=picture("PNG"), headers={"Content-Type": "image/png"}
        )
        self.assertEqual(upload.status, 201, upload.raw)
        socket = await connect(process.url, alice.token)
        self.addCleanup(socket.close)
        socket.send({"type": "private", "to": bob.id, "content": "hi", "id": "c1"})
        self.assertEqual((await socket.next_of("ack"))["id"], "c1")
