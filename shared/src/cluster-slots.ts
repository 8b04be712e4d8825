/**
 * Redis Cluster's key-to-slot mapping (CRC16-XMODEM of the key, or of its hash tag, mod
 * 16384), so that the services can name channels on a slot of their choosing: the batch
 * end markers go to one channel per master, on a slot that master serves.
 */
export const CLUSTER_SLOTS = 16_384;

const CRC16_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[byte] = crc;
  }
  return table;
})();

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >> 8) ^ byte) & 0xff]!;
  return crc;
}

/** The slot of a key or sharded channel: only the part in the first non-empty `{...}` counts, when there is one. */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  return crc16(Buffer.from(key)) % CLUSTER_SLOTS;
}

let tagsBySlot: string[] | undefined;

/**
 * A short hash tag (digits) whose slot is `slot`: `{<tag>}` in a name puts it there. The
 * table is filled once, by trying 0, 1, 2, … until every slot has its smallest tag
 * (about 180,000 tries, a few milliseconds), so every process finds the same tag.
 */
export function hashTagForSlot(slot: number): string {
  if (!tagsBySlot) {
    const tags: string[] = new Array(CLUSTER_SLOTS);
    let found = 0;
    for (let n = 0; found < CLUSTER_SLOTS; n++) {
      const tag = String(n);
      const tagSlot = keySlot(tag);
      if (tags[tagSlot] === undefined) {
        tags[tagSlot] = tag;
        found++;
      }
    }
    tagsBySlot = tags;
  }
  return tagsBySlot[slot]!;
}
