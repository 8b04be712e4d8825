import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { LineReader, MAX_LINE_BYTES, type LineSink } from '../src/line-reader.ts';

class RecordingSink implements LineSink {
  readonly lines: string[] = [];
  readonly overlongPrefixes: string[] = [];
  line(bytes: Uint8Array, start: number, end: number, endsWithCrLf: boolean): void {
    this.lines.push(Buffer.from(bytes.subarray(start, end)).toString('latin1') + (endsWithCrLf ? '<CRLF>' : '<LF>'));
  }
  overlong(prefix: Uint8Array): void {
    this.overlongPrefixes.push(Buffer.from(prefix).toString('latin1'));
  }
}

function read(chunks: string[]): RecordingSink {
  const sink = new RecordingSink();
  const reader = new LineReader(sink);
  for (const chunk of chunks) reader.push(Buffer.from(chunk, 'latin1'));
  return sink;
}

describe('LineReader', () => {
  it('hands out many lines from one chunk and flags bare LF', () => {
    assert.deepEqual(read(['1|B\r\n2|S|3\n3|P|1|2\r\n']).lines, ['1|B<CRLF>', '2|S|3<LF>', '3|P|1|2<CRLF>']);
  });

  it('joins lines split across chunks, even between CR and LF', () => {
    assert.deepEqual(read(['1|', 'B\r', '\n2|S', '|3\r\n']).lines, ['1|B<CRLF>', '2|S|3<CRLF>']);
  });

  it('yields the same lines however the stream is cut', () => {
    const stream = '10|F|1|2\r\n11|B\r\n12|S|7\n13|P|3|4\r\n';
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: stream.length - 1 })), (cuts) => {
        const bounds = [0, ...cuts.sort((a, b) => a - b), stream.length];
        const chunks = bounds.slice(1).map((end, index) => stream.slice(bounds[index], end));
        assert.deepEqual(read(chunks).lines, ['10|F|1|2<CRLF>', '11|B<CRLF>', '12|S|7<LF>', '13|P|3|4<CRLF>']);
      }),
    );
  });

  it('reports an endless line once and resumes after its LF', () => {
    const endless = 'x'.repeat(MAX_LINE_BYTES + 10);
    const sink = read(['1|B\r\n', endless.slice(0, 100), endless.slice(100), 'more\r\n2|B\r\n']);
    assert.deepEqual(sink.lines, ['1|B<CRLF>', '2|B<CRLF>']);
    assert.deepEqual(sink.overlongPrefixes, ['x'.repeat(MAX_LINE_BYTES)]);
  });
});
