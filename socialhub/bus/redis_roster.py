"""The roster of presence in Redis: which users each living process holds.

Keys (docs/scaling.md):
- `socialhub:presence:processes`, a sorted set: each living process's id, scored with the Redis
  time until which it counts as alive (its last refresh plus the expiry);
- `socialhub:presence:held:<process id>`, a set: the users that process holds a connection of,
  expiring a few expiries after the process's last refresh (when no one is left to reap it).

A living process refreshes with one command, whatever its number of users: it moves its own
score and expiry. The same command reaps: it takes every process whose time has passed off the
sorted set, deletes its set, and answers the users no living process holds. Every change is one
Lua script, which Redis runs atomically, so when two processes race to reap a dead one, or to
announce a user's first connection or last, exactly one of them sees the turn. Times are Redis's
own (`TIME`), so the processes' clocks need not agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from twisted.internet.defer import Deferred

from socialhub.bus.interface import Changed, Refreshed

# What every script starts with: the keys, Redis's time, this process (ARGV[1]) and its expiry
# in seconds (ARGV[2]), the living processes other than this one, and the helpers.
_PRELUDE = """
local PROCESSES = 'socialhub:presence:processes'
local function held(process) return 'socialhub:presence:held:' .. process end
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1000000
local me, expiry = ARGV[1], tonumber(ARGV[2])
local others = {}
for _, process in ipairs(redis.call('ZRANGEBYSCORE', PROCESSES, now, '+inf')) do
  if process ~= me then table.insert(others, process) end
end
local function nowhere_else(user)
  for _, process in ipairs(others) do
    if redis.call('SISMEMBER', held(process), user) == 1 then return false end
  end
  return true
end
local function keep_alive()
  local new = redis.call('ZADD', PROCESSES, now + expiry, me)
  redis.call('EXPIRE', held(me), math.ceil(expiry * 3))
  return new
end
local function add(first, last, online)
  for i = first, last do
    if redis.call('SADD', held(me), ARGV[i]) == 1 and nowhere_else(ARGV[i]) then
      table.insert(online, ARGV[i])
    end
  end
end
local function remove(users, offline)
  for _, user in ipairs(users) do
    if redis.call('SREM', held(me), user) == 1 and nowhere_else(user) then
      table.insert(offline, user)
    end
  end
end
"""

# ARGV[3]: how many users arrived; then the arrived users, then those that left.
CHANGE = (
    _PRELUDE
    + """
local count = tonumber(ARGV[3])
local online, offline, left = {}, {}, {}
for i = 4 + count, #ARGV do table.insert(left, ARGV[i]) end
add(4, 3 + count, online)
remove(left, offline)
keep_alive()
return {online, offline}
"""
)

# ARGV[3..]: every user this process holds.
REPLACE = (
    _PRELUDE
    + """
local wanted, stale = {}, {}
for i = 3, #ARGV do wanted[ARGV[i]] = true end
for _, user in ipairs(redis.call('SMEMBERS', held(me))) do
  if not wanted[user] then table.insert(stale, user) end
end
local online, offline = {}, {}
remove(stale, offline)
add(3, #ARGV, online)
keep_alive()
return {online, offline}
"""
)

# ARGV[3..]: the users asked about; this process counts as a holder too.
ONLINE = (
    _PRELUDE
    + """
table.insert(others, me)
local online = {}
for i = 3, #ARGV do
  if not nowhere_else(ARGV[i]) then table.insert(online, ARGV[i]) end
end
return online
"""
)

REFRESH = (
    _PRELUDE
    + """
local lost = keep_alive()
local offline, seen = {}, {}
for _, process in ipairs(redis.call('ZRANGEBYSCORE', PROCESSES, '-inf', '(' .. now)) do
  redis.call('ZREM', PROCESSES, process)
  for _, user in ipairs(redis.call('SMEMBERS', held(process))) do
    if not seen[user] and nowhere_else(user)
        and redis.call('SISMEMBER', held(me), user) == 0 then
      seen[user] = true
      table.insert(offline, user)
    end
  end
  redis.call('DEL', held(process))
end
return {lost, offline}
"""
)

DEPART = (
    _PRELUDE
    + """
redis.call('ZREM', PROCESSES, me)
local offline = {}
for _, user in ipairs(redis.call('SMEMBERS', held(me))) do
  if nowhere_else(user) then table.insert(offline, user) end
end
redis.call('DEL', held(me))
return offline
"""
)


class Commands(Protocol):
    """Where the roster sends its commands: the bus's connection to Redis."""

    def command(self, *args: bytes | str | int | float) -> Deferred[Any]:
        """Send one command; fails at once when Redis is away."""


class RedisRoster:
    """A Roster in Redis, shared by every process on the same Redis."""

    def __init__(self, commands: Commands, process_id: str, expiry: float) -> None:
        self._commands = commands
        self._process_id = process_id
        self._expiry = expiry

    async def _run(self, script: str, *args: int | str) -> Any:
        return await self._commands.command(
            "EVAL", script, 0, self._process_id, repr(self._expiry), *args
        )

    async def change(self, arrived: Sequence[int], left: Sequence[int]) -> Changed:
        online, offline = await self._run(CHANGE, len(arrived), *arrived, *left)
        return Changed(_ids(online), _ids(offline))

    async def replace(self, user_ids: Sequence[int]) -> Changed:
        online, offline = await self._run(REPLACE, *user_ids)
        return Changed(_ids(online), _ids(offline))

    async def online(self, user_ids: Sequence[int]) -> set[int]:
        return set(_ids(await self._run(ONLINE, *user_ids)))

    async def refresh(self) -> Refreshed:
        lost, offline = await self._run(REFRESH)
        return Refreshed(lost=bool(lost), offline=_ids(offline))

    async def depart(self) -> list[int]:
        return _ids(await self._run(DEPART))


def _ids(values: list[bytes]) -> list[int]:
    return [int(value) for value in values]
