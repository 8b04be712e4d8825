-- Reads through the consumer group, only while the caller holds the lease: a read
-- moves the group's position, so a fenced sequencer must not do it.
--
-- KEYS[1] lease      KEYS[2] position      KEYS[3] events stream
-- ARGV[1] token      ARGV[2] epoch         ARGV[3] group      ARGV[4] consumer
-- ARGV[5] count      ARGV[6] id to read after ('>' for new entries, an id for pending ones)
-- @include fence.lua
local fenced = fence(KEYS[1], ARGV[1], KEYS[2], ARGV[2])
if fenced then return redis.error_reply(fenced) end
return redis.call('XREADGROUP', 'GROUP', ARGV[3], ARGV[4], 'COUNT', ARGV[5], 'STREAMS', KEYS[3], ARGV[6])
