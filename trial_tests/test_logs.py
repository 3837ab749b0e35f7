"""socialhub/logs.py: each log event as one line of flat JSON."""

from __future__ import annotations

import io
import json
from typing import Any

from twisted.logger import Logger, LogLevel, LogPublisher
from twisted.trial.unittest import TestCase

from socialhub.logs import event_as_line, json_lines_observer


class Boom(Exception):
    pass


def _logged(emit: Any) -> list[dict[str, Any]]:
    """What `emit(log)` writes through the JSON observer, each line parsed."""
    out = io.StringIO()
    publisher = LogPublisher(json_lines_observer(out))
    emit(Logger(namespace="socialhub.test", observer=publisher))
    text = out.getvalue()
    assert text.endswith("\n"), text
    return [json.loads(line) for line in text.splitlines()]


class JsonLinesTests(TestCase):
    def test_fields(self) -> None:
        """Time in ISO 8601 UTC, the level's name, the namespace, the formatted message, and
        the event's plain fields; objects stay in the message only."""
        [record] = _logged(
            lambda log: log.warn(
                "{who} did {what!r}", who="alice", what=object(), count=3, ratio=0.5, ok=None
            )
        )
        self.assertRegex(record.pop("time"), r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        message = record.pop("message")
        self.assertTrue(message.startswith("alice did <object object"), message)
        expected = {"level": "warn", "namespace": "socialhub.test", "who": "alice"}
        self.assertEqual(record, {**expected, "count": 3, "ratio": 0.5, "ok": None})

    def test_failure_is_one_line_with_its_traceback(self) -> None:
        """A failure's traceback is a field of its one line, however many lines it has."""

        def fail(log: Logger) -> None:
            try:
                raise Boom("it broke\non two lines")
            except Boom:
                log.failure("handling {thing}", thing="a frame")

        [record] = _logged(fail)
        self.assertEqual((record["level"], record["message"]), ("critical", "handling a frame"))
        self.assertEqual(record["error"], "it broke\non two lines")
        self.assertIn("Traceback", record["traceback"])
        self.assertIn("raise Boom", record["traceback"])

    def test_reserved_names_and_large_numbers(self) -> None:
        """A field named like a record key does not replace it; a number JSON parsers would
        round is left to the message."""
        line = event_as_line(
            {
                "log_format": "{message} {big}",
                "log_level": LogLevel.info,
                "log_namespace": "x",
                "log_time": 0.0,
                "message": "hello",
                "level": "spoof",
                "big": 2**70,
            }
        )
        record = json.loads(line)
        self.assertEqual(line.count("\n"), 1)
        self.assertEqual(record["level"], "info")
        self.assertEqual(record["time"], "1970-01-01T00:00:00.000Z")
        self.assertNotIn("big", record)
        self.assertEqual(record["message"], f"hello {2**70}")
