// A write that fails on a full disk must take its temporary file with it: the
// temporary holds the very space the next write needs, and only the next start
// would sweep it. atomicWrite (the store, IPAM, pod records) and the image store's
// blobs and index, each on a full 64 KiB tmpfs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { atomicWrite } from '../../handler/store/fsutil.js';
import { ContentStore } from '../../handler/images/store.js';
import { fillDisk, tinyDisk } from './helpers/tiny-disk.js';



/** Every file under `dir`, recursively, relative to it. */
function files(dir: string, prefix = ''): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n), `${prefix}${n}/`) : [`${prefix}${n}`]));
}

test('atomicWrite on a full disk fails with ENOSPC and leaves the old file and no temporary', async (t) => {
  const disk = tinyDisk(t, '64k');
  if (!disk) return t.skip('cannot mount a tmpfs here (needs root)');
  const file = join(disk, 'record.json');
  await atomicWrite(file, '{"old":true}');
  fillDisk(join(disk, 'fill'));
  await assert.rejects(atomicWrite(file, Buffer.alloc(16 * 1024, 0x61)), { code: 'ENOSPC' });
  assert.deepEqual(files(disk).sort(), ['fill', 'record.json']);
});

test('the image store on a full disk: a failed blob or index write leaves no temporary', async (t) => {
  const disk = tinyDisk(t, '64k');
  if (!disk) return t.skip('cannot mount a tmpfs here (needs root)');
  const store = await ContentStore.open(join(disk, 'images'));
  const before = files(disk).sort();
  fillDisk(join(disk, 'fill'));

  const bytes = Buffer.alloc(16 * 1024, 0x62);
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  await assert.rejects(store.writeBlob(digest, bytes), { code: 'ENOSPC' });
  assert.equal(await store.hasBlob(digest), false);

  await assert.rejects(
    store.update((index) => {
      index.references['example.org/big:tag'] = 'sha256:'.padEnd(16 * 1024, '0');
    }),
    { code: 'ENOSPC' },
  );
  assert.equal(store.byReference('example.org/big:tag'), undefined, 'the index in memory is the one on disk');
  assert.deepEqual(files(disk).sort(), [...before, 'fill'].sort());
});
