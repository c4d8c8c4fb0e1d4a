// Overlays and empty disks with the real qemu-img.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createEmptyDisk, createOverlay, removeOverlay } from '../../handler/images/overlay.js';
import { makeTmp } from './helpers/registry.js';

const run = promisify(execFile);
let tmp: string;
let store: string;

before(async () => {
  tmp = await makeTmp('vn-images-overlay-');
  store = join(tmp, 'store');
  await mkdir(store);
});

after(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function info(path: string): Promise<Record<string, unknown>> {
  const { stdout } = await run('qemu-img', ['info', '--output=json', '-U', path]);
  return JSON.parse(stdout) as Record<string, unknown>;
}

test('an overlay over a raw or qcow2 base records its backing file and format; odd file names are safe', async () => {
  const raw = join(store, 'base, with comma.raw');
  await writeFile(raw, Buffer.alloc(2 << 20));
  const qcow = join(store, 'base.qcow2');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', qcow, '3M']);
  for (const [base, format, size] of [[raw, 'raw', 2 << 20], [qcow, 'qcow2', 3 << 20]] as const) {
    const path = join(tmp, `-vm a,file=x ${format}.qcow2`);
    const o = await createOverlay(base, path, { allowedRoot: store });
    assert.deepEqual(o, { path, format: 'qcow2', backing: { path: base, format } });
    const i = await info(path);
    assert.equal(i.format, 'qcow2');
    assert.equal(i['backing-filename'], base);
    assert.equal(i['backing-filename-format'], format);
    assert.equal(i['virtual-size'], size);
    await removeOverlay(path);
    await assert.rejects(stat(path), /ENOENT/);
  }
  await removeOverlay(join(tmp, 'never-existed.qcow2')); // idempotent
});

test('bases outside the store, with foreign backing files, external data files or other formats are refused', async () => {
  const outside = join(tmp, 'outside.qcow2');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', outside, '1M']);
  await assert.rejects(createOverlay(outside, join(tmp, 'o1.qcow2'), { allowedRoot: store }), /disk .*outside\.qcow2: .*outside\.qcow2 is outside the image store/);

  const chained = join(store, 'chained.qcow2');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', outside, chained]);
  await assert.rejects(createOverlay(chained, join(tmp, 'o2.qcow2'), { allowedRoot: store }), /backing file .*outside\.qcow2 of .*chained\.qcow2: .* is outside the image store/);

  // A symlink in the store pointing out of it is judged by where it leads.
  const link = join(store, 'link.qcow2');
  await run('ln', ['-s', outside, link]);
  await assert.rejects(createOverlay(link, join(tmp, 'o3.qcow2'), { allowedRoot: store }), /is outside the image store/);

  const withData = join(store, 'data.qcow2');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', `data_file=${join(tmp, 'data.raw')}`, withData, '1M']);
  await assert.rejects(createOverlay(withData, join(tmp, 'o4.qcow2'), { allowedRoot: store }), /external data files are not allowed/);

  const vmdk = join(store, 'disk.vmdk');
  await run('qemu-img', ['create', '-q', '-f', 'vmdk', vmdk, '1M']);
  await assert.rejects(createOverlay(vmdk, join(tmp, 'o5.qcow2'), { allowedRoot: store }), /format vmdk is not supported \(raw or qcow2 only\)/);
  // Told the format, qemu-img does not probe: a vmdk read as raw is just bytes.
  const o = await createOverlay(vmdk, join(tmp, 'o6.qcow2'), { allowedRoot: store, baseFormat: 'raw' });
  assert.equal(o.backing.format, 'raw');

  await assert.rejects(createOverlay('relative.qcow2', join(tmp, 'o7.qcow2'), { allowedRoot: store }), /must be an absolute path/);
  for (const f of ['o1', 'o2', 'o3', 'o4', 'o5', 'o7']) await assert.rejects(stat(join(tmp, `${f}.qcow2`)), /ENOENT/, `${f} not left behind`);
});

test('emptyDisk: a sparse qcow2 of the asked size, never over an existing file', async () => {
  const path = join(tmp, 'empty.qcow2');
  const d = await createEmptyDisk(path, 10 * 1024 * 1024 * 1024);
  assert.deepEqual(d, { path, format: 'qcow2', sizeBytes: 10 * 1024 * 1024 * 1024 });
  const i = await info(path);
  assert.equal(i.format, 'qcow2');
  assert.equal(i['virtual-size'], 10 * 1024 * 1024 * 1024);
  assert.equal(i['backing-filename'], undefined);
  assert.ok((await stat(path)).size < 1 << 20);
  await assert.rejects(createEmptyDisk(path, 1 << 20), (e: Error & { code?: string }) => e.code === 'VN_ALREADY_EXISTS');
  assert.equal((await info(path))['virtual-size'], 10 * 1024 * 1024 * 1024, 'the existing disk is untouched');
  await assert.rejects(createEmptyDisk(join(tmp, 'zero.qcow2'), 0), /must be a positive whole number/);
  await assert.rejects(createEmptyDisk(join(tmp, 'frac.qcow2'), 1.5), /must be a positive whole number/);
  await assert.rejects(createEmptyDisk(join(tmp, 'nodir', 'x.qcow2'), 1 << 20), (e: Error & { code?: string }) => e.code === 'VN_IMAGE' && /qemu-img create/.test(e.message));
  await removeOverlay(path);
});

test('the overlay written directly is what qemu-img makes: same header fields, clean check, reads fall through, writes stay in it', async () => {
  const base = join(store, 'patterned.qcow2');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', base, '700M']);
  await run('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0xab 0 64k', '-c', 'write -P 0x5c 600M 64k', base]);
  const ours = join(tmp, 'ours.qcow2');
  await createOverlay(base, ours, { allowedRoot: store });
  const theirs = join(tmp, 'theirs.qcow2');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', base, theirs]);
  const [a, b] = [await info(ours), await info(theirs)];
  for (const k of ['format', 'virtual-size', 'cluster-size', 'backing-filename', 'backing-filename-format', 'actual-size']) assert.deepEqual(a[k], b[k], k);
  assert.equal(a['virtual-size'], 700 << 20);
  const spec = (i: Record<string, unknown>) => (i['format-specific'] as { data: Record<string, unknown> }).data;
  assert.deepEqual({ ...spec(a), 'lazy-refcounts': undefined }, { ...spec(b), 'lazy-refcounts': undefined });
  // Two L1 entries (700 MiB > 512 MiB per L2 table), both free: qemu-img check finds nothing.
  const { stdout } = await run('qemu-img', ['check', '--output=json', ours]);
  const check = JSON.parse(stdout) as Record<string, unknown>;
  assert.equal(check['check-errors'], 0);
  assert.equal(check.corruptions ?? 0, 0);
  assert.equal(check.leaks ?? 0, 0);
  // Reads fall through to the base, writes land in the overlay only.
  await run('qemu-io', ['-f', 'qcow2', '-c', 'read -P 0xab 0 64k', '-c', 'read -P 0x5c 600M 64k', '-c', 'write -P 0xcd 0 4k', '-c', 'read -P 0xcd 0 4k', ours]);
  await run('qemu-io', ['-f', 'qcow2', '-r', '-c', 'read -P 0xab 0 64k', base]);
  const after = JSON.parse((await run('qemu-img', ['check', '--output=json', ours])).stdout) as Record<string, unknown>;
  assert.equal(after['check-errors'], 0);
  assert.equal(after.leaks ?? 0, 0);
  await assert.rejects(createOverlay(base, ours, { allowedRoot: store }), /already exists/);
});

test('qcow2OverlayBytes refuses what it cannot describe', async () => {
  const { qcow2OverlayBytes } = await import('../../handler/images/qcow2.js');
  assert.throws(() => qcow2OverlayBytes({ virtualSize: 1000, backingFile: '/b', backingFormat: 'raw' }), /not a positive multiple of 512/);
  assert.throws(() => qcow2OverlayBytes({ virtualSize: 2 ** 45, backingFile: '/b', backingFormat: 'raw' }), /up to 17592186044416/);
  assert.throws(() => qcow2OverlayBytes({ virtualSize: 512, backingFile: `/${'x'.repeat(1023)}`, backingFormat: 'raw' }), /backing file name of 1024 bytes/);
  // The largest it takes: a 16 TiB disk, 32768 L1 entries in 4 clusters after the first 3.
  const big = qcow2OverlayBytes({ virtualSize: 2 ** 44, backingFile: '/b', backingFormat: 'raw' });
  assert.equal(big.length, 3 * 65536 + 32768 * 8);
  assert.equal(big.readUInt32BE(36), 32768);
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map((c) => big.readUInt16BE(2 * 65536 + 2 * c)), [1, 1, 1, 1, 1, 1, 1, 0]);
});

test('a raw base of a size that is not whole sectors gets its overlay from qemu-img', async () => {
  const odd = join(store, 'odd.raw');
  await writeFile(odd, Buffer.alloc(1000));
  const path = join(tmp, 'odd-overlay.qcow2');
  await createOverlay(odd, path, { allowedRoot: store });
  const i = await info(path);
  assert.equal(i['backing-filename'], odd);
  assert.equal(i['virtual-size'], 1024);
});
