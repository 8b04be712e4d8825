-- Fencing, included by every script that moves the sequencer's state: the caller must
-- still hold the lease (its token) and still work on the epoch it loaded. A sequencer
-- paused past its lease, or one that loaded before an operator's reset, is refused.
-- Returns the refusal, or nil.
local function fence(leaseKey, token, positionKey, epoch)
  if redis.call('GET', leaseKey) ~= token then return 'FENCED lease lost' end
  if (redis.call('HGET', positionKey, 'epoch') or '0') ~= epoch then return 'FENCED epoch changed' end
  return nil
end
