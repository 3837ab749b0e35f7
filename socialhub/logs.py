"""Log events as one JSON object per line (`--log-format json`), for journald and log shippers.

Twisted's own `jsonFileLogObserver` writes `eventAsJSON`: every `log_*` key, the time as a float,
the level as an object and each record after an RS (0x1E) byte, so a line is not JSON by itself.
Here each event becomes a flat object: time (ISO 8601, UTC), level, namespace, the formatted
message, the event's plain fields, and a failure's traceback as one field.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson
from twisted.logger import FileLogObserver, ILogObserver, LogEvent, formatEvent

_TOP_LEVEL = ("time", "level", "namespace", "message", "error", "traceback")
# Keys of events from twisted.python.log (the legacy API) that repeat what the record holds.
_LEGACY_KEYS = frozenset({"message", "format", "isError", "system", "why", "time", "failure"})
_INT64 = 2**63


def _plain(value: object) -> bool:
    """A value that goes into the record as it is (a 64-bit number, a string, a flag)."""
    if isinstance(value, bool) or value is None or isinstance(value, (str, float)):
        return True
    return isinstance(value, int) and -_INT64 <= value < _INT64


def event_record(event: LogEvent) -> dict[str, Any]:
    """The flat record of one event; fields that are not plain values are left to the message."""
    level = event.get("log_level")
    when = datetime.fromtimestamp(event.get("log_time", 0.0), UTC)
    record: dict[str, Any] = {
        "time": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "level": level.name if level is not None else "info",
        "namespace": event.get("log_namespace", "-"),
        "message": formatEvent(event),
    }
    failure = event.get("log_failure")
    if failure is not None:
        record["error"] = failure.getErrorMessage()
        record["traceback"] = failure.getTraceback()
    for key, value in event.items():
        if key.startswith("log_") or key in _LEGACY_KEYS or key in _TOP_LEVEL:
            continue
        if _plain(value):
            record[key] = value
    return record


def event_as_line(event: LogEvent) -> str:
    """One line of JSON (orjson escapes every newline inside strings)."""
    return orjson.dumps(event_record(event)).decode() + "\n"


def json_lines_observer(out: TextIO | None = None) -> ILogObserver:
    """An observer writing each event as a JSON line to `out` (standard output by default),
    flushed at once, as Twisted's text observer does."""
    observer: ILogObserver = FileLogObserver(out or sys.stdout, event_as_line)
    return observer
