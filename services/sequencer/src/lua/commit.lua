-- One atomic step per batch: keep its deliveries in the delivery log, acknowledge the
-- stream entries it covers, apply the net follow-graph changes and record the new
-- position. All of it happens or none, so the committed position always matches the
-- graph, and a restarted sequencer neither loses nor repeats a delivery. A batch whose
-- deliveries fit in one part is published here too, in the same step; a larger one is
-- published afterwards in bounded parts (lua/publish.lua): one script publishing to
-- every online user would hold Redis for as long as that takes.
--
-- Refused (FENCED) unless the caller still holds the lease and its epoch, and the
-- stored position is the one the batch starts from: a sequencer whose memory is ahead
-- of Redis (Redis lost writes) or behind it (another one committed) must reload. A
-- resent script of a batch that was already committed changes nothing.
--
-- Lists travel packed, one string per section, so that no argument count grows with
-- the batch; every command built from them takes at most MEMBERS_PER_COMMAND values.
-- Every key the script writes is declared (a Redis Cluster routes a script by its keys
-- and checks them): the follow sets too, as many as the batch changes, which the
-- sequencer bounds (SEQUENCER_MAX_COMMIT_FOLLOW_KEYS). On a Redis Cluster nothing is
-- published here: the users' channels are spread over the masters, and ARGV[15] is ''.
--
-- KEYS[1] position   KEYS[2] events stream   KEYS[3] lease   KEYS[4] deliveries log
-- KEYS[5..] the follow sets the batch changes (the epoch's followers:<user> keys)
-- ARGV[1]  token               ARGV[2]  epoch
-- ARGV[3]  start nextSeq: the position the batch starts from
-- ARGV[4]  nextSeq after the batch
-- ARGV[5]  events in the batch (0: only acknowledgements)
-- ARGV[6]  consumer group      ARGV[7]  trimId: entries below it are acknowledged
-- ARGV[8]  deliveryFloor: log entries below it are received by every gateway
-- ARGV[9]  delivery log entry id (the batch's last sequence number)
-- ARGV[10] batch-end marker
-- ARGV[11] stream ids to acknowledge, separated by spaces
-- ARGV[12] follows added, one line per follow set: "<index in KEYS> <from> <from> ..."
-- ARGV[13] follows removed, the same layout
-- ARGV[14] deliveries, each "<userId> <byteLength>\n<message>", in the delivery log's layout
-- ARGV[15] '1' to publish the deliveries and the marker here, '' when they go in parts
-- ARGV[16] user channel prefix ARGV[17] batch-end channel
-- @include fence.lua
-- @include publish-deliveries.lua
local MEMBERS_PER_COMMAND = 1000

local fenced = fence(KEYS[3], ARGV[1], KEYS[1], ARGV[2])
if fenced then return redis.error_reply(fenced) end
local events = tonumber(ARGV[5])
local stored = redis.call('HGET', KEYS[1], 'nextSeq') or '1'
if stored ~= ARGV[3] then
  if events > 0 and stored == ARGV[4] then return 0 end
  return redis.error_reply('FENCED position is ' .. stored .. ', not ' .. ARGV[3])
end

-- The one write that can be refused (OOM, MISCONF) comes first: nothing is half done.
if events > 0 then
  redis.call('XADD', KEYS[4], ARGV[9], 'marker', ARGV[10], 'd', ARGV[14])
end

local function in_chunks(words, call)
  local chunk = {}
  for word in string.gmatch(words, '%S+') do
    chunk[#chunk + 1] = word
    if #chunk == MEMBERS_PER_COMMAND then
      call(chunk)
      chunk = {}
    end
  end
  if #chunk > 0 then call(chunk) end
end

local function per_set(lines, command)
  for index, members in string.gmatch(lines, '(%d+) ([^\n]+)') do
    local key = KEYS[tonumber(index)]
    in_chunks(members, function(values) redis.call(command, key, unpack(values)) end)
  end
end

in_chunks(ARGV[11], function(ids) redis.call('XACK', KEYS[2], ARGV[6], unpack(ids)) end)
per_set(ARGV[12], 'SADD')
per_set(ARGV[13], 'SREM')

redis.call('HSET', KEYS[1], 'nextSeq', ARGV[4], 'trimId', ARGV[7])
if events == 0 then return 1 end
redis.call('HSET', KEYS[1], 'batchSeq', tonumber(ARGV[4]) - 1, 'deliveryFloor', ARGV[8])
if ARGV[15] == '1' then publish_deliveries('PUBLISH', ARGV[16], ARGV[14], ARGV[17], ARGV[10]) end
return 1
