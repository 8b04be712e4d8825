import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseEvent, sequenceOf, type EventType } from '../src/event.ts';

test('parses each event type of protocol.md', () => {
  assert.deepEqual(parseEvent('666|F|60|50'), { ok: true, event: { seq: 666, type: 'F', from: 60, to: 50, payload: '666|F|60|50' } });
  assert.deepEqual(parseEvent('1|U|12|9'), { ok: true, event: { seq: 1, type: 'U', from: 12, to: 9, payload: '1|U|12|9' } });
  assert.deepEqual(parseEvent('542532|B'), { ok: true, event: { seq: 542532, type: 'B', from: 0, to: 0, payload: '542532|B' } });
  assert.deepEqual(parseEvent('43|P|32|56'), { ok: true, event: { seq: 43, type: 'P', from: 32, to: 56, payload: '43|P|32|56' } });
  assert.deepEqual(parseEvent('634|S|32'), { ok: true, event: { seq: 634, type: 'S', from: 32, to: 0, payload: '634|S|32' } });
});

test('rejects malformed lines with a reason', () => {
  for (const line of ['', 'hello', '0|B', '-1|B', '01|B', '1|X', '1|F|2', '1|F|2|3|4', '1|B|2', '1|S', '1|S|a', '1|P|2|', '1 |B', '1|b',
    '99999999999999999|B', '1|F|0|2']) {
    const result = parseEvent(line);
    assert.equal(result.ok, false, `accepted ${JSON.stringify(line)}`);
    if (!result.ok) assert.ok(result.reason.length > 0);
  }
});

const eventArbitrary = fc.record({
  seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  type: fc.constantFrom<EventType>('F', 'U', 'B', 'P', 'S'),
  from: fc.integer({ min: 1, max: 2 ** 31 }),
  to: fc.integer({ min: 1, max: 2 ** 31 }),
});

test('every well-formed payload round-trips unchanged', () => {
  fc.assert(fc.property(eventArbitrary, ({ seq, type, from, to }) => {
    const payload = type === 'B' ? `${seq}|B` : type === 'S' ? `${seq}|S|${from}` : `${seq}|${type}|${from}|${to}`;
    const result = parseEvent(payload);
    assert.ok(result.ok);
    assert.equal(result.event.payload, payload);
    assert.equal(result.event.seq, seq);
    assert.equal(sequenceOf(payload), seq);
  }));
});

/** The grammar as a regular expression: slow, but obviously right. */
const GRAMMAR = /^([1-9][0-9]{0,15})\|(?:(B)|(S)\|([1-9][0-9]{0,15})|([FUP])\|([1-9][0-9]{0,15})\|([1-9][0-9]{0,15}))$/;

test('agrees with the grammar written as a regular expression', () => {
  const alphabet = fc.constantFrom('0', '1', '7', '9', '|', 'B', 'F', 'U', 'P', 'S', 'X', ' ');
  fc.assert(fc.property(fc.array(alphabet, { maxLength: 14 }).map((chars) => chars.join('')), (line) => {
    const match = GRAMMAR.exec(line);
    const valid = match !== null && [1, 4, 6, 7].every((g) => match[g] === undefined || Number(match[g]) <= Number.MAX_SAFE_INTEGER);
    assert.equal(parseEvent(line).ok, valid, JSON.stringify(line));
  }), { numRuns: 20_000 });
});

test('never throws on arbitrary input', () => {
  fc.assert(fc.property(fc.string(), (line) => {
    parseEvent(line);
  }));
});
