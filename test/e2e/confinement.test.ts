// QEMU confined (launcher/domain/confine.ts), end to end: two VMs through the handler;
// the QEMU of one runs as 107:107 with no capabilities, no_new_privs and seccomp, in a
// mount namespace where another VM's disk, the handler's state and /etc/shadow do not
// exist, and QEMU itself, confined the same way, fails to open them. The launcher
// holds only CAP_KILL once its QEMU runs (launcher/privileges.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { qemuPid, launcherPid } from '../../proto/vmi/annotations.js';
import { buildArgv } from '../../launcher/domain/argv.js';
import { vmiToDomain } from '../../launcher/domain/convert.js';
import { confinedArgv, prepareQemuView, qemuView, resolveQemuBinary, QEMU_ENV } from '../../launcher/domain/confine.js';
import { Qmp, QmpCommandError } from '../../launcher/qmp/index.js';
import { ensureGuest } from '../guest/index.js';
import { context, gettingStarted } from '../unit/domain-fixtures.js';
import { TestHandler, cirrosVMI, useTestHandler } from './harness.js';

let h: TestHandler;
useTestHandler((x) => (h = x));

const STATUS_FIELDS = /^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):/;

function statusLines(pid: number | string): string[] {
  return readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').filter((l) => STATUS_FIELDS.test(l));
}

function field(lines: string[], name: string): string {
  return lines.find((l) => l.startsWith(`${name}:`))!.slice(name.length + 1).trim().replace(/\s+/g, ' ');
}

/** Runs argv; its exit code and output, never a throw. */
function run(argv: string[]): { code: number; out: string } {
  try {
    return { code: 0, out: execFileSync(argv[0]!, argv.slice(1), { encoding: 'latin1', stdio: ['ignore', 'pipe', 'pipe'] }) };
  } catch (e) {
    const x = e as { status: number | null; stdout?: string; stderr?: string };
    return { code: x.status ?? -1, out: `${x.stdout ?? ''}${x.stderr ?? ''}` };
  }
}

/** `argv` in QEMU's mount namespace (its root, its view) as its uid and gid, with no capabilities. */
function asQemu(pid: number, argv: string[]): { code: number; out: string } {
  return run(['nsenter', `--target=${pid}`, '--mount', '--setuid=107', '--setgid=107', '--', ...argv]);
}

test('QEMU runs as 107 with no capabilities, seeing only its own VM: not another VM\'s disk, the handler\'s state, /etc/shadow', { timeout: 240_000 }, async (t) => {
  const apply = async (yaml: string): Promise<void> => assert.equal((await h.cli(['apply', '-f', '-'], yaml)).code, 0);
  await apply(cirrosVMI('conf-a', { disks: [{ name: 'scratch', source: 'emptyDisk:\n  capacity: 64Mi' }] }));
  await apply(cirrosVMI('conf-b'));
  const a = await h.waitPhase('conf-a', 'Running', 120_000);
  const b = await h.waitPhase('conf-b', 'Running', 120_000);
  const pid = qemuPid(a)!;
  const [uidA, uidB] = [a.metadata.uid!, b.metadata.uid!];
  const diskDirA = join(h.stateDir, 'vmis', uidA, 'disks');
  const diskB = join(h.stateDir, 'vmis', uidB, 'disks', 'containerdisk.qcow2');

  // Done when: a non-root uid and CapEff 0 in QEMU's /proc/<pid>/status.
  const lines = statusLines(pid);
  t.diagnostic(`QEMU ${pid}: ${lines.join(' | ').replace(/\t/g, ' ')}`);
  assert.equal(field(lines, 'Uid'), '107 107 107 107');
  assert.equal(field(lines, 'Gid'), '107 107 107 107');
  assert.equal(field(lines, 'Groups'), '');
  for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) assert.equal(field(lines, set), '0000000000000000', set);
  assert.equal(field(lines, 'NoNewPrivs'), '1');
  assert.equal(field(lines, 'Seccomp'), '2');
  assert.notEqual(readlinkSync(`/proc/${pid}/ns/mnt`), readlinkSync('/proc/self/ns/mnt'), 'a mount namespace of its own');

  // Everything mounted in QEMU's namespace, which is all it can see: the system,
  // its /dev, its socket directory, its own disks and the base they share.
  const mounts = readFileSync(`/proc/${pid}/mountinfo`, 'utf8').trim().split('\n').map((l) => l.split(' ')[4]!.replace(/\\040/g, ' '));
  t.diagnostic(`QEMU's mounts: ${mounts.join(' ')}`);
  const socketDir = join(h.runDir, 'vmis', uidA, 'qemu');
  const own = readdirSync(diskDirA).map((f) => join(diskDirA, f)).sort();
  const base = mounts.filter((m) => m.startsWith(join(h.stateDir, 'images')));
  assert.equal(base.length, 1, `one base image: ${base.join(' ')}`);
  assert.deepEqual([...mounts].sort(), ['/', '/dev', '/etc/ld.so.cache', '/usr', socketDir, ...own, ...base].sort());

  // In QEMU's namespace, as QEMU's uid: its own disk opens, nothing else exists.
  const own0 = asQemu(pid, ['head', '-c', '4', join(diskDirA, 'containerdisk.qcow2')]);
  assert.equal(own0.out, 'QFI\xfb', `its own overlay opens: ${own0.out}`);
  const denied = {
    "another VM's disk": diskB,
    "another VM's sockets": join(h.runDir, 'vmis', uidB, 'qemu', 'qmp.sock'),
    "the handler's record of this VM": join(h.stateDir, 'vmis', uidA, 'runtime.json'),
    "the handler's image index": join(h.stateDir, 'images', 'index.json'),
    "the handler's socket": h.socket,
    "the launcher's log": join(h.stateDir, 'vmis', uidA, 'launcher.log'),
    '/etc/shadow': '/etc/shadow',
    '/proc': '/proc/1/environ',
  };
  for (const [what, path] of Object.entries(denied)) {
    assert.ok(existsSync(path) || path.startsWith('/proc/'), `${what}: ${path} exists on the host`);
    const r = asQemu(pid, ['cat', path]);
    t.diagnostic(`as QEMU, cat ${what}: exit ${r.code}: ${r.out.trim()}`);
    assert.notEqual(r.code, 0, `${what} opened`);
    assert.match(r.out, /No such file or directory/, what);
  }
  // On the host too, uid 107 finds the VMs' directories closed (root's, 0700).
  const host = run(['setpriv', '--reuid=107', '--regid=107', '--clear-groups', '--', 'cat', diskB]);
  assert.match(host.out, /Permission denied/, `outside the namespace: ${host.out}`);

  // The launcher, once QEMU runs: CAP_KILL alone on the thread that runs JS and on libuv's pool.
  const lpid = launcherPid(a)!;
  const llines = statusLines(lpid);
  t.diagnostic(`launcher ${lpid}: ${llines.filter((l) => !/^(Uid|Gid|Groups|Seccomp)/.test(l)).join(' | ').replace(/\t/g, ' ')}`);
  for (const set of ['CapPrm', 'CapEff', 'CapBnd']) assert.equal(field(llines, set), '0000000000000020', `launcher ${set}: cap_kill`);
  assert.equal(field(llines, 'CapInh'), '0000000000000000');
  assert.equal(field(llines, 'NoNewPrivs'), '1');
  const threads = readdirSync(`/proc/${lpid}/task`).map((tid) => field(statusLines(`${lpid}/task/${tid}`), 'CapPrm'));
  t.diagnostic(`launcher threads' CapPrm: ${threads.join(' ')}`);
  assert.ok(threads.filter((c) => c === '0000000000000020').length >= 5, 'the main thread and the 4 pool threads hold CAP_KILL alone');

  await h.cli(['delete', 'vmi', 'conf-a']);
  await h.cli(['delete', 'vmi', 'conf-b']);
  await h.nothingLeft(uidA);
  await h.nothingLeft(uidB);
});

test('QEMU itself, confined, cannot open another VM\'s disk, the handler\'s state or /etc/shadow', { timeout: 120_000 }, async (t) => {
  const apply = await h.cli(['apply', '-f', '-', '--wait', '--timeout', '120'], cirrosVMI('conf-other'));
  assert.equal(apply.code, 0, apply.stderr);
  const other = (await h.getVMI('conf-other'))!;
  const diskOther = join(h.stateDir, 'vmis', other.metadata.uid!, 'disks', 'containerdisk.qcow2');

  // A QEMU started as the launcher starts one (qemuView, prepareQemuView, confinedArgv),
  // its QMP ours: it is asked to open files with blockdev-add.
  const guest = await ensureGuest();
  const dir = mkdtempSync('/tmp/vn-conf-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const overlay = join(dir, 'containerdisk.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', guest.disk, overlay]);
  const domain = vmiToDomain(gettingStarted(), context(dir, { containerdisk: { path: overlay, format: 'qcow2', backing: { path: guest.disk, format: 'qcow2' } } }));
  const view = qemuView(domain, dir);
  prepareQemuView(view);
  const argv = confinedArgv(buildArgv(domain, { qemuBinary: resolveQemuBinary('qemu-system-x86_64') }), view);
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env: QEMU_ENV });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  t.after(async () => {
    child.kill('SIGKILL');
    await exited;
  });
  const qmp = await Qmp.connect(domain.qmpSocket, { timeoutMs: 15_000, until: exited }).catch((e: Error) => {
    throw new Error(`${e.message}; QEMU stderr: ${stderr}`);
  });
  t.after(() => qmp.close());

  let n = 0;
  const open = async (path: string): Promise<string> => {
    try {
      await qmp.execute('blockdev-add' as never, { driver: 'file', 'node-name': `probe${n++}`, filename: path, 'read-only': true, locking: 'off' } as never);
      return 'opened';
    } catch (e) {
      if (e instanceof QmpCommandError) return e.desc;
      throw e;
    }
  };
  assert.equal(await open(overlay), 'opened', 'its own disk opens (the probe works)');
  const denied = {
    "another VM's disk": diskOther,
    "the handler's record of that VM": join(h.stateDir, 'vmis', other.metadata.uid!, 'runtime.json'),
    "the handler's image index": join(h.stateDir, 'images', 'index.json'),
    '/etc/shadow': '/etc/shadow',
  };
  for (const [what, path] of Object.entries(denied)) {
    assert.ok(existsSync(path), `${what}: ${path} exists on the host`);
    const why = await open(path);
    t.diagnostic(`QEMU, blockdev-add ${what}: ${why}`);
    assert.match(why, /No such file or directory/, what);
  }
  // A file it sees read-only cannot be opened for writing either.
  const rw = await qmp.execute('blockdev-add' as never, { driver: 'file', 'node-name': 'probe-rw', filename: guest.disk, 'read-only': false, locking: 'off' } as never).then(() => 'opened', (e: QmpCommandError) => e.desc);
  t.diagnostic(`QEMU, blockdev-add the shared base read-write: ${rw}`);
  assert.match(rw, /Read-only file system|Permission denied/);

  await h.cli(['delete', 'vmi', 'conf-other']);
  await h.nothingLeft(other.metadata.uid!);
});

