// The cgroup v2 code path: (1) a file-layout test on a temp directory that mimics a
// cgroup2 tree (plain files, no kernel: it shows which files are written with what),
// (2) the real cgroup2 tree of this host forced as the layout (on a hybrid host it
// carries no controllers, but its cgroup.procs/events/kill and rmdir are the kernel's),
// (3) a pure-v2 host with controllers, run only where /sys/fs/cgroup/cgroup.controllers exists.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  detectCgroups, parseMountinfo, VmCgroup, vmCgroupOfProcess, removeCgroupRoot, CgroupError, type CgroupLayout, type DetectOptions,
} from '../../handler/sandbox/cgroup.js';

const cgroup2Mount = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).find((m) => m.version === 2);
const pureV2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
let serial = 0;

/** The signal a child died of, whether or not it has already exited. */
async function exitSignal(child: ChildProcess): Promise<NodeJS.Signals | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.signalCode;
  const [, signal] = await once(child, 'exit');
  return signal as NodeJS.Signals | null;
}

function track(t: TestContext, child: ChildProcess): ChildProcess {
  t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  return child;
}

function realLayout(t: TestContext, options: DetectOptions): CgroupLayout {
  const layout = detectCgroups({ root: `vn-test-${process.pid}-v2-${++serial}`, ...options });
  t.after(async () => {
    for (const name of VmCgroup.list(layout)) await VmCgroup.open(layout, name).destroy();
    assert.ok(removeCgroupRoot(layout), 'test cgroup root left behind');
  });
  return layout;
}

test('cgroup v2 file layout (temp dir mimicking cgroup2 files, not a real cgroupfs): placement, controller enabling, limit files, procs, kill, stats', { timeout: 30_000 }, async (t) => {
  const mount = mkdtempSync(join(tmpdir(), 'vn-fake-cgroup2-'));
  t.after(() => rmSync(mount, { recursive: true, force: true }));
  const cgdir = (rel: string, controllers: string, subtree: string): string => {
    const d = join(mount, rel);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'cgroup.controllers'), `${controllers}\n`);
    writeFileSync(join(d, 'cgroup.subtree_control'), subtree ? `${subtree}\n` : '');
    return d;
  };
  // kubepods already hands cpu/memory/pids down; pod1 (holds no process) does not yet;
  // this process sits in pod1/handler.
  cgdir('', 'cpuset cpu io memory hugetlb pids rdma', 'cpu memory pids');
  cgdir('kubepods', 'cpu memory pids', 'cpu memory pids');
  cgdir('kubepods/pod1', 'cpu memory pids', '');
  cgdir('kubepods/pod1/handler', '', '');
  // What the kernel would make on mkdir of the VM root: pre-made, as plain files cannot appear by themselves.
  cgdir('kubepods/pod1/virtnode', 'cpu memory pids', '');

  const layout = detectCgroups({
    mountinfo: `41 31 0:38 / ${mount} rw,relatime - cgroup2 cgroup2 rw,nsdelegate`,
    procCgroup: '0::/kubepods/pod1/handler\n',
  });
  assert.equal(layout.version, 2);
  const [h] = layout.hierarchies;
  assert.deepEqual(h!.controllers, ['cpu', 'memory', 'pids']);
  assert.equal(h!.vmRootPath, '/kubepods/pod1/virtnode', 'beside the process\'s own cgroup, not beneath it');

  const cg = VmCgroup.create(layout, 'vmi-a', { memoryBytes: 256 << 20, cpuRequestMillis: 500, cpuLimitMillis: 1500, pidsMax: 100 });
  const file = (rel: string): string => readFileSync(join(mount, rel), 'utf8');
  assert.equal(file('cgroup.subtree_control'), 'cpu memory pids\n', 'already enabled: not written');
  assert.equal(file('kubepods/cgroup.subtree_control'), 'cpu memory pids\n');
  assert.equal(file('kubepods/pod1/cgroup.subtree_control'), '+cpu +memory +pids');
  assert.equal(file('kubepods/pod1/virtnode/cgroup.subtree_control'), '+cpu +memory +pids');
  assert.equal(file('kubepods/pod1/handler/cgroup.subtree_control'), '', 'the own cgroup (holding processes) is never asked');
  assert.equal(file('kubepods/pod1/virtnode/vmi-a/memory.max'), String(256 << 20));
  assert.equal(file('kubepods/pod1/virtnode/vmi-a/cpu.weight'), '20');
  assert.equal(file('kubepods/pod1/virtnode/vmi-a/cpu.max'), '150000 100000');
  assert.equal(file('kubepods/pod1/virtnode/vmi-a/pids.max'), '100');
  assert.equal(cg.path('memory'), join(mount, 'kubepods/pod1/virtnode/vmi-a'));

  const sleeper = track(t, spawn('sleep', ['30'], { stdio: 'ignore' }));
  await cg.addProcess(sleeper.pid!);
  assert.equal(file('kubepods/pod1/virtnode/vmi-a/cgroup.procs'), String(sleeper.pid));
  assert.deepEqual(cg.pids(), [sleeper.pid]);
  assert.deepEqual(cg.enterArgv(['qemu'])[2], `echo $$ > '${join(mount, 'kubepods/pod1/virtnode/vmi-a/cgroup.procs')}' && exec "$@"`);

  const leaf = join(mount, 'kubepods/pod1/virtnode/vmi-a');
  writeFileSync(join(leaf, 'memory.current'), '1048576\n');
  writeFileSync(join(leaf, 'cpu.stat'), 'usage_usec 4242\nuser_usec 4000\nsystem_usec 242\n');
  writeFileSync(join(leaf, 'memory.events'), 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n');
  assert.deepEqual(cg.stats(), { memoryUsageBytes: 1048576, cpuUsageMicros: 4242, oomKills: 1, processes: 1 });

  // killAll writes cgroup.kill and waits for "populated 0"; a stand-in kernel flips it.
  writeFileSync(join(leaf, 'cgroup.kill'), '');
  writeFileSync(join(leaf, 'cgroup.events'), 'populated 1\nfrozen 0\n');
  const kernel = setInterval(() => {
    if (readFileSync(join(leaf, 'cgroup.kill'), 'utf8') === '1') writeFileSync(join(leaf, 'cgroup.events'), 'populated 0\nfrozen 0\n');
  }, 5);
  t.after(() => clearInterval(kernel));
  await cg.killAll({ timeoutMs: 2000 });
  assert.equal(file('kubepods/pod1/virtnode/vmi-a/cgroup.kill'), '1');
  assert.equal(await exitSignal(sleeper), 'SIGKILL', 'the listed pid is killed too');

  // A controller the tree does not offer is named, not silently skipped.
  const noMemory = { ...layout, hierarchies: [{ ...h!, controllers: ['cpu', 'pids'] }] };
  assert.throws(() => VmCgroup.create(noMemory, 'vmi-b', { memoryBytes: 1 << 30 }), (e: unknown) =>
    e instanceof CgroupError && /the memory controller is not available for memory\.max \(this host offers: cpu, pids\)/.test(e.message));
  assert.equal(existsSync(join(mount, 'kubepods/pod1/virtnode/vmi-b')), false, 'nothing half-made');
});

test('real cgroup2 tree of this host (forced version 2): membership, cgroup.kill, populated, rmdir', { skip: !cgroup2Mount && 'no cgroup2 filesystem is mounted', timeout: 30_000 }, async (t) => {
  const layout = realLayout(t, { version: 2 });
  assert.equal(layout.version, 2);
  const [h] = layout.hierarchies;
  const cg = VmCgroup.create(layout, 'vmi-v2');
  assert.ok(existsSync(join(h!.vmRootDir, 'vmi-v2', 'cgroup.kill')), 'kernel made cgroup.kill (Linux 5.14+)');
  const argv = cg.enterArgv(['sh', '-c', 'echo up; while true; do sleep 10 & done']);
  const loop = track(t, spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'ignore'] }));
  await once(loop.stdout!, 'data');
  assert.equal(cg.isEmpty(), false);
  assert.ok(cg.pids().includes(loop.pid!));
  assert.equal(vmCgroupOfProcess(layout, loop.pid!), 'vmi-v2');
  if (!h!.controllers.includes('memory')) {
    assert.throws(() => cg.setLimits({ memoryBytes: 1 << 30 }), /the memory controller is not available/);
  }
  await cg.killAll({ timeoutMs: 5000 });
  assert.equal(readFileSync(join(h!.vmRootDir, 'vmi-v2', 'cgroup.events'), 'utf8').match(/populated (\d)/)![1], '0');
  assert.equal(await exitSignal(loop), 'SIGKILL');
  await cg.destroy();
  assert.equal(existsSync(join(h!.vmRootDir, 'vmi-v2')), false);
});

test('pure cgroup v2 host: VM cgroups beside this process\'s cgroup with memory/cpu/pids enabled, limits applied', { skip: !pureV2 && 'this host is not pure cgroup v2 (no /sys/fs/cgroup/cgroup.controllers); the v2 path is covered by the tests above', timeout: 30_000 }, async (t) => {
  const layout = realLayout(t, {});
  assert.equal(layout.version, 2);
  const [h] = layout.hierarchies;
  assert.deepEqual(h!.controllers, ['cpu', 'memory', 'pids']);
  const cg = VmCgroup.create(layout, 'vmi-pure', { memoryBytes: 96 << 20, cpuRequestMillis: 1000, cpuLimitMillis: 500, pidsMax: 64 });
  const dir = join(h!.vmRootDir, 'vmi-pure');
  assert.equal(readFileSync(join(dir, 'memory.max'), 'utf8').trim(), String(96 << 20));
  assert.equal(readFileSync(join(dir, 'cpu.weight'), 'utf8').trim(), '39');
  assert.equal(readFileSync(join(dir, 'cpu.max'), 'utf8').trim(), '50000 100000');
  assert.equal(readFileSync(join(dir, 'pids.max'), 'utf8').trim(), '64');
  const argv = cg.enterArgv([process.execPath, '-e', 'const b = Buffer.alloc(512 << 20); b.fill(1)']);
  const child = track(t, spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' }));
  assert.equal(await exitSignal(child), 'SIGKILL');
  assert.ok((cg.stats().oomKills ?? 0) >= 1);
  await cg.destroy();
  assert.equal(existsSync(dir), false);
});
