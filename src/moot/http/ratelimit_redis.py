"""Token buckets in Redis, shared by every process of an instance: one Lua script takes a token atomically.

Keys, all under the instance's prefix (MOOT_REDIS_KEY_PREFIX, so that several instances or test runs can share a
Redis): `<prefix>:rl:rules` holds the site's limits (`capacity:per_seconds` per bucket), so that a change an
admin saves in one process applies in all of them at once; `<prefix>:rl:gen` is bumped by such a change, which
starts every address with a full bucket (old buckets are simply never read again and expire); each bucket is a
hash `<prefix>:rl:<gen>:<bucket>:<address key>` of tokens and the time they were counted, expiring once it
would be full again (a missing bucket is a full one). Time is Redis's own clock, the same for every process."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import redis.asyncio as redis

# KEYS[1]: the generation counter, KEYS[2]: the shared rules.
# ARGV[1]: bucket, ARGV[2], ARGV[3]: this process's rule (used when Redis holds none), ARGV[4]: bucket key prefix,
# then pairs of (address key, capacity factor).
# Returns {1 or 0, milliseconds until a refused request would pass}.
_TAKE = """
local gen = redis.call('GET', KEYS[1]) or '0'
local capacity = tonumber(ARGV[2])
local per = tonumber(ARGV[3])
local shared = redis.call('HGET', KEYS[2], ARGV[1])
if shared then
  local c, p = string.match(shared, '^(%d+):(%d+)$')
  if c then
    capacity = tonumber(c)
    per = tonumber(p)
  end
end
if per < 1 then per = 1 end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local allowed = 1
local wait = 0
for i = 5, #ARGV, 2 do
  local key = ARGV[4] .. gen .. ':' .. ARGV[1] .. ':' .. ARGV[i]
  local size = capacity * tonumber(ARGV[i + 1])
  local state = redis.call('HMGET', key, 't', 'u')
  local tokens = tonumber(state[1]) or size
  local updated = tonumber(state[2]) or now
  local at = updated
  if now > updated then
    tokens = math.min(size, tokens + (now - updated) * size / per)
    at = now
  end
  if tokens >= 1 then
    tokens = tokens - 1
  else
    allowed = 0
    local needed = per
    if size > 0 then needed = (1 - tokens) * per / size end
    if needed > wait then wait = needed end
  end
  redis.call('HSET', key, 't', tostring(tokens), 'u', tostring(at))
  redis.call('PEXPIRE', key, math.ceil(per * 1000))
end
return {allowed, math.ceil(wait * 1000)}
"""


class SharedBuckets:
    # Short timeouts: a Redis that hangs must not hold requests; the caller falls back to memory.
    TIMEOUT_SECONDS = 0.5

    def __init__(self, url: str, prefix: str) -> None:
        self._client: redis.Redis = redis.Redis.from_url(
            url, socket_connect_timeout=self.TIMEOUT_SECONDS, socket_timeout=self.TIMEOUT_SECONDS
        )
        self._gen_key = f"{prefix}:rl:gen"
        self._rules_key = f"{prefix}:rl:rules"
        self._bucket_prefix = f"{prefix}:rl:"
        self._take = self._client.register_script(_TAKE)

    async def publish(self, rules: Mapping[str, tuple[int, int]], *, reset: bool) -> None:
        """Store the site's limits for every process; `reset` also empties every bucket (a new generation)."""
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.hset(self._rules_key, mapping={name: f"{cap}:{per}" for name, (cap, per) in rules.items()})
            if reset:
                pipe.incr(self._gen_key)
            await pipe.execute()

    async def take(
        self, bucket: str, capacity: int, per_seconds: int, keys: Sequence[tuple[str, int]]
    ) -> tuple[bool, float]:
        """Takes a token from each of the address's buckets: (allowed, seconds until it would be)."""
        args: list[Any] = [bucket, capacity, per_seconds, self._bucket_prefix]
        for key, factor in keys:
            args += [key, factor]
        allowed, wait_ms = await self._take(keys=[self._gen_key, self._rules_key], args=args)
        return bool(allowed), int(wait_ms) / 1000

    async def close(self) -> None:
        await self._client.aclose()
