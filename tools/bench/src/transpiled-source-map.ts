import { register } from 'node:module';
import { TRANSPILED_SOURCE_PARAM } from './transpiled-source-hooks.ts';

const BASE64_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const VLQ_CONTINUATION_BIT = 32;
const VLQ_VALUE_MASK = 31;
const VLQ_SHIFT_BITS = 5;
const INLINE_SOURCE_MAP = /\/\/# sourceMappingURL=data:application\/json;base64,([A-Za-z0-9+/=]+)\s*$/;

/** One decoded mapping segment: a generated column and the 0-based source line it comes from. */
interface Segment {
  readonly generatedColumn: number;
  readonly sourceLine: number;
}

/**
 * Where a position in a CPU profile lies in the TypeScript source. The services run
 * through tsx, which compiles each file to whitespace-minified JavaScript, so the
 * profile's line and column point into that output; tsx's inline source map leads back.
 * The code is obtained by asking tsx to compile the file again, in this process, through
 * transpiled-source-hooks.ts: same tsx, same Node, same options, hence the same output
 * as long as the file has not been edited since the run.
 */
export class TranspiledSourceMaps {
  private readonly maps = new Map<string, Promise<Segment[][] | undefined>>();
  private hooksRegistered = false;

  /** 1-based source line of a 0-based generated position, or undefined when there is no map. */
  async sourceLine(fileUrl: string, line: number, column: number): Promise<number | undefined> {
    let map = this.maps.get(fileUrl);
    if (map === undefined) {
      map = this.load(fileUrl);
      this.maps.set(fileUrl, map);
    }
    const segments = (await map)?.[line];
    if (segments === undefined || segments.length === 0) return undefined;
    // The last segment that starts at or before the column covers it.
    let found = segments[0]!;
    for (const segment of segments) {
      if (segment.generatedColumn > column) break;
      found = segment;
    }
    return found.sourceLine + 1;
  }

  private async load(fileUrl: string): Promise<Segment[][] | undefined> {
    if (!this.hooksRegistered) {
      register(new URL('./transpiled-source-hooks.ts', import.meta.url));
      this.hooksRegistered = true;
    }
    const request = new URL(fileUrl);
    request.searchParams.set(TRANSPILED_SOURCE_PARAM, '');
    try {
      const { default: code } = (await import(request.href)) as { default: string };
      const inline = INLINE_SOURCE_MAP.exec(code);
      if (!inline) return undefined;
      const map = JSON.parse(Buffer.from(inline[1]!, 'base64').toString('utf8')) as { mappings: string };
      return decodeMappings(map.mappings);
    } catch {
      return undefined; // Deleted or no longer compiles: the caller prints the file without a line.
    }
  }
}

/** Source map v3 `mappings`: lines split by `;`, segments by `,`, each a run of base64 VLQs. */
function decodeMappings(mappings: string): Segment[][] {
  const lines: Segment[][] = [];
  // Only the source line is needed; it is relative to the previous segment across lines.
  let sourceLine = 0;
  for (const line of mappings.split(';')) {
    const segments: Segment[] = [];
    let generatedColumn = 0;
    for (const encoded of line.split(',')) {
      if (encoded === '') continue;
      const fields = decodeVlqs(encoded);
      generatedColumn += fields[0] ?? 0;
      if (fields.length < 4) continue; // A segment that maps to no source.
      sourceLine += fields[2]!;
      segments.push({ generatedColumn, sourceLine });
    }
    lines.push(segments);
  }
  return lines;
}

function decodeVlqs(encoded: string): number[] {
  const values: number[] = [];
  let value = 0;
  let shift = 0;
  for (const char of encoded) {
    const digit = BASE64_DIGITS.indexOf(char);
    value += (digit & VLQ_VALUE_MASK) << shift;
    if (digit & VLQ_CONTINUATION_BIT) {
      shift += VLQ_SHIFT_BITS;
      continue;
    }
    // The lowest bit is the sign.
    values.push(value & 1 ? -(value >>> 1) : value >>> 1);
    value = 0;
    shift = 0;
  }
  return values;
}
