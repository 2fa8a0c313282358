-- The Redis scripts of pace.py's SharedPace, each atomic, on Redis's own clock (TIME).
-- Each begins at its "-- script: NAME" line.

-- script: slot
-- Each send reserves the next slot, a spacing after the one before (a send woken late then
-- costs no throughput). KEYS: next slot. ARGV: spacing ms. Returns ms until its slot.
local t = redis.call('TIME'); local now = t[1] * 1000 + math.floor(t[2] / 1000)
local slot = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
redis.call('SET', KEYS[1], slot + tonumber(ARGV[1]), 'PX', 60000)
return slot - now

-- script: window
-- KEYS: window (zset of sends: score = when each stops counting), pause.
-- ARGV: most in any second, hold ms, this send's id. 0: go; else ms to wait.
local t = redis.call('TIME'); local now = t[1] * 1000 + math.floor(t[2] / 1000)
local paused = redis.call('PTTL', KEYS[2]); if paused > 0 then return paused end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(first[2]) - now)
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], 60000)
return 0

-- script: answered
-- The send's answer came back: it counts for one second more. KEYS: window; ARGV: id.
local t = redis.call('TIME'); local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZADD', KEYS[1], 'XX', now + 1000, ARGV[1])
return 0

-- script: chat
-- KEYS: the chat's key, pause, the chat's waiting replies. ARGV: this send's id, hold ms,
-- "reply" or "queued" (the outbox's). 0: go; else ms to wait. A reply waiting marks the
-- chat at each ask (for 2 s: a bridge that died stops counting); queued sends to the chat
-- wait while one is marked, so the reply is next once the chat's interval is over.
local paused = redis.call('PTTL', KEYS[2]); if paused > 0 then return paused end
local reply = ARGV[3] == 'reply'
if reply then
  redis.call('SET', KEYS[3], ARGV[1], 'PX', 2000)
elseif redis.call('EXISTS', KEYS[3]) == 1 then
  return math.max(1, redis.call('PTTL', KEYS[3]))
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  if reply and redis.call('GET', KEYS[3]) == ARGV[1] then redis.call('DEL', KEYS[3]) end
  return 0
end
return math.max(1, redis.call('PTTL', KEYS[1]))
