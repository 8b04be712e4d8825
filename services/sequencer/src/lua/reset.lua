-- The operator's reset, in one fenced step: the stream's content and the delivery log
-- go, the consumer group skips to the end, and the position restarts at 1 under a new
-- epoch. The follow graph lives under keys named by epoch, so the new epoch starts with
-- an empty graph at once; the old epoch's sets are deleted afterwards, in chunks, by
-- the caller. Refused when the epoch is no longer the one the operator saw (a late or
-- repeated request must not wipe a new sequence).
--
-- KEYS[1] lease      KEYS[2] position      KEYS[3] events stream      KEYS[4] deliveries
-- ARGV[1] token      ARGV[2] group         ARGV[3] expected epoch
-- Returns the new epoch.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('FENCED lease lost') end
local epoch = redis.call('HGET', KEYS[2], 'epoch') or '0'
if epoch ~= ARGV[3] then return redis.error_reply('STALE reset for epoch ' .. ARGV[3] .. ', the epoch is ' .. epoch) end
redis.call('XTRIM', KEYS[3], 'MAXLEN', 0)
redis.call('XGROUP', 'SETID', KEYS[3], ARGV[2], '$')
redis.call('DEL', KEYS[4])
local newEpoch = redis.call('HINCRBY', KEYS[2], 'epoch', 1)
redis.call('HSET', KEYS[2], 'nextSeq', 1, 'batchSeq', 0, 'trimId', '0-0', 'deliveryFloor', 0)
return newEpoch
