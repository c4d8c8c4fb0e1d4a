// The desired-state store on a real directory: atomic object files under names of
// any valid length, sequence numbers that survive a reopen, a journal that lets
// watchers resume, and writes the disk refuses (a full tmpfs, an immutable
// directory) that leave nothing behind.

import { test } from 'node:test';
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readdirSync, rmSync, appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, StoreWriteError, type Change } from '../../handler/store/store.js';
import { Journal, type RecordedChange } from '../../handler/store/journal.js';
import { AlreadyExistsError, NotFoundError } from '../../proto/errors.js';
import type { VirtualMachine, VirtualMachineInstance } from '../../proto/vmi/types.js';
import { fillDisk, tinyDisk } from './helpers/tiny-disk.js';

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

/** A valid DNS-subdomain name of the greatest length, 253: four labels joined by dots. */
function longName(c: string): string {
  return [c.repeat(63), c.repeat(63), c.repeat(63), c.repeat(61)].join('.');
}

function vm(name: string): VirtualMachine {
  return { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', metadata: { name }, spec: { runStrategy: 'Halted', template: { spec: { domain: { devices: {} } } } } };
}

test('a VM and a VMI with a 253-character name are stored and come back under that name', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vn-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const name = longName('a');
  assert.equal(name.length, 253);
  let store = await Store.open(dir);
  await store.create(vm(name)).durable;
  await store.create(vmi(name)).durable;
  await store.mutate<VirtualMachineInstance>('VirtualMachineInstance', 'default', name, (o) => {
    o.status = { phase: 'Running', conditions: [] };
  }).durable;
  await store.close();

  // The handler's restart: the same objects under the same name.
  store = await Store.open(dir);
  t.after(() => store.close());
  assert.equal(store.mustGet<VirtualMachine>('VirtualMachine', 'default', name).metadata.name, name);
  assert.equal(store.mustGet<VirtualMachineInstance>('VirtualMachineInstance', 'default', name).status?.phase, 'Running');
  assert.deepEqual(store.list('VirtualMachineInstance').map((o) => o.metadata.name), [name]);
  assert.equal(JSON.parse(store.getJSON('VirtualMachine', 'default', name)!.json).metadata.name, name);
  // One file each, named by a hash that fits with room for atomicWrite's temporary suffix.
  for (const kind of ['VirtualMachine', 'VirtualMachineInstance']) {
    const files = readdirSync(join(dir, 'objects', kind, 'default'));
    assert.equal(files.length, 1, files.join(' '));
    assert.match(files[0]!, /^_sha256_[0-9a-f]{64}\.json$/);
  }
});

test('a store written with names as file names loads, and a long name moves to its hashed file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vn-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // What the store wrote before names were hashed: <name>.json, which fitted up to
  // about 225 characters.
  const long = 'b'.repeat(63) + '.' + 'c'.repeat(63) + '.' + 'd'.repeat(63) + '.' + 'e'.repeat(20);
  assert.equal(long.length, 212);
  const objects = join(dir, 'objects', 'VirtualMachineInstance', 'default');
  mkdirSync(objects, { recursive: true });
  const old = (name: string, rv: number): VirtualMachineInstance => ({ ...vmi(name), metadata: { name, namespace: 'default', uid: `uid-${name.length}`, resourceVersion: String(rv), generation: 1 } });
  writeFileSync(join(objects, 'short.json'), JSON.stringify(old('short', 3)));
  writeFileSync(join(objects, `${long}.json`), JSON.stringify(old(long, 5)));

  let store = await Store.open(dir);
  assert.equal(store.seq, 5);
  assert.deepEqual(store.list('VirtualMachineInstance').map((o) => o.metadata.name).sort(), [long, 'short'].sort());
  const files = readdirSync(objects).sort();
  assert.equal(files.length, 2);
  assert.equal(files[1], 'short.json', 'a short DNS name keeps its own file name');
  assert.match(files[0]!, /^_sha256_[0-9a-f]{64}\.json$/);
  // A later write of the moved object replaces its one file: no stale twin to load.
  await store.mutate<VirtualMachineInstance>('VirtualMachineInstance', 'default', long, (o) => {
    o.spec.hostname = 'moved';
  }).durable;
  await store.close();
  assert.equal(readdirSync(objects).length, 2);
  store = await Store.open(dir);
  t.after(() => store.close());
  assert.equal(store.mustGet<VirtualMachineInstance>('VirtualMachineInstance', 'default', long).spec.hostname, 'moved');
  assert.equal(store.mustGet<VirtualMachineInstance>('VirtualMachineInstance', 'default', 'short').metadata.uid, 'uid-5');
});



const isStorageError = (what: RegExp) => (e: unknown): boolean => {
  assert.ok(e instanceof StoreWriteError, String(e));
  assert.equal(e.code, 'VN_STORAGE');
  assert.match(e.message, what);
  return true;
};

test('a change the disk cannot take is not made: no object, no change event, and the caller gets the cause', async (t) => {
  const disk = tinyDisk(t, '64k', 'vn-store-full-');
  if (!disk) return t.skip('cannot mount a tmpfs here (needs root)');
  const store = await Store.open(join(disk, 'store'));
  t.after(() => store.close());
  const seen: Change[] = [];
  store.on('change', (c: Change) => seen.push(c));
  const reported: Change[] = [];
  store.on('writeError', (_e: unknown, c: Change) => reported.push(c));
  await store.create(vmi('a')).durable;
  const seq = store.seq;
  fillDisk(join(disk, 'fill'));

  // A create: not there for anyone while it is written, and gone when it fails.
  const b = store.create(vmi('b'));
  assert.equal(store.get('VirtualMachineInstance', 'default', 'b'), undefined, 'nothing acts on an object before it is durable');
  assert.throws(() => store.create(vmi('b')), AlreadyExistsError, 'a second create of it waits for the first to settle');
  await assert.rejects(b.durable, isStorageError(/^VirtualMachineInstance default\/b was not created: the store could not write it: ENOSPC: no space left on device/));
  assert.equal(store.get('VirtualMachineInstance', 'default', 'b'), undefined);
  assert.deepEqual(store.list('VirtualMachineInstance').map((o) => o.metadata.name), ['a']);
  assert.deepEqual(store.listJSON('VirtualMachineInstance').map((o) => JSON.parse(o.json).metadata.name), ['a']);

  // Two updates, the second made on top of the first: both fail, and the writer
  // reads the object back as it is on disk.
  const first = store.mutate<VirtualMachineInstance>('VirtualMachineInstance', 'default', 'a', (o) => {
    o.status = { phase: 'Scheduling', conditions: [] };
  });
  // The first one's batch is under way: this one is written after it, in the next.
  await Promise.resolve();
  const second = store.mutate<VirtualMachineInstance>('VirtualMachineInstance', 'default', 'a', (o) => {
    assert.equal(o.status?.phase, 'Scheduling', 'a writer reads its own accepted change');
    o.status!.phase = 'Running';
  });
  await assert.rejects(first.durable, isStorageError(/^VirtualMachineInstance default\/a was not changed: .*ENOSPC/));
  await assert.rejects(second.durable, isStorageError(/was not changed: .*an earlier change of it failed: ENOSPC/));
  assert.equal(store.get<VirtualMachineInstance>('VirtualMachineInstance', 'default', 'a')!.status, undefined);
  assert.equal(store.get('VirtualMachineInstance', 'default', 'a')!.metadata.resourceVersion, String(seq));

  assert.equal(store.seq, seq, 'the watch position did not move');
  assert.deepEqual(store.since(seq - 1)!.map((c) => c.seq), [seq]);
  assert.deepEqual(seen.map((c) => [c.type, c.ref.name]), [['ADDED', 'a']], 'watchers and controllers heard of nothing that failed');
  assert.deepEqual(reported.map((c) => c.type), ['ADDED', 'MODIFIED', 'MODIFIED'], 'each failure is reported once');

  // Room again: the store goes on, and the failures left no trace on disk.
  rmSync(join(disk, 'fill'));
  await store.create(vmi('b')).durable;
  await store.mutate<VirtualMachineInstance>('VirtualMachineInstance', 'default', 'a', (o) => {
    o.status = { phase: 'Running', conditions: [] };
  }).durable;
  assert.deepEqual(seen.map((c) => [c.type, c.ref.name]), [['ADDED', 'a'], ['ADDED', 'b'], ['MODIFIED', 'a']]);
  await store.close();
  const reopened = await Store.open(join(disk, 'store'));
  t.after(() => reopened.close());
  assert.deepEqual(reopened.list<VirtualMachineInstance>('VirtualMachineInstance').map((o) => [o.metadata.name, o.status?.phase]), [['a', 'Running'], ['b', undefined]]);
  const journal = readFileSync(join(disk, 'store', 'journal.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as Change).type);
  assert.deepEqual(journal, ['ADDED', 'ADDED', 'MODIFIED']);
});

test('a delete the disk refuses leaves the object in place', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vn-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = await Store.open(dir);
  t.after(() => store.close());
  await store.create(vmi('a')).durable;
  const seen: Change[] = [];
  store.on('change', (c: Change) => seen.push(c));
  // An immutable directory: its files can be neither removed nor added (even by root).
  const ns = join(dir, 'objects', 'VirtualMachineInstance', 'default');
  try {
    execFileSync('chattr', ['+i', ns], { stdio: 'ignore' });
  } catch {
    return t.skip('chattr +i is not available here');
  }
  try {
    const gone = store.delete('VirtualMachineInstance', 'default', 'a');
    assert.equal(store.get('VirtualMachineInstance', 'default', 'a'), undefined, 'a writer reads its own delete');
    await assert.rejects(gone, isStorageError(/^VirtualMachineInstance default\/a was not deleted: the store could not write it: EPERM/));
  } finally {
    execFileSync('chattr', ['-i', ns]);
  }
  assert.equal(store.mustGet('VirtualMachineInstance', 'default', 'a').metadata.name, 'a', 'back as it is on disk');
  assert.equal(seen.length, 0);
  await store.delete('VirtualMachineInstance', 'default', 'a');
  assert.deepEqual(seen.map((c) => c.type), ['DELETED']);
});

test('a journal line the disk refused is written again: the file never skips a change', async (t) => {
  const disk = tinyDisk(t, '64k', 'vn-store-full-');
  if (!disk) return t.skip('cannot mount a tmpfs here (needs root)');
  const file = join(disk, 'journal.jsonl');
  let journal = await Journal.open(file, 16);
  const change = (seq: number, size: number): RecordedChange => ({ seq, type: 'EVENT', kind: 'Event', ref: {}, json: JSON.stringify({ pad: 'x'.repeat(size) }) });
  const c1 = change(1, 10);
  journal.record(c1);
  await journal.persist(c1);
  fillDisk(join(disk, 'fill'));
  // Longer than what is left of the file's last page: the append fails, perhaps halfway.
  const c2 = change(2, 8000);
  journal.record(c2);
  await assert.rejects(journal.persist(c2), /ENOSPC/);
  rmSync(join(disk, 'fill'));
  const c3 = change(3, 10);
  journal.record(c3);
  await journal.persist(c3);
  await journal.close();
  journal = await Journal.open(file, 16);
  assert.deepEqual(journal.all().map((c) => c.seq), [1, 2, 3]);
  assert.deepEqual(readFileSync(file, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { seq: number }).seq), [1, 2, 3]);
  await journal.close();
});

test('changes made together are written together, in order, and one object failing fails only its own', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vn-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let store = await Store.open(dir);
  const locked = { ...vmi('b'), metadata: { name: 'b', namespace: 'locked' } };
  await store.create(locked).durable;
  const seen: Change[] = [];
  store.on('change', (c: Change) => seen.push(c));
  const ns = join(dir, 'objects', 'VirtualMachineInstance', 'locked');
  try {
    execFileSync('chattr', ['+i', ns], { stdio: 'ignore' });
  } catch {
    return t.skip('chattr +i is not available here');
  }
  const results: Promise<unknown>[] = [];
  try {
    // One tick: a create and 50 updates of one object, interleaved with updates of
    // an object in a directory that refuses them, and Events.
    results.push(store.create(vmi('a')).durable);
    for (let i = 1; i <= 50; i++) {
      results.push(store.mutate<VirtualMachineInstance>('VirtualMachineInstance', 'locked', 'b', (o) => void (o.spec.hostname = `b${i}`)).durable);
      store.recordEvent({ reason: 'Tick', message: String(i), object: vmi('a') });
    }
    await store.flush();
    await Promise.all(results.slice(0, 1));
    for (let i = 1; i <= 50; i++) {
      const r = store.mutate<VirtualMachineInstance>('VirtualMachineInstance', 'default', 'a', (o) => void (o.spec.hostname = `a${i}`));
      results.push(r.durable);
    }
    await Promise.allSettled(results);
  } finally {
    execFileSync('chattr', ['-i', ns]);
  }
  const settled = await Promise.allSettled(results);
  assert.equal(settled[0]!.status, 'fulfilled', 'the create of a');
  assert.ok(settled.slice(1, 51).every((r) => r.status === 'rejected'), 'every update of b');
  assert.match(String((settled[1] as PromiseRejectedResult).reason), /locked\/b was not changed: the store could not write it: EPERM/);
  assert.ok(settled.slice(51).every((r) => r.status === 'fulfilled'), 'every update of a');
  // Listeners heard every durable change once, in sequence order, and nothing of b.
  assert.ok(seen.every((c, i) => i === 0 || c.seq > seen[i - 1]!.seq));
  assert.ok(!seen.some((c) => c.ref.name === 'b' && c.kind !== 'Event'));
  assert.equal(seen.filter((c) => c.type === 'EVENT').length, 50);
  assert.equal(seen.filter((c) => c.type === 'MODIFIED').length, 50);
  assert.equal(store.mustGet<VirtualMachineInstance>('VirtualMachineInstance', 'locked', 'b').spec.hostname, undefined);
  await store.close();
  store = await Store.open(dir);
  t.after(() => store.close());
  assert.equal(store.mustGet<VirtualMachineInstance>('VirtualMachineInstance', 'default', 'a').spec.hostname, 'a50', 'the last write of a is on disk');
  assert.equal(store.seq, seen.at(-1)!.seq);
  const journal = readFileSync(join(dir, 'journal.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as Change).seq);
  assert.deepEqual(journal.slice(1), seen.map((c) => c.seq), 'the journal holds exactly what listeners heard, in order');
});
