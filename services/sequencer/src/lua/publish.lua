-- Publishes one part of a committed batch's deliveries on the users' channels (one Redis;
-- lua/sharded-publish.lua publishes on a Redis Cluster); the last
-- part of a batch also publishes its batch-end marker. The commit (lua/commit.lua) has
-- already kept the deliveries in the delivery log, so a part that is published twice
-- (a retry, a new term publishing the last batch again) is harmless: gateways drop
-- notifications by sequence number. Parts are cut so that no call keeps Redis busy
-- long, however many users one batch reaches.
--
-- Refused (FENCED) unless the caller still holds the lease and its epoch: what a
-- sequencer that lost its lease would publish late could overtake its successor's.
--
-- KEYS[1] lease   KEYS[2] position
-- ARGV[1] token   ARGV[2] epoch
-- ARGV[3] user channel prefix
-- ARGV[4] deliveries, each "<userId> <byteLength>\n<message>", in the delivery log's layout
-- ARGV[5] batch-end channel
-- ARGV[6] batch-end marker, or '' for a part that is not the batch's last
-- @include fence.lua
-- @include publish-deliveries.lua

local fenced = fence(KEYS[1], ARGV[1], KEYS[2], ARGV[2])
if fenced then return redis.error_reply(fenced) end

publish_deliveries('PUBLISH', ARGV[3], ARGV[4], ARGV[5], ARGV[6])
return 1
