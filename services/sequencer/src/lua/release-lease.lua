-- Gives the lease up, if it is still the caller's, so that a standby takes over at once.
--
-- KEYS[1] lease      ARGV[1] token
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
