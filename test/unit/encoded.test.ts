import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { EncodedCache, EncodedMessage } from '../../handler/api/encoded.js';
import { handlerPackage } from '../../proto/rpc.js';

test('EncodedCache: encodes once per version, again on a new version, evicts the oldest past its size', () => {
  const cache = new EncodedCache(2);
  let encodes = 0;
  const enc = (s: string) => () => {
    encodes++;
    return Buffer.from(s);
  };
  assert.equal(cache.get('a', 1, enc('a1')).bytes.toString(), 'a1');
  assert.equal(cache.get('a', 1, enc('never')).bytes.toString(), 'a1');
  assert.equal(encodes, 1);
  assert.equal(cache.get('a', 2, enc('a2')).bytes.toString(), 'a2', 'a new version is encoded anew');
  cache.get('b', 1, enc('b1'));
  cache.get('c', 1, enc('c1'));
  assert.equal(cache.size, 2);
  assert.equal(cache.get('a', 2, enc('a2 again')).bytes.toString(), 'a2 again', 'the oldest entry (a) was evicted');
  assert.equal(cache.get('c', 1, enc('never')).bytes.toString(), 'c1');
});

test('EncodedMessage: its gzip form is made once and unpacks to the same bytes', () => {
  const bytes = handlerPackage().Node.service.List!.responseSerialize({ objects: Array.from({ length: 50 }, (_, i) => ({ kind: 'VirtualMachineInstance', json: `{"metadata":{"name":"vm-${i}"}}`, resourceVersion: i })), resourceVersion: 50 });
  const m = new EncodedMessage(bytes);
  const z = m.gzip();
  assert.equal(m.gzip(), z, 'the same buffer: compressed once');
  assert.ok(z.length < bytes.length / 4, `${z.length} of ${bytes.length} bytes`);
  assert.deepEqual(gunzipSync(z), bytes);
});
