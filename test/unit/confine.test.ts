// QEMU's confinement (launcher/domain/confine.ts): the view a domain needs, the argv
// that starts QEMU in it, and, as root, the real thing with a program in QEMU's place.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { SETPRIV } from '../../native/index.js';
import { vmiToDomain } from '../../launcher/domain/convert.js';
import {
  CONFINE_SCRIPT, QEMU_ENV, QEMU_GID, QEMU_UID, UNSHARE, confinedArgv, confinementProblem, prepareQemuView, qemuView, resolveQemuBinary, viewMounts, type QemuView,
} from '../../launcher/domain/confine.js';
import type { Domain } from '../../launcher/domain/types.js';
import { context, gettingStarted } from './domain-fixtures.js';

const RUN = '/run/vn/vmis/u1';
const OVERLAY = '/var/lib/vn/vmis/u1/disks/containerdisk.qcow2';
const BASE = '/var/lib/vn/images/disks/sha256/ab/disk/disk.qcow2';

function domain(): Domain {
  return vmiToDomain(gettingStarted(), context(RUN, { containerdisk: { path: OVERLAY, format: 'qcow2', backing: { path: BASE, format: 'qcow2' } } }));
}

function rejects(fn: () => unknown, code: string, message: RegExp): void {
  assert.throws(fn, (e: Error & { code?: string }) => e.code === code && message.test(e.message));
}

test('the view: the VM\'s own disk rw and made QEMU\'s, the shared base ro, sockets in the run dir\'s qemu/', () => {
  assert.deepEqual(qemuView(domain(), RUN), {
    root: `${RUN}/qemu-root`,
    socketDir: `${RUN}/qemu`,
    files: [
      { path: OVERLAY, writable: true, own: true },
      { path: BASE, writable: false, own: false },
    ],
    ownDevices: [],
  });
});

test('the view: a hostDisk is an fd, never shown; a read-only disk, a kernel and its initrd are read-only; KVM and vhost are devices', () => {
  const d = domain();
  d.disks.push(
    { ...d.disks[0]!, name: 'host', image: { path: '/srv/disks/user.img', format: 'raw', fdset: { fd: 5, set: 2 } }, backing: undefined },
    { ...d.disks[0]!, name: 'ro', image: { path: '/var/lib/vn/vmis/u1/disks/ro.iso', format: 'raw' }, backing: undefined, readonly: true },
    // Two disks over one base: shown once.
    { ...d.disks[0]!, name: 'second', image: { path: '/var/lib/vn/vmis/u1/disks/second.qcow2', format: 'qcow2' } },
  );
  d.boot = { firmware: 'bios', kernel: { path: '/var/lib/vn/images/k/vmlinuz', initrd: '/var/lib/vn/images/k/initrd' } };
  d.accelerator = 'kvm';
  d.interfaces = [{ name: 'default', deviceId: 'ua-default', netdevId: 'netdev-default', model: 'virtio-net-pci', tap: { fds: [3] }, vhost: true } as Domain['interfaces'][number]];
  const v = qemuView(d, RUN);
  assert.deepEqual(v.files.map((f) => [f.path, f.writable ? 'rw' : 'ro', f.own ? 'own' : 'shared']), [
    [OVERLAY, 'rw', 'own'],
    [BASE, 'ro', 'shared'],
    ['/var/lib/vn/vmis/u1/disks/ro.iso', 'ro', 'own'],
    ['/var/lib/vn/vmis/u1/disks/second.qcow2', 'rw', 'own'],
    ['/var/lib/vn/images/k/vmlinuz', 'ro', 'shared'],
    ['/var/lib/vn/images/k/initrd', 'ro', 'shared'],
  ]);
  assert.deepEqual(v.ownDevices, ['kvm', 'vhost-net']);
});

test('the view refuses paths it cannot show at their place', () => {
  for (const [path, why] of [
    ['disks/x.qcow2', /not an absolute path/],
    ['/var/lib/vn/../x.qcow2', /not a normalized path/],
    ['/var/lib//x.qcow2', /not a normalized path/],
    ['/usr/share/x.qcow2', /\/usr of QEMU's view is the host's system/],
    ['/dev/sda', /\/dev of QEMU's view/],
    ['/proc/self/fd/3', /\/proc of QEMU's view/],
  ] as const) {
    const d = domain();
    d.disks[0]!.image.path = path;
    rejects(() => qemuView(d, RUN), 'VN_SANDBOX', why);
  }
  const d = domain();
  d.qmpSocket = '/elsewhere/qmp.sock';
  rejects(() => qemuView(d, RUN), 'VN_INTERNAL', /QMP socket \/elsewhere\/qmp.sock is not in QEMU's socket directory/);
});

test('the argv: setpriv (pdeathsig), unshare --mount, the script with the view, then QEMU\'s own argv unchanged', () => {
  const view = qemuView(domain(), RUN);
  const qemu = ['/usr/bin/qemu-system-x86_64', '-S', '-name', 'a,b'];
  const argv = confinedArgv(qemu, view);
  assert.deepEqual(argv.slice(0, 12), [SETPRIV, '--pdeathsig', 'KILL', '--', UNSHARE, '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', CONFINE_SCRIPT]);
  assert.deepEqual(argv.slice(12), [
    'virtnode-confine', `${RUN}/qemu-root.fstab`, `${RUN}/qemu-root`,
    '--dev', 'null', '--dev', 'zero', '--dev', 'random', '--dev', 'urandom',
    '--', ...qemu,
  ]);
  // The script drops to QEMU's ids with nothing left, and re-arms pdeathsig after the uid change.
  assert.match(CONFINE_SCRIPT, new RegExp(`exec ${SETPRIV} --reuid=${QEMU_UID} --regid=${QEMU_GID} --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs --pdeathsig=KILL -- "\\$@"\\n$`));
  execFileSync('/bin/sh', ['-n', '-c', CONFINE_SCRIPT]);
  rejects(() => confinedArgv(['qemu-system-x86_64'], view), 'VN_SANDBOX', /must be an absolute path under \/usr/);
  rejects(() => confinedArgv(['/opt/qemu/bin/qemu-system-x86_64'], view), 'VN_SANDBOX', /must be an absolute path under \/usr/);
});

test('resolveQemuBinary finds a name on PATH as execvp would, and names what it searched when it cannot', () => {
  const dir = mkdtempSync('/tmp/vn-resolve-');
  try {
    writeFileSync(join(dir, 'qemu-x'), '#!/bin/sh\n', { mode: 0o755 });
    writeFileSync(join(dir, 'not-exec'), '', { mode: 0o644 });
    assert.equal(resolveQemuBinary('qemu-x', `/nonexistent:${dir}`), join(dir, 'qemu-x'));
    assert.equal(resolveQemuBinary('/usr/bin/qemu', dir), '/usr/bin/qemu');
    rejects(() => resolveQemuBinary('not-exec', dir), 'VN_SANDBOX', new RegExp(`not-exec is not on PATH \\(${dir}\\)`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * The real thing, with /usr/bin/sh in QEMU's place: it reports who it is and what it
 * sees. Run under umask 077, as the handler starts launchers: the view must not care.
 */
test('the view\'s mounts: one fstab line each, in order, paths escaped as libmount reads them', () => {
  const view = qemuView(domain(), RUN);
  view.files.push({ path: '/srv/a b\\c\td#é', writable: true, own: true });
  const lines = viewMounts(view, ['lib64'], true).trimEnd().split('\n');
  const R = `${RUN}/qemu-root`;
  assert.deepEqual(lines, [
    `${R} ${R} none bind 0 0`,
    `/usr ${R}/usr none bind,ro,nosuid,nodev 0 0`,
    `/lib64 ${R}/lib64 none bind,ro,nosuid,nodev 0 0`,
    `/etc/ld.so.cache ${R}/etc/ld.so.cache none bind,ro,nosuid,nodev 0 0`,
    `virtnode-dev ${R}/dev tmpfs mode=0755,size=64k,nosuid,noexec 0 0`,
    `${RUN}/qemu ${R}${RUN}/qemu none bind,nosuid,nodev,noexec 0 0`,
    `${OVERLAY} ${R}${OVERLAY} none bind,nosuid,nodev,noexec 0 0`,
    `${BASE} ${R}${BASE} none bind,ro,nosuid,nodev,noexec 0 0`,
    `/srv/a\\040b\\134c\\011d\\043\\303\\251 ${R}/srv/a\\040b\\134c\\011d\\043\\303\\251 none bind,nosuid,nodev,noexec 0 0`,
    `proc ${R}/proc proc nosuid,nodev,noexec 0 0`,
  ]);
  // Six fields on every line: nothing of a path splits one.
  for (const l of lines) assert.equal(l.split(/\s+/).length, 6, l);
});

test('confined for real: uid 107, no capabilities, no_new_privs, and only the view', { skip: confinementProblem() }, async (t) => {
  const top = mkdtempSync('/tmp/vn-confine-');
  t.after(() => rmSync(top, { recursive: true, force: true }));
  const run = join(top, 'run, with = odd');
  const disks = join(top, 'state', 'disks');
  mkdirSync(run, { recursive: true, mode: 0o700 });
  mkdirSync(disks, { recursive: true, mode: 0o700 });
  const own = join(disks, 'own disk.qcow2');
  const shared = join(top, 'store', 'base.qcow2');
  const secret = join(disks, 'other.qcow2');
  writeFileSync(own, 'own', { mode: 0o600 });
  mkdirSync(join(top, 'store'));
  writeFileSync(shared, 'base', { mode: 0o444 });
  writeFileSync(secret, 'secret', { mode: 0o644 });
  chmodSync(top, 0o700);
  const view: QemuView = { root: join(run, 'qemu-root'), socketDir: join(run, 'qemu'), files: [{ path: own, writable: true, own: true }, { path: shared, writable: false, own: false }], ownDevices: existsSync('/dev/kvm') ? ['kvm'] : [] };
  prepareQemuView(view);
  assert.equal(statSync(own).uid, QEMU_UID, 'the VM\'s own file is QEMU\'s');
  const sd = statSync(view.socketDir);
  assert.deepEqual([sd.uid, sd.gid, (sd.mode & 0o7777).toString(8)], [QEMU_UID, 0, '2750']);

  const probe = [
    'setpriv --dump',
    'echo "umask $(umask)"',
    'echo "root: $(ls -A / | tr "\\n" " ")"',
    'echo "dev: $(ls -A /dev | tr "\\n" " ")"',
    `cat "${own}"; echo`,
    `echo more >>"${own}" && echo "own writable"`,
    `cat "${shared}"; echo`,
    `echo x 2>/dev/null >>"${shared}" || echo "shared read-only"`,
    `cat "${secret}" 2>/dev/null || echo "other file: absent"`,
    'cat /etc/shadow 2>/dev/null || echo "shadow: absent"',
    'ls /proc/self 2>/dev/null || echo "proc: absent"',
    'true 2>/dev/null >/made || echo "root read-only"',
    'mkdir /usr/made 2>/dev/null || echo "usr read-only"',
    'true 2>/dev/null >/etc/ld.so.cache || echo "loader cache read-only"',
    `: >"${view.socketDir}/made" && echo "socket dir writable: $(stat -c %a:%u:%g "${view.socketDir}/made")"`,
    'echo "env: $(env | sort | tr "\\n" " ")"',
    ...(view.ownDevices.includes('kvm') ? ['echo "kvm: $(stat -c %a:%u:%g /dev/kvm)"'] : []),
    // The same process as QEMU would be: its parent-death signal, after the uid change.
    'exec setpriv --dump',
  ].join('\n');
  const argv = confinedArgv(['/usr/bin/sh', '-c', probe], view);
  const old = process.umask(0o077);
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: QEMU_ENV });
  process.umask(old);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const [code] = await once(child, 'exit');
  assert.equal(code, 0, err);
  t.diagnostic(out.replace(/\n/g, ' | '));
  const dump = /^uid: 107\neuid: 107\ngid: 107\negid: 107\nSupplementary groups: \[none\]\nno_new_privs: 1\nInheritable capabilities: \[none\]\nAmbient capabilities: \[none\]\nCapability bounding set: \[none\]\nSecurebits: \[none\]\nParent death signal: /m;
  assert.match(out, dump);
  assert.match(out, /^Parent death signal: KILL\n$/m, 'the exec\'d program dies with its parent');
  assert.match(out, /^umask 0007$/m);
  assert.match(out, /^root: \.old bin dev etc lib lib64 proc sbin tmp usr $/m);
  assert.match(out, /^dev: (kvm )?null random urandom zero $/m);
  assert.match(out, /^own\nown writable\nbase\nshared read-only\nother file: absent\nshadow: absent\nproc: absent\nroot read-only\nusr read-only\nloader cache read-only\n/m);
  // What QEMU makes there (its sockets) is group root's to use too: umask 0007, set-gid directory.
  assert.match(out, /^socket dir writable: 660:107:0$/m);
  assert.match(out, /^env: LC_ALL=C PATH=\/usr\/sbin:\/usr\/bin:\/sbin:\/bin PWD=\/ $/m);
  if (view.ownDevices.includes('kvm')) assert.match(out, /^kvm: 600:107:107$/m);
  assert.equal(err, '');
});
