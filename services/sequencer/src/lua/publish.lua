-- Publishes one part of a committed batch's deliveries on the users' channels; the last
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

local fenced = fence(KEYS[1], ARGV[1], KEYS[2], ARGV[2])
if fenced then return redis.error_reply(fenced) end

local deliveries = ARGV[4]
local at = 1
while at <= #deliveries do
  local space = string.find(deliveries, ' ', at, true)
  local header_end = string.find(deliveries, '\n', space, true)
  local length = tonumber(string.sub(deliveries, space + 1, header_end - 1))
  redis.call('PUBLISH', ARGV[3] .. string.sub(deliveries, at, space - 1), string.sub(deliveries, header_end + 1, header_end + length))
  at = header_end + 1 + length
end
if ARGV[6] ~= '' then redis.call('PUBLISH', ARGV[5], ARGV[6]) end
return 1
