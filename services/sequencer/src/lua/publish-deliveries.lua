-- Publishing, included by the scripts that publish a batch's deliveries: each delivery
-- of a packed run ("<userId> <byteLength>\n<message>", the delivery log's layout) on
-- its user's channel, then, when there is one, the batch-end marker. `command` is
-- PUBLISH on one Redis, SPUBLISH (sharded channels) on a Redis Cluster.
local function publish_deliveries(command, channel_prefix, deliveries, batch_end_channel, marker)
  local at = 1
  while at <= #deliveries do
    local space = string.find(deliveries, ' ', at, true)
    local header_end = string.find(deliveries, '\n', space, true)
    local length = tonumber(string.sub(deliveries, space + 1, header_end - 1))
    redis.call(command, channel_prefix .. string.sub(deliveries, at, space - 1), string.sub(deliveries, header_end + 1, header_end + length))
    at = header_end + 1 + length
  end
  if marker ~= '' then redis.call(command, batch_end_channel, marker) end
end
