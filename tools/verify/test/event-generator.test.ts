import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { EventType, formatPayload, newEvent, type Event } from '../src/event.ts';
import { EventGenerator, type GeneratorOptions } from '../src/event-generator.ts';

function generate(options: GeneratorOptions): Event[] {
  const generator = new EventGenerator(options);
  const events: Event[] = [];
  for (let event = newEvent(); generator.next(event); event = newEvent()) events.push(event);
  return events;
}

/** The grammar of protocol.md, written independently of the encoder. */
const PAYLOAD_GRAMMAR = /^([1-9]\d*)\|(?:(B)|(S)\|([1-9]\d*)|([FUP])\|([1-9]\d*)\|([1-9]\d*))$/;

describe('EventGenerator', () => {
  it('produces the same events for the same seed and different ones for another seed', () => {
    const options = { randomSeed: 666, totalEvents: 2000, numberOfUsers: 50 };
    const payloads = generate(options).map(formatPayload);
    assert.deepEqual(generate(options).map(formatPayload), payloads);
    assert.notDeepEqual(generate({ ...options, randomSeed: 667 }).map(formatPayload), payloads);
  });

  it('spells payloads exactly like protocol.md', () => {
    assert.equal(formatPayload({ seq: 666, type: EventType.Follow, from: 60, to: 50 }), '666|F|60|50');
    assert.equal(formatPayload({ seq: 1, type: EventType.Unfollow, from: 12, to: 9 }), '1|U|12|9');
    assert.equal(formatPayload({ seq: 542532, type: EventType.Broadcast, from: 0, to: 0 }), '542532|B');
    assert.equal(formatPayload({ seq: 43, type: EventType.PrivateMessage, from: 32, to: 56 }), '43|P|32|56');
    assert.equal(formatPayload({ seq: 634, type: EventType.StatusUpdate, from: 32, to: 0 }), '634|S|32');
  });

  it('numbers events densely from 1 and payloads round-trip the grammar within the user range', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }),
        fc.integer({ min: 1, max: 3000 }),
        fc.integer({ min: 2, max: 500 }),
        (randomSeed, totalEvents, numberOfUsers) => {
          const events = generate({ randomSeed, totalEvents, numberOfUsers });
          assert.deepEqual(
            events.map((event) => event.seq),
            Array.from({ length: totalEvents }, (_, index) => index + 1),
          );
          for (const event of events) {
            const payload = formatPayload(event);
            const match = PAYLOAD_GRAMMAR.exec(payload);
            assert.ok(match, `${payload} breaks the grammar`);
            const [, seq, broadcastType, statusType, statusFrom, pairType, pairFrom, pairTo] = match;
            const parsed: Event = {
              seq: Number(seq),
              type: (broadcastType ?? statusType ?? pairType)!.charCodeAt(0) as EventType,
              from: Number(statusFrom ?? pairFrom ?? 0),
              to: Number(pairTo ?? 0),
            };
            assert.deepEqual(parsed, event, `${payload} does not round-trip`);
            const users = [parsed.from, parsed.to].filter((id) => id !== 0);
            assert.ok(users.every((id) => id <= numberOfUsers), `${payload} names a user beyond ${numberOfUsers}`);
            if (pairType !== undefined) assert.notEqual(parsed.from, parsed.to, `${payload} relates a user to itself`);
          }
        },
      ),
      { numRuns: 50 },
    );
  });

  it('mostly unfollows existing follows and mixes all five types', () => {
    const follows = new Set<string>();
    const typeCounts = new Map<EventType, number>();
    let unfollowsOfExistingFollows = 0;
    for (const event of generate({ randomSeed: 666, totalEvents: 100_000, numberOfUsers: 1000 })) {
      typeCounts.set(event.type, (typeCounts.get(event.type) ?? 0) + 1);
      const edge = `${event.from}>${event.to}`;
      if (event.type === EventType.Follow) follows.add(edge);
      if (event.type === EventType.Unfollow && follows.delete(edge)) unfollowsOfExistingFollows++;
    }
    assert.equal(typeCounts.size, 5);
    const unfollows = typeCounts.get(EventType.Unfollow)!;
    assert.ok(unfollowsOfExistingFollows > 0.85 * unfollows, `${unfollowsOfExistingFollows} of ${unfollows}`);
    assert.ok(typeCounts.get(EventType.StatusUpdate)! > typeCounts.get(EventType.Follow)!);
  });
});
