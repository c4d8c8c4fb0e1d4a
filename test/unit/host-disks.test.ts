// The handler's hostDisk judge and registry (handler/hostdisk/host-disks.ts), on
// real files: roots, the safe open's refusals in the user's terms, DiskOrCreate,
// and who may hold a file at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidSpecError, type FieldError } from '../../proto/errors.js';
import type { HostDisk, VirtualMachineInstance } from '../../proto/vmi/types.js';
import { HostDisks } from '../../handler/hostdisk/host-disks.js';
import { checkHostDisks } from '../../handler/api/admission.js';

function setup(t: { after(fn: () => void): void }): { root: string; outside: string } {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'vn-hostdisk-')));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const root = join(dir, 'root');
  const outside = join(dir, 'outside');
  mkdirSync(join(root, 'vm'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(root, 'vm', 'disk.img'), Buffer.alloc(1 << 20));
  writeFileSync(join(outside, 'secret'), 'secret');
  return { root, outside };
}

let serial = 0;
function vmi(hostDisk: Partial<HostDisk>, opts: { name?: string; readonly?: boolean; uid?: string } = {}): VirtualMachineInstance {
  const name = opts.name ?? 'vm-a';
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name, namespace: 'default', uid: opts.uid ?? `uid-${name}-${++serial}` },
    spec: {
      domain: { devices: { disks: [{ name: 'root', disk: { bus: 'virtio' } }, { name: 'data', disk: { bus: 'virtio', ...(opts.readonly ? { readonly: true } : {}) } }] } },
      volumes: [{ name: 'root', emptyDisk: { capacity: '1Mi' } }, { name: 'data', hostDisk: { type: 'Disk', ...hostDisk } as HostDisk }],
    },
  } as unknown as VirtualMachineInstance;
}

const PP = 'spec.volumes[1].hostDisk.path';

function refusedAtPrepare(h: HostDisks, v: VirtualMachineInstance): FieldError[] {
  try {
    h.prepare(v);
  } catch (e) {
    assert.ok(e instanceof InvalidSpecError, String(e));
    return e.fields;
  }
  assert.fail('prepare accepted it');
}

test('hostDisk: no root configured is the HostDisk feature gate, naming the flag', (t) => {
  const { root } = setup(t);
  const h = new HostDisks([]);
  assert.deepEqual(h.check(vmi({ path: join(root, 'vm', 'disk.img') }), { namespace: 'default', name: 'vm-a' }), [
    { path: 'spec.volumes[1]', message: 'HostDisk feature gate is not enabled: this node has no host disk root (--host-disk-root)' },
  ]);
});

test("hostDisk: a path outside every root, '..', a symlink out, /dev/null through a symlink, a device, a missing Disk: each refused by field", (t) => {
  const { root, outside } = setup(t);
  const h = new HostDisks([root]);
  symlinkSync(join(outside, 'secret'), join(root, 'vm', 'absolute.img'));
  symlinkSync('../../outside/secret', join(root, 'vm', 'climbs.img'));
  symlinkSync('/dev/null', join(root, 'vm', 'null.img'));
  symlinkSync(root, join(root, 'vm', 'loop'));
  execFileSync('mknod', [join(root, 'vm', 'zero.img'), 'c', '1', '5']);
  const cases: [string, Partial<HostDisk>, string][] = [
    ['outside', { path: join(outside, 'secret') }, `${join(outside, 'secret')} is not under a host disk root of this node (--host-disk-root)`],
    ['the root itself', { path: root }, `${root} is not under a host disk root of this node (--host-disk-root)`],
    ['a prefix that is not the root', { path: `${root}x/disk.img` }, `${root}x/disk.img is not under a host disk root of this node (--host-disk-root)`],
    ['..', { path: `${root}/vm/../../outside/secret` }, "must not contain '..': a hostDisk stays beneath its host disk root"],
    ['absolute symlink', { path: join(root, 'vm', 'absolute.img') }, `${join(root, 'vm', 'absolute.img')} leads out of the host disk root ${root} (a symbolic link on its way points outside it)`],
    ['climbing symlink', { path: join(root, 'vm', 'climbs.img') }, `${join(root, 'vm', 'climbs.img')} leads out of the host disk root ${root} (a symbolic link on its way points outside it)`],
    ['/dev/null through a symlink', { path: join(root, 'vm', 'null.img') }, `${join(root, 'vm', 'null.img')} leads out of the host disk root ${root} (a symbolic link on its way points outside it)`],
    ['a device node', { path: join(root, 'vm', 'zero.img') }, `${join(root, 'vm', 'zero.img')} is a character device, not a regular file`],
    ['a directory', { path: join(root, 'vm') }, `${join(root, 'vm')} is a directory, not a regular file`],
    ['a missing Disk', { path: join(root, 'vm', 'missing.img') }, `${join(root, 'vm', 'missing.img')} does not exist (type Disk needs an existing file; DiskOrCreate makes one)`],
    ['DiskOrCreate in a missing directory', { path: join(root, 'nodir', 'new.img'), type: 'DiskOrCreate', capacity: '1Mi' }, `directory ${join(root, 'nodir')} does not exist (DiskOrCreate makes the file, not its directory)`],
    // An absolute symlink leaves the walk's start even when it points back inside.
    ['DiskOrCreate through an absolute symlink', { path: join(root, 'vm', 'loop', 'vm', 'new.img'), type: 'DiskOrCreate', capacity: '1Mi' }, `${join(root, 'vm', 'loop', 'vm', 'new.img')} leads out of the host disk root ${root} (a symbolic link on its way points outside it)`],
  ];
  for (const [what, hd, message] of cases) {
    const v = vmi(hd);
    assert.deepEqual(h.check(v, { namespace: 'default', name: 'vm-a' }), [{ path: PP, message }], what);
    assert.deepEqual(refusedAtPrepare(h, v), [{ path: PP, message }], `${what}, again at preparation`);
  }
  assert.equal(readFileSync(join(outside, 'secret'), 'utf8'), 'secret');
  assert.equal(statSync(join(root, 'nodir'), { throwIfNoEntry: false }), undefined, 'nothing made');
});

test('hostDisk: a symlink that stays inside the root is followed; the launcher gets the identity, not just a path', (t) => {
  const { root } = setup(t);
  symlinkSync('disk.img', join(root, 'vm', 'alias.img'));
  const h = new HostDisks([root]);
  const v = vmi({ path: join(root, 'vm', 'alias.img') });
  const prepared = h.prepare(v).data!;
  const st = statSync(join(root, 'vm', 'disk.img'), { bigint: true });
  assert.deepEqual(prepared.hostFile, { root, path: 'vm/alias.img', dev: String(st.dev), ino: String(st.ino) });
  assert.equal(prepared.path, join(root, 'vm', 'alias.img'));
  assert.equal(prepared.format, 'raw');
  assert.equal(prepared.directIo, true, 'ext4 takes O_DIRECT');
});

test('hostDisk: DiskOrCreate makes a sparse file of the aligned capacity once, and never again', (t) => {
  const { root } = setup(t);
  const h = new HostDisks([root]);
  const path = join(root, 'vm', 'new.img');
  const v = vmi({ path, type: 'DiskOrCreate', capacity: '100M' });
  assert.deepEqual(h.check(v, { namespace: 'default', name: 'vm-a' }), []);
  assert.equal(statSync(path, { throwIfNoEntry: false }), undefined, 'Apply makes nothing');
  h.prepare(v);
  const st = statSync(path);
  assert.equal(st.size, 95 * 1024 * 1024, '100M (10^8 bytes) aligned down to 1 MiB');
  assert.ok(st.blocks * 512 < 1 << 20, 'sparse');
  writeFileSync(path, 'marker', { flag: 'r+' });
  h.release(v.metadata.uid!);
  h.prepare(vmi({ path, type: 'DiskOrCreate', capacity: '2Gi' }));
  assert.equal(readFileSync(path).subarray(0, 6).toString(), 'marker', 'an existing file is used as it is');
  assert.equal(statSync(path).size, 95 * 1024 * 1024, 'and never resized');
});

test('hostDisk: DiskOrCreate larger than the space left is refused, as KubeVirt does', (t) => {
  const { root } = setup(t);
  const h = new HostDisks([root]);
  const v = vmi({ path: join(root, 'vm', 'huge.img'), type: 'DiskOrCreate', capacity: '4Pi' });
  const [e] = refusedAtPrepare(h, v);
  assert.equal(e!.path, 'spec.volumes[1].hostDisk.capacity');
  assert.match(e!.message, /^unable to create \S+huge\.img, not enough space, demanded size 4503599627370496 B is bigger than available space \d+ B$/);
  assert.equal(statSync(join(root, 'vm', 'huge.img'), { throwIfNoEntry: false }), undefined);
});

test('hostDisk registry: a second writer is refused, naming the holder; shared on both is allowed; release frees', (t) => {
  const { root } = setup(t);
  const h = new HostDisks([root]);
  const path = join(root, 'vm', 'disk.img');
  const a = vmi({ path }, { name: 'vm-a' });
  h.prepare(a);
  const held = `${path} is in use by VirtualMachineInstance default/vm-a; two VMIs share a hostDisk only when both set shared: true`;
  const b = vmi({ path }, { name: 'vm-b' });
  assert.deepEqual(h.check(b, { namespace: 'default', name: 'vm-b' }), [{ path: PP, message: held }]);
  assert.deepEqual(refusedAtPrepare(h, b), [{ path: PP, message: held }]);
  // The same file through another path is the same file.
  symlinkSync('disk.img', join(root, 'vm', 'other-name.img'));
  assert.deepEqual(refusedAtPrepare(h, vmi({ path: join(root, 'vm', 'other-name.img') }, { name: 'vm-c' })), [{ path: PP, message: held.replace(path, join(root, 'vm', 'other-name.img')) }]);
  // A reader next to a writer is refused too; re-applying vm-a itself is not a second holder.
  assert.deepEqual(refusedAtPrepare(h, vmi({ path }, { name: 'vm-d', readonly: true })), [{ path: PP, message: held }]);
  assert.deepEqual(h.check(vmi({ path }, { name: 'vm-a' }), { namespace: 'default', name: 'vm-a' }), []);
  h.release(a.metadata.uid!);
  h.prepare(b);

  // shared: true on both.
  const shared = new HostDisks([root]);
  const s1 = vmi({ path, shared: true }, { name: 's1' });
  shared.prepare(s1);
  assert.deepEqual(refusedAtPrepare(shared, vmi({ path }, { name: 's2' })), [{ path: PP, message: held.replace('vm-a', 's1') }], 'only one of them shared');
  shared.prepare(vmi({ path, shared: true }, { name: 's3' }));
  assert.equal(shared.holders(statSync(path, { bigint: true })).length, 2);

  // Readers only: no writer, no conflict.
  const readers = new HostDisks([root]);
  readers.prepare(vmi({ path }, { name: 'r1', readonly: true }));
  readers.prepare(vmi({ path }, { name: 'r2', readonly: true }));
  assert.deepEqual(refusedAtPrepare(readers, vmi({ path }, { name: 'w' })), [{ path: PP, message: `${path} is in use by VirtualMachineInstance default/r1 (read-only); two VMIs share a hostDisk only when both set shared: true` }]);
});

test('hostDisk registry: holds are taken back from a running VMI\'s launch context after a handler restart', (t) => {
  const { root } = setup(t);
  const path = join(root, 'vm', 'disk.img');
  const a = vmi({ path }, { name: 'vm-a' });
  const volumes = new HostDisks([root]).prepare(a);
  const restarted = new HostDisks([root]);
  restarted.adopt(a, volumes);
  assert.deepEqual(refusedAtPrepare(restarted, vmi({ path }, { name: 'vm-b' }))[0]!.message, `${path} is in use by VirtualMachineInstance default/vm-a; two VMIs share a hostDisk only when both set shared: true`);
});

test('hostDisk: a file swapped for a symlink out of the root between Apply and start is refused at start', (t) => {
  const { root, outside } = setup(t);
  const h = new HostDisks([root]);
  const path = join(root, 'vm', 'disk.img');
  assert.deepEqual(h.check(vmi({ path }), { namespace: 'default', name: 'vm-a' }), []);
  unlinkSync(path);
  symlinkSync(join(outside, 'secret'), path);
  assert.deepEqual(refusedAtPrepare(h, vmi({ path })), [{ path: PP, message: `${path} leads out of the host disk root ${root} (a symbolic link on its way points outside it)` }]);
});

test('hostDisk: two volumes of one VMI on one file are two writers', (t) => {
  const { root } = setup(t);
  const h = new HostDisks([root]);
  const v = vmi({ path: join(root, 'vm', 'disk.img') });
  v.spec.domain.devices.disks!.push({ name: 'again', disk: { bus: 'virtio' } });
  v.spec.volumes!.push({ name: 'again', hostDisk: { path: join(root, 'vm', 'disk.img'), type: 'Disk' } });
  assert.deepEqual(refusedAtPrepare(h, v), [{ path: 'spec.volumes[2].hostDisk.path', message: `${join(root, 'vm', 'disk.img')} is the file of volume "data" too` }]);
});

test('checkHostDisks at Apply: a VM is judged through its template, paths say so', (t) => {
  const { root } = setup(t);
  const h = new HostDisks([root]);
  const v = vmi({ path: '/elsewhere/disk.img' });
  const vm = { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', metadata: { name: 'vm-a', namespace: 'default', uid: 'vm-uid' }, spec: { runStrategy: 'Always', template: { spec: v.spec } } };
  assert.throws(() => checkHostDisks(vm as never, h), (e: unknown) => e instanceof InvalidSpecError && e.fields[0]!.path === 'spec.template.spec.volumes[1].hostDisk.path' && /is not under a host disk root/.test(e.fields[0]!.message));
  assert.throws(() => checkHostDisks(v as never, h), (e: unknown) => e instanceof InvalidSpecError && e.fields[0]!.path === PP);
});
