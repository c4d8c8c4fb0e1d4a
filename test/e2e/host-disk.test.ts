// hostDisk through the handler on real QEMU: a DiskOrCreate file made once, written
// by the guest, kept across a VM restart and after the VM is deleted (it is the
// user's); paths the node must not hand out refused at Apply with nothing made; a
// file swapped for a symlink between Apply and start refused at start.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestHandler, cgroupRootDirs, cirrosVM, pgrepAll, sleep, useTestHandler } from './harness.js';

// The roots must exist before the handler starts; not under /tmp's handler dirs.
const base = mkdtempSync('/var/tmp/vn-hostdisk-');
const root = join(base, 'root');
const outside = join(base, 'outside');
mkdirSync(join(root, 'vms'), { recursive: true });
mkdirSync(outside);
writeFileSync(join(outside, 'secret.img'), 'not for a VM\n');
after(() => rmSync(base, { recursive: true, force: true }));

let h: TestHandler;
useTestHandler((x) => (h = x), { extraArgs: ['--host-disk-root', root] });

/** The getting-started VM with a second disk on `hostDisk` (YAML flow mapping). */
function vmWithHostDisk(name: string, hostDisk: string, runStrategy = 'Always'): string {
  return cirrosVM(name, { runStrategy, grace: 0 })
    .replace('              bus: virtio\n', '              bus: virtio\n          - name: data\n            disk:\n              bus: virtio\n')
    .concat(`      - name: data\n        hostDisk: ${hostDisk}\n`);
}

function sandboxCount(): number {
  const d = join(h.stateDir, 'vmis');
  return existsSync(d) ? readdirSync(d).length : 0;
}

function assertNothingMade(what: string): void {
  assert.equal(sandboxCount(), 0, `${what}: no sandbox directory`);
  for (const d of cgroupRootDirs(h.cgroupRoot)) assert.deepEqual(readdirSync(d).filter((n) => /^[0-9a-f-]{36}$/.test(n)), [], `${what}: no VM cgroup in ${d}`);
  assert.deepEqual(pgrepAll(join(h.runDir, 'vmis')), [], `${what}: no launcher or QEMU`);
}

const MARKER = 'virtnode-hostdisk-marker-7f3a';

test('a DiskOrCreate hostDisk is made once, written by the guest, kept across a restart and after the VM is deleted', async (t) => {
  const path = join(root, 'vms', 'data.img');
  const r = await h.cli(['apply', '-f', '-'], vmWithHostDisk('hd-vm', `{path: ${path}, type: DiskOrCreate, capacity: 64Mi}`));
  assert.equal(r.code, 0, r.stderr);
  const first = await h.waitPhase('hd-vm', 'Running', 120_000);
  const st = statSync(path);
  assert.equal(st.size, 64 << 20, 'capacity, aligned');
  assert.ok(st.blocks * 512 < 1 << 20, `sparse (${st.blocks} blocks)`);
  const data = first.status?.volumeStatus?.find((v) => v.name === 'data');
  assert.deepEqual({ target: data?.target, size: data?.size }, { target: 'vdb', size: 64 << 20 });

  // The launcher handed QEMU an fd: QEMU never opened the path itself.
  const qemuPid = findQemuPid(first.metadata.uid!);
  const cmdline = readFileSync(`/proc/${qemuPid}/cmdline`, 'utf8').split('\0');
  assert.ok(cmdline.includes('-add-fd'), 'QEMU gets the file as an fd');
  assert.ok(!cmdline.some((a) => a.includes(path)), 'the path is not on QEMU\'s command line');
  assert.ok(cmdline.some((a) => a.includes('"filename":"/dev/fdset/2"')), 'the file node opens the fdset');

  // A second VM may not write the same file while the first holds it.
  const second = await h.cli(['apply', '-f', '-'], vmWithHostDisk('hd-other', `{path: ${path}, type: Disk}`));
  assert.equal(second.code, 1);
  assert.match(second.stderr, new RegExp(`spec\\.template\\.spec\\.volumes\\[1\\]\\.hostDisk\\.path: ${path} is in use by VirtualMachineInstance default/hd-vm; two VMIs share a hostDisk only when both set shared: true`));
  assert.equal(await h.getVM('hd-other'), undefined);

  let con = h.console('hd-vm');
  await con.login('root');
  assert.equal((await con.run(`printf '${MARKER}\\n' | dd of=/dev/vdb conv=fsync 2>/dev/null; echo rc=$?`)).trim(), 'rc=0');
  con.close();
  assert.equal(readFileSync(path).subarray(0, MARKER.length).toString(), MARKER, 'the guest wrote through to the host file');

  assert.equal((await h.cli(['restart', 'hd-vm', '--grace-period', '0'])).code, 0);
  const restarted = await h.waitVMI('hd-vm', (v) => v?.status?.phase === 'Running' && v.metadata.uid !== first.metadata.uid, 'running with a new uid', 120_000);
  await h.nothingLeft(first.metadata.uid!);
  con = h.console('hd-vm');
  await con.login('root');
  assert.equal((await con.run(`dd if=/dev/vdb bs=${MARKER.length} count=1 2>/dev/null; echo`)).trim(), MARKER, 'the new VMI reads what the old one wrote');
  con.close();
  assert.equal(statSync(path).ino, st.ino, 'the same file, not made again');

  const del = await h.cli(['delete', 'vm', 'hd-vm', '--wait']);
  assert.equal(del.code, 0, del.stderr);
  await h.nothingLeft(restarted!.metadata.uid!);
  assert.equal(readFileSync(path).subarray(0, MARKER.length).toString(), MARKER, 'the hostDisk is the user\'s: kept, with its data');
  t.diagnostic(`hostDisk kept at ${path} (${statSync(path).size} bytes)`);
});

function findQemuPid(uid: string): number {
  const pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  for (const p of pids) {
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (argv[0]?.endsWith('qemu-system-x86_64') && argv.some((a) => a.includes(uid))) return Number(p);
    } catch {
      // gone meanwhile
    }
  }
  throw new Error(`no QEMU of ${uid}`);
}

test('paths the node must not hand out are refused at Apply by field, and nothing is made', async () => {
  symlinkSync(join(outside, 'secret.img'), join(root, 'vms', 'escape.img'));
  symlinkSync('/dev/null', join(root, 'vms', 'null.img'));
  const field = 'spec.template.spec.volumes[1].hostDisk.path';
  const cases: [string, string, string][] = [
    ['outside the roots', `{path: ${join(outside, 'secret.img')}, type: Disk}`, `${field}: ${join(outside, 'secret.img')} is not under a host disk root of this node (--host-disk-root)`],
    ["'..'", `{path: ${root}/vms/../../outside/secret.img, type: Disk}`, `${field}: must not contain '..': a hostDisk stays beneath its host disk root`],
    ['a symlink out of the root', `{path: ${join(root, 'vms', 'escape.img')}, type: Disk}`, `${field}: ${join(root, 'vms', 'escape.img')} leads out of the host disk root ${root} (a symbolic link on its way points outside it)`],
    ['/dev/null through a symlink', `{path: ${join(root, 'vms', 'null.img')}, type: DiskOrCreate, capacity: 1Gi}`, `${field}: ${join(root, 'vms', 'null.img')} leads out of the host disk root ${root} (a symbolic link on its way points outside it)`],
    ['a missing Disk', `{path: ${join(root, 'vms', 'missing.img')}, type: Disk}`, `${field}: ${join(root, 'vms', 'missing.img')} does not exist (type Disk needs an existing file; DiskOrCreate makes one)`],
  ];
  for (const [what, hostDisk, message] of cases) {
    const r = await h.cli(['apply', '-f', '-'], vmWithHostDisk('hd-bad', hostDisk));
    assert.equal(r.code, 1, `${what}: ${r.stdout}`);
    assert.ok(r.stderr.includes(message), `${what}: ${r.stderr}`);
    assert.equal(await h.getVM('hd-bad'), undefined, what);
  }
  await sleep(500);
  assertNothingMade('refused hostDisks');
  assert.deepEqual(readdirSync(root).sort(), ['vms']);
  assert.ok(!existsSync(join(root, 'vms', 'missing.img')));
  assert.equal(readFileSync(join(outside, 'secret.img'), 'utf8'), 'not for a VM\n');
});

test('a hostDisk swapped for a symlink out of the root between Apply and start is refused at start; nothing outside is opened', async () => {
  const path = join(root, 'vms', 'swapped.img');
  writeFileSync(path, Buffer.alloc(1 << 20));
  const r = await h.cli(['apply', '-f', '-'], vmWithHostDisk('hd-swap', `{path: ${path}, type: Disk}`, 'Manual'));
  assert.equal(r.code, 0, r.stderr);
  // The race, won by the attacker: the vetted file becomes a link to a file outside.
  unlinkSync(path);
  symlinkSync(join(outside, 'secret.img'), path);
  const secret = statSync(join(outside, 'secret.img'));
  assert.equal((await h.cli(['start', 'hd-swap'])).code, 0);
  const failed = await h.waitVMI('hd-swap', (v) => v?.status?.phase === 'Failed', 'Failed', 60_000);
  const message = JSON.stringify(failed?.status?.conditions ?? []) + (await h.cli(['events'])).stdout;
  assert.ok(message.includes(`spec.volumes[1].hostDisk.path: ${path} leads out of the host disk root ${root}`), message);
  const del = await h.cli(['delete', 'vm', 'hd-swap', '--wait']);
  assert.equal(del.code, 0, del.stderr);
  await h.nothingLeft(failed!.metadata.uid!);
  const after = statSync(join(outside, 'secret.img'));
  assert.equal(readFileSync(join(outside, 'secret.img'), 'utf8'), 'not for a VM\n');
  assert.equal(after.mtimeMs, secret.mtimeMs);
  assertNothingMade('after the refused start');
});

test('a full filesystem under a writable hostDisk pauses the VM with PausedIOError; unpause resumes it once space returns', async (t) => {
  // A 16 MiB tmpfs inside the root: 10 MiB of ballast, a sparse 64 MiB disk (type Disk,
  // made here: DiskOrCreate would be refused for want of space), and a guest that
  // writes 12 MiB of random data to it. QEMU's write fails with ENOSPC, and the
  // disk's default errorPolicy, stop, pauses the guest with the request held.
  const dir = join(root, 'full');
  mkdirSync(dir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m,mode=0755', 'vn-iofull', dir]);
  t.after(() => execFileSync('umount', ['-l', dir]));
  const ballast = join(dir, 'ballast');
  writeFileSync(ballast, Buffer.alloc(10 << 20, 1));
  const disk = join(dir, 'io.img');
  writeFileSync(disk, '');
  truncateSync(disk, 64 << 20);

  assert.equal((await h.cli(['apply', '-f', '-'], vmWithHostDisk('io-vm', `{path: ${disk}, type: Disk}`))).code, 0);
  await h.waitPhase('io-vm', 'Running', 120_000);
  const con = h.console('io-vm');
  await con.login('root');
  const from = con.output.length;
  con.send('dd if=/dev/urandom of=/dev/vdb bs=1M count=12 conv=fsync 2>/dev/null; echo dd-rc=$?\r');

  const paused = await h.waitVMI('io-vm', (v) => v?.status?.conditions.some((c) => c.type === 'Paused' && c.status === 'True') ?? false, 'Paused', 120_000);
  const cond = paused!.status!.conditions.find((c) => c.type === 'Paused')!;
  assert.equal(cond.reason, 'PausedIOError');
  assert.match(cond.message ?? '', /I\/O error on disk data \(write, no space left\)/);
  assert.equal(paused!.status!.phase, 'Running', 'a paused VMI stays in phase Running, as under KubeVirt');
  const events = (await h.cli(['events'])).stdout;
  assert.match(events, /Paused.*I\/O error on disk data/, events);
  assert.equal((await h.cli(['get', 'vmi', 'io-vm'])).stdout.includes('Running (Paused)'), true);
  assert.doesNotMatch(con.output.slice(from), /dd-rc=/, 'the guest\'s write is held, not failed');

  // Space returns; unpause retries the held write and the guest's dd completes.
  unlinkSync(ballast);
  const r = await h.cli(['unpause', 'io-vm']);
  assert.equal(r.code, 0, r.stderr);
  await h.waitVMI('io-vm', (v) => !(v?.status?.conditions.some((c) => c.type === 'Paused') ?? true), 'unpaused', 60_000);
  assert.equal((await con.expect(/dd-rc=(\d+)/, 120_000, from))[1], '0', 'the write went through after unpause');
  con.close();
  const used = statSync(disk).blocks * 512;
  assert.ok(used >= 12 << 20, `the guest's 12 MiB reached the file (${used} bytes allocated)`);
  t.diagnostic(`paused with: ${cond.message}`);

  const vmi = await h.getVMI('io-vm');
  assert.equal((await h.cli(['delete', 'vm', 'io-vm', '--wait'])).code, 0);
  await h.nothingLeft(vmi!.metadata.uid!);
  assert.ok(existsSync(disk), 'the hostDisk is the user\'s: kept');
});
