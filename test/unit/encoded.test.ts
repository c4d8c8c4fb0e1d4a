import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EncodedCache, passEncoded } from '../../handler/api/encoded.js';
import { handlerPackage } from '../../proto/rpc.js';

test('EncodedCache: encodes once per version, again on a new version, evicts the oldest past its size', () => {
  const cache = new EncodedCache(2);
  let encodes = 0;
  const enc = (s: string) => () => {
    encodes++;
    return Buffer.from(s);
  };
  assert.equal(cache.get('a', 1, enc('a1')).toString(), 'a1');
  assert.equal(cache.get('a', 1, enc('never')).toString(), 'a1');
  assert.equal(encodes, 1);
  assert.equal(cache.get('a', 2, enc('a2')).toString(), 'a2', 'a new version is encoded anew');
  cache.get('b', 1, enc('b1'));
  cache.get('c', 1, enc('c1'));
  assert.equal(cache.size, 2);
  assert.equal(cache.get('a', 2, enc('a2 again')).toString(), 'a2 again', 'the oldest entry (a) was evicted');
  assert.equal(cache.get('c', 1, enc('never')).toString(), 'c1');
});

test('passEncoded: bytes go out as they are, objects through the method\'s own serializer', () => {
  const def = passEncoded(handlerPackage().Node.service);
  const get = def.Get!;
  const obj = { kind: 'VirtualMachineInstance', json: '{"a":1}', resourceVersion: 7 };
  const bytes = handlerPackage().Node.service.Get!.responseSerialize(obj);
  assert.deepEqual(get.responseSerialize(obj), bytes);
  assert.equal(get.responseSerialize(bytes), bytes);
  assert.deepEqual(get.responseDeserialize(bytes), { kind: 'VirtualMachineInstance', json: '{"a":1}', resourceVersion: 7 });
});
