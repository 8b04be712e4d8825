import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeGatewayLoad, encodeGatewayLoad } from '../src/gateway-load.ts';

test("a gateway's load reads back with the heartbeat's stamp the script puts in front", () => {
  const encoded = encodeGatewayLoad({ clients: 14_285, unsentBytes: 1_048_576, notificationsWritten: 9_007_199_254_740_991 });
  assert.equal(encoded, '14285 1048576 9007199254740991');
  assert.deepEqual(decodeGatewayLoad(`1796000463000 ${encoded}`), {
    atMs: 1_796_000_463_000, clients: 14_285, unsentBytes: 1_048_576, notificationsWritten: 9_007_199_254_740_991,
  });
});

test('anything else is no load', () => {
  for (const text of ['', '1796000463000', '1796000463000 1 2', '1796000463000 1 2 3 4', '1796000463000 1 -2 3', '1796000463000 1 2.5 3', '1e3 1 2 3', 'a b c d']) {
    assert.equal(decodeGatewayLoad(text), undefined, JSON.stringify(text));
  }
});
