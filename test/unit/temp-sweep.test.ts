// A handler killed mid-write leaves atomicWrite's temporary files behind; the next
// start removes them from the store, the IPAM book, the pod records and the image
// index, and leaves every real file alone.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../handler/store/store.js';
import { Ipam } from '../../handler/network/ipam.js';
import { parseCidr } from '../../handler/network/ipv4.js';
import { ContentStore } from '../../handler/images/store.js';
import { sweepTemporaries } from '../../handler/store/fsutil.js';

const LEFTOVER = (file: string): string => `${file}.4242.a1b2c3d4e5f6.tmp`;

test('the store, the IPAM book and the image index drop leftover temporaries at open', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vn-sweep-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));

  const objects = join(dir, 'store', 'objects', 'VirtualMachine', 'default');
  mkdirSync(objects, { recursive: true });
  writeFileSync(join(objects, LEFTOVER('vm-a.json')), '{"half');
  const store = await Store.open(join(dir, 'store'));
  await store.close();
  assert.deepEqual(readdirSync(objects), []);

  mkdirSync(join(dir, 'network'));
  writeFileSync(join(dir, 'network', LEFTOVER('ipam.json')), '{');
  await Ipam.open(join(dir, 'network', 'ipam.json'), parseCidr('10.250.9.0/24')!, ['10.250.9.1']);
  assert.deepEqual(readdirSync(join(dir, 'network')), ['ipam.json']);

  mkdirSync(join(dir, 'images'));
  writeFileSync(join(dir, 'images', `index.json.${'0'.repeat(8)}-1111-2222-3333-444444444444.tmp`), '{');
  await ContentStore.open(join(dir, 'images'));
  assert.ok(!readdirSync(join(dir, 'images')).some((n) => n.endsWith('.tmp')), readdirSync(join(dir, 'images')).join(' '));
});

test('only temporaries go: a user file ending in .tmp without our stamp stays', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vn-sweep-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'notes.tmp'), 'x');
  writeFileSync(join(dir, 'runtime.json'), '{}');
  writeFileSync(join(dir, LEFTOVER('runtime.json')), '{');
  assert.deepEqual(await sweepTemporaries(dir), [LEFTOVER('runtime.json')]);
  assert.deepEqual(readdirSync(dir).sort(), ['notes.tmp', 'runtime.json']);
});
