"""A typed base for test mixins that run once per storage engine.

A mixin of tests must not be a TestCase itself (trial would run it without an engine), yet mypy
should check its `self.assert...` calls. So mypy sees a TestCase here and trial sees `object`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twisted.trial.unittest import TestCase

if TYPE_CHECKING:
    _Base = TestCase
else:
    _Base = object


class EngineTestMixin(_Base):
    """Tests written once; `class XSqliteTests(SqliteEngine, XTests, TestCase)` runs them."""

    engine: str
