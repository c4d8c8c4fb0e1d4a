// The desired-state store on a real directory: atomic object files, sequence
// numbers that survive a reopen, and a journal that lets watchers resume.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, appendFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, type Change } from '../../handler/store/store.js';
import { AlreadyExistsError, NotFoundError } from '../../proto/errors.js';
import type { VirtualMachineInstance } from '../../proto/vmi/types.js';

function vmi(name: string): VirtualMachineInstance {
  return { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance', metadata: { name }, spec: { domain: { devices: {} } } };
}

test('objects, sequence numbers and the journal survive a reopen', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vn-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));

  let store = await Store.open(dir, { journalSize: 4 });
  const seen: Change[] = [];
  store.on('change', (c: Change) => seen.push(c));
  const a = store.create(vmi('a'));
  await a.durable;
  assert.equal(a.object.metadata.namespace, 'default');
  assert.match(a.object.metadata.uid!, /^[0-9a-f-]{36}$/);
  assert.equal(a.object.metadata.resourceVersion, '1');
  assert.throws(() => store.create(vmi('a')), AlreadyExistsError);

  const upd = store.mutate<VirtualMachineInstance>('VirtualMachineInstance', 'default', 'a', (o) => {
    o.status = { phase: 'Running', conditions: [] };
  });
  await upd.durable;
  assert.equal(upd.object.metadata.generation, 1, 'a status-only change keeps the generation');
  const spec = store.mutate<VirtualMachineInstance>('VirtualMachineInstance', 'default', 'a', (o) => {
    o.spec.hostname = 'x';
  });
  assert.equal(spec.object.metadata.generation, 2);
  await store.create(vmi('b')).durable;
  store.recordEvent({ reason: 'Started', message: 'VMI started', object: vmi('b') });
  await store.delete('VirtualMachineInstance', 'default', 'b');
  assert.deepEqual(seen.map((c) => [c.seq, c.type]), [[1, 'ADDED'], [2, 'MODIFIED'], [3, 'MODIFIED'], [4, 'ADDED'], [5, 'EVENT'], [6, 'DELETED']]);
  assert.equal(store.since(3)!.length, 3);
  // The journal keeps what a resuming watcher is sent and filters on, not the parsed
  // objects: the JSON, and the namespace/name (an Event's: its involved object's).
  const b = { namespace: 'default', name: 'b' };
  assert.deepEqual(store.since(3)!.map((c) => c.ref), [b, b, b]);
  assert.ok(store.since(3)!.every((c) => !('object' in c) && (JSON.parse(c.json) as { kind: string }).kind === c.kind));
  assert.equal(store.since(1), undefined, 'older than the journal holds (size 4)');
  assert.deepEqual(store.since(6), []);
  await store.close();

  // Reopen: the same objects, the sequence continues, the journal tail is back.
  store = await Store.open(dir, { journalSize: 4 });
  assert.equal(store.seq, 6);
  const got = store.mustGet<VirtualMachineInstance>('VirtualMachineInstance', 'default', 'a');
  assert.equal(got.status?.phase, 'Running');
  assert.equal(got.spec.hostname, 'x');
  assert.throws(() => store.mustGet('VirtualMachineInstance', 'default', 'b'), NotFoundError);
  assert.deepEqual(store.since(4)!.map((c) => c.seq), [5, 6]);
  assert.deepEqual(store.since(4)!.map((c) => c.ref), [b, b], 'read back from the journal file');
  const c = store.create(vmi('c'));
  assert.equal(c.object.metadata.resourceVersion, '7');
  await store.close();
  assert.deepEqual(readdirSync(join(dir, 'objects', 'VirtualMachineInstance', 'default')).sort(), ['a.json', 'c.json']);
});

test('a torn journal line from a crash is dropped, and a journal behind the objects forces a relist', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vn-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let store = await Store.open(dir);
  await store.create(vmi('a')).durable;
  await store.create(vmi('b')).durable;
  await store.close();
  // Simulate a crash mid-append, and an object written whose journal line was lost.
  appendFileSync(join(dir, 'journal.jsonl'), '{"seq":3,"type":"ADD');
  const f = join(dir, 'objects', 'VirtualMachineInstance', 'default', 'b.json');
  const b = JSON.parse(readFileSync(f, 'utf8'));
  b.metadata.resourceVersion = '3';
  const { writeFileSync } = await import('node:fs');
  writeFileSync(f, JSON.stringify(b));
  store = await Store.open(dir);
  t.after(() => store.close());
  assert.equal(store.seq, 3);
  assert.deepEqual(store.since(2), undefined, 'change 3 is not in the journal: watchers must relist');
  assert.deepEqual(store.since(3), []);
});

test('listeners see changes in sequence order even when a listener changes the store', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vn-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = await Store.open(dir);
  t.after(() => store.close());
  // Like a controller that reconciles synchronously inside the notification.
  store.on('change', (c: Change) => {
    if (c.type === 'ADDED') store.recordEvent({ reason: 'Seen', message: 'seen', object: c.object as VirtualMachineInstance });
  });
  const seen: number[] = [];
  store.on('change', (c: Change) => seen.push(c.seq));
  await store.create(vmi('a')).durable;
  await store.create(vmi('b')).durable;
  await store.flush();
  assert.deepEqual(seen, [1, 2, 3, 4]);
  const lines = readFileSync(join(dir, 'journal.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as Change).seq);
  assert.deepEqual(lines, [1, 2, 3, 4], 'the journal file is in order too');
});
