-- Extends the lease only while it still holds the caller's token: a lapsed lease is
-- never taken back by renewing.
--
-- KEYS[1] lease      ARGV[1] token      ARGV[2] ttl in ms
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
