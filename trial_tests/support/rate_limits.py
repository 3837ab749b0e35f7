"""A request refused by the rate limits, checked against the time its requests took."""

from __future__ import annotations

import math

from twisted.internet import reactor
from twisted.trial.unittest import TestCase

from trial_tests.support.harness import Response


def assert_rate_limited(testcase: TestCase, response: Response, period: int, since: float) -> None:
    """429 `rate_limited`, Retry-After the seconds until the emptied bucket has a token: its
    `period` a token, less what it refilled since its first take, at or after `since` (this
    reactor's time before it; the machine's clock, which a server process and Redis read too).
    Exact while the requests take under a second; each second more that a loaded machine took
    allows a second fewer."""
    testcase.assertEqual(response.status, 429, response.raw)
    testcase.assertEqual(response.json["error"], "rate_limited")
    elapsed = reactor.seconds() - since
    (retry_after,) = response.headers.getRawHeaders("retry-after")
    allowed = range(math.ceil(period - elapsed), period + 1)
    testcase.assertIn(int(retry_after), allowed, f"after {elapsed:.2f} s")
