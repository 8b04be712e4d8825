import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LineSplitter } from '../src/line-splitter.ts';

function collect(maxLineBytes: number) {
  const lines: string[] = [];
  const oversized: number[] = [];
  const splitter = new LineSplitter(maxLineBytes, { line: (text) => lines.push(text), oversized: (bytes) => oversized.push(bytes) });
  return { lines, oversized, splitter };
}

test('accepts CRLF and LF, lines across reads and many lines per read', () => {
  const { lines, splitter } = collect(100);
  splitter.push(Buffer.from('1|B\r\n2|S|'));
  splitter.push(Buffer.from('3\n3|P|1|'));
  splitter.push(Buffer.from('2\r'));
  splitter.push(Buffer.from('\n'));
  assert.deepEqual(lines, ['1|B', '2|S|3', '3|P|1|2']);
  assert.equal(splitter.end(), undefined);
});

test('returns an unterminated last line instead of treating it as a line', () => {
  const { lines, splitter } = collect(100);
  splitter.push(Buffer.from('1|B\r\n2|S|4'));
  assert.deepEqual(lines, ['1|B']);
  assert.equal(splitter.end(), '2|S|4');
});

test('skips an oversized line without buffering it and goes on', () => {
  const { lines, oversized, splitter } = collect(8);
  splitter.push(Buffer.from('1|B\r\n' + 'x'.repeat(20)));
  splitter.push(Buffer.from('y'.repeat(20)));
  splitter.push(Buffer.from('\r\n2|B\n'));
  assert.deepEqual(lines, ['1|B', '2|B']);
  assert.deepEqual(oversized, [41]);
});

test('any split of the byte stream yields the same lines', () => {
  const line = fc.stringMatching(/^[0-9|A-Z]{0,12}$/);
  fc.assert(fc.property(fc.array(fc.tuple(line, fc.constantFrom('\r\n', '\n')), { maxLength: 30 }), fc.array(fc.nat(), { maxLength: 10 }), (parts, cuts) => {
    const bytes = Buffer.from(parts.map(([text, ending]) => text + ending).join(''));
    const { lines, splitter } = collect(64);
    let start = 0;
    for (const cut of [...cuts.map((c) => c % (bytes.length + 1))].sort((a, b) => a - b)) {
      splitter.push(bytes.subarray(start, cut));
      start = cut;
    }
    splitter.push(bytes.subarray(start));
    assert.deepEqual(lines, parts.map(([text]) => text));
  }));
});
