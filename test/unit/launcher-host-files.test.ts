// The launcher's side of hostDisk: the file opened beneath its root and checked to
// be the one the handler prepared, handed to QEMU as an fd in an fdset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildArgv } from '../../launcher/domain/argv.js';
import { vmiToDomain } from '../../launcher/domain/convert.js';
import { openHostFiles } from '../../launcher/domain/host-files.js';
import { InvalidSpecError } from '../../proto/errors.js';
import type { LaunchContext } from '../../proto/launch.js';
import type { VirtualMachineInstance } from '../../proto/vmi/types.js';
import { context, gettingStarted } from './domain-fixtures.js';

const RUN = '/run/virtnode/vms/x';

function withHostDisk(path: string, opts: { shared?: boolean; readonly?: boolean } = {}): VirtualMachineInstance {
  const v = gettingStarted();
  v.spec.domain.devices.disks!.push({ name: 'data', disk: { bus: 'virtio', ...(opts.readonly ? { readonly: true } : {}) } });
  v.spec.volumes!.push({ name: 'data', hostDisk: { path, type: 'Disk', ...(opts.shared ? { shared: true } : {}) } });
  return v;
}

function files(t: { after(fn: () => void): void }): { root: string; outside: string; ctx: (p?: string) => LaunchContext } {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'vn-hostfiles-')));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const root = join(dir, 'root');
  const outside = join(dir, 'outside');
  mkdirSync(root);
  mkdirSync(outside);
  writeFileSync(join(root, 'data.img'), 'prepared');
  writeFileSync(join(outside, 'secret'), 'secret');
  const st = statSync(join(root, 'data.img'), { bigint: true });
  const ctx = (path = 'data.img'): LaunchContext =>
    context(RUN, {
      containerdisk: { path: '/d/containerdisk.qcow2', format: 'qcow2' },
      data: { path: join(root, path), format: 'raw', directIo: true, hostFile: { root, path, dev: String(st.dev), ino: String(st.ino) } },
    });
  return { root, outside, ctx };
}

const fdFlags = (fd: number): number => parseInt(/^flags:\s*(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8);

test('a hostDisk reaches QEMU as an inherited fd: -add-fd, and /dev/fdset/N as the file node filename', () => {
  const v = withHostDisk('/srv/disks/data.img', { shared: true });
  const ctx = context(RUN, {
    containerdisk: { path: '/d/containerdisk.qcow2', format: 'qcow2' },
    data: { path: '/srv/disks/data.img', format: 'raw', directIo: true, hostFile: { root: '/srv/disks', path: 'data.img', dev: '2049', ino: '12' } },
  });
  const argv = buildArgv(vmiToDomain(v, ctx, {}, {}, { data: 5 }));
  const at = argv.indexOf('-add-fd');
  assert.equal(argv[at + 1], 'fd=5,set=2');
  const blockdevs = argv.flatMap((a, i) => (argv[i - 1] === '-blockdev' ? [JSON.parse(a)] : []));
  const file = blockdevs.find((b) => b['node-name'] === 'disk1-file');
  assert.deepEqual(file, { driver: 'file', 'node-name': 'disk1-file', filename: '/dev/fdset/2', 'read-only': false, cache: { direct: true, 'no-flush': false } });
  assert.equal(blockdevs.find((b) => b['node-name'] === 'disk1').driver, 'raw');
  assert.ok(!argv.some((a) => a.includes('/srv/disks')), 'the path is never QEMU\'s to open');
  const device = argv.flatMap((a, i) => (argv[i - 1] === '-device' && a.includes('"drive":"disk1"') ? [JSON.parse(a)] : []))[0];
  assert.equal(device['share-rw'], true, 'shared: true');
  assert.equal(argv.filter((a) => a === '-add-fd').length, 1, 'only the hostDisk');
  assert.throws(() => vmiToDomain(v, ctx), /the hostDisk of volume "data" was not opened/);
});

test('openHostFiles: the prepared file, read-write or read-only, numbered from the first free fd', (t) => {
  const { ctx } = files(t);
  const rw = openHostFiles(withHostDisk('/x'), ctx(), 4);
  t.after(() => rw.fds.forEach((fd) => closeSync(fd)));
  assert.deepEqual(rw.numbers, { data: 4 });
  assert.equal(fdFlags(rw.fds[0]!) & 3, 2, 'O_RDWR');
  const ro = openHostFiles(withHostDisk('/x', { readonly: true }), ctx(), 3);
  t.after(() => ro.fds.forEach((fd) => closeSync(fd)));
  assert.equal(fdFlags(ro.fds[0]!) & 3, 0, 'O_RDONLY');
  assert.equal(readFileSync(`/proc/self/fd/${ro.fds[0]}`, 'utf8'), 'prepared');
});

test('openHostFiles: a file swapped after preparation is refused, by field, and nothing stays open', (t) => {
  const { root, outside, ctx } = files(t);
  const v = withHostDisk(join(root, 'data.img'));
  const prepared = ctx();
  const openFds = (): number => readdirSync('/proc/self/fd').length;
  const n = openFds();
  // Swapped for another file of the root: the same name, another inode.
  writeFileSync(join(root, 'other.img'), 'other');
  renameSync(join(root, 'other.img'), join(root, 'data.img'));
  assert.throws(() => openHostFiles(v, prepared, 3), (e: unknown) => e instanceof InvalidSpecError && e.fields[0]!.path === 'spec.volumes[1].hostDisk.path' && /data\.img is no longer the file prepared for it \(dev \d+ inode \d+, now dev \d+ inode \d+\) \(checked again as QEMU starts\)$/.test(e.fields[0]!.message));
  // Swapped for a symlink out of the root.
  unlinkSync(join(root, 'data.img'));
  symlinkSync(join(outside, 'secret'), join(root, 'data.img'));
  assert.throws(() => openHostFiles(v, prepared, 3), (e: unknown) => e instanceof InvalidSpecError && e.fields[0]!.message === `${join(root, 'data.img')} leads out of the host disk root ${root} (a symbolic link on its way points outside it) (checked again as QEMU starts)`);
  // Gone.
  unlinkSync(join(root, 'data.img'));
  assert.throws(() => openHostFiles(v, prepared, 3), /data\.img does not exist \(checked again as QEMU starts\)/);
  assert.equal(openFds(), n, 'no fd left open');
});
