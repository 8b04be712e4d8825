#!lua flags=allow-cross-slot-keys,allow-oom
-- Publishes on one master of a Redis Cluster one part of a committed batch's deliveries,
-- those whose users' channels (sharded channels) this master serves. Sent on the
-- master's own connection; the batch's marker follows later (see sharded-publisher.ts).
--
-- It declares no key: SPUBLISH's channels are its only names, and one call carries
-- channels of many slots (allow-cross-slot-keys). A channel whose slot this master does
-- not serve (the slot map changed) fails the call with "non local key"; the sequencer
-- then reads the slot map again and publishes the whole batch again. SPUBLISH stores
-- nothing, so a master at maxmemory still passes the deliveries on (allow-oom), as an
-- unflagged PUBLISH script does on one Redis. Not fenced: the lease lives on one master
-- only; gateways ignore markers of a term older than the newest they have seen.
--
-- ARGV[1] user channel prefix
-- ARGV[2] deliveries, each "<userId> <byteLength>\n<message>", in the delivery log's layout
-- @include publish-deliveries.lua

publish_deliveries('SPUBLISH', ARGV[1], ARGV[2], '', '')
return 1
