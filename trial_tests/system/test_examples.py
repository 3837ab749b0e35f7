"""The worked example in docs/ must keep working: run it against a real server."""

from __future__ import annotations

import os
import sys

from twisted.internet import reactor
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import TestCase

from trial_tests.support.harness import start_server
from trial_tests.support.processes import REPO_ROOT


class ExampleTests(TestCase):
    async def test_group_chat_example_runs(self) -> None:
        """examples/group_chat.py registers two users, chats in a group and reads history."""
        running = await start_server(self, "sqlite")
        script = os.path.join(REPO_ROOT, "examples", "group_chat.py")
        out, err, code = await getProcessOutputAndValue(
            sys.executable, [script, running.url], env=dict(os.environ), reactor=reactor
        )
        self.assertEqual(code, 0, err.decode())
        text = out.decode()
        self.assertIn("You were invited to join group 'Developers'", text)
        self.assertIn("'type': 'group'", text)
        self.assertIn("GET api/messages/group?group=1 -> 200", text)
