"""Token buckets in Redis, shared by every process on the same Redis (handlers/rate_limit.py).

Each bucket is a hash `socialhub:limit:<kind>:<who>` of `tokens` and `when` (Redis's own time,
`TIME`, so the processes' clocks need not agree), expiring once it would be full again. Every
check is one Lua script, which Redis runs atomically: two processes taking the last token of a
user race to one winner. ARGV gives each key's refill per second and burst, in KEYS' order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from twisted.internet.defer import Deferred

from socialhub.bus.redis_roster import Commands

# Each key's level now: its saved tokens refilled since, or a full bucket; and how to save it.
_PRELUDE = """
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1000000
local function rate(i) return tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i]) end
local function level(i)
  local per_second, burst = rate(i)
  local saved = redis.call('HMGET', KEYS[i], 'tokens', 'when')
  if not saved[1] then return burst end
  return math.min(burst, tonumber(saved[1]) + (now - tonumber(saved[2])) * per_second)
end
local function save(i, tokens)
  local per_second, burst = rate(i)
  redis.call('HSET', KEYS[i], 'tokens', tostring(tokens), 'when', tostring(now))
  redis.call('PEXPIRE', KEYS[i], math.ceil((burst - tokens) / per_second * 1000) + 1000)
end
"""

# One token from every key, or none: '0' when taken, else the seconds until each holds one.
TAKE = (
    _PRELUDE
    + """
local levels, wait = {}, 0
for i = 1, #KEYS do
  levels[i] = level(i)
  local per_second = rate(i)
  if levels[i] < 1 then wait = math.max(wait, (1 - levels[i]) / per_second) end
end
if wait == 0 then
  for i = 1, #KEYS do save(i, levels[i] - 1) end
end
return tostring(wait)
"""
)

# ARGV[2 * #KEYS + i]: the tokens a process spent from key i since it last settled; taken
# whatever the level (a debt, down to minus the burst); each key's level after.
SETTLE = (
    _PRELUDE
    + """
local levels = {}
for i = 1, #KEYS do
  local _, burst = rate(i)
  local left = math.max(-burst, level(i) - tonumber(ARGV[2 * #KEYS + i]))
  save(i, left)
  levels[i] = tostring(left)
end
return levels
"""
)

Bucket = tuple[bytes, float, float]  # key, per second, burst


class RedisBuckets:
    """SharedBuckets in Redis."""

    def __init__(self, commands: Commands) -> None:
        self._commands = commands

    def take(self, buckets: Sequence[Bucket]) -> Deferred[float]:
        taken = self._run(TAKE, buckets, ())
        return taken.addCallback(float)

    def settle(self, buckets: Sequence[Bucket], spent: Sequence[int]) -> Deferred[list[float]]:
        settled = self._run(SETTLE, buckets, spent)
        return settled.addCallback(lambda levels: [float(level) for level in levels])

    def _run(self, script: str, buckets: Sequence[Bucket], extra: Sequence[int]) -> Deferred[Any]:
        keys = [key for key, _, _ in buckets]
        rates = [repr(value) for _, per_second, burst in buckets for value in (per_second, burst)]
        return self._commands.command("EVAL", script, len(keys), *keys, *rates, *extra)
