// VM cgroups on this host's real cgroups (v1 hybrid here; v2 where the host is v2):
// limits, membership, OOM, kill, destroy. Every test makes its own cgroup root and
// removes it afterwards, whatever happened.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { until } from './helpers/until.js';
import {
  detectCgroups, VmCgroup, vmCgroupOfProcess, removeCgroupRoot, CgroupError, type CgroupLayout, type DetectOptions,
} from '../../handler/sandbox/cgroup.js';

const host = detectCgroups();
const V = `v${host.version}${host.version === 1 && host.hierarchies.some((h) => h.version === 2) ? ' hybrid' : ''}`;
let serial = 0;

/** A layout with a root of its own, torn down (VM cgroups destroyed, root removed) after the test. */
function testLayout(t: TestContext, options: DetectOptions = {}): CgroupLayout {
  const layout = detectCgroups({ root: `vn-test-${process.pid}-${++serial}`, ...options });
  t.after(async () => {
    for (const name of VmCgroup.list(layout)) await VmCgroup.open(layout, name).destroy();
    assert.ok(removeCgroupRoot(layout), 'test cgroup root left behind');
    for (const h of layout.hierarchies) assert.equal(existsSync(h.vmRootDir), false, `${h.vmRootDir} left behind`);
  });
  return layout;
}

function track(t: TestContext, child: ChildProcess): ChildProcess {
  t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  return child;
}

const read = (cg: VmCgroup, controller: string, file: string): string => readFileSync(join(cg.path(controller)!, file), 'utf8').trim();

test(`real cgroups (${V}): create applies the VMI limits, read back from the kernel's files`, (t) => {
  const layout = testLayout(t);
  const cg = VmCgroup.create(layout, 'vmi-limits', { memoryBytes: 256 << 20, cpuRequestMillis: 500, cpuLimitMillis: 1500, pidsMax: 100 });
  for (const h of layout.hierarchies) assert.ok(existsSync(join(h.vmRootDir, 'vmi-limits')), `missing in ${h.mount}`);
  if (layout.version === 1) {
    assert.equal(read(cg, 'memory', 'memory.limit_in_bytes'), String(256 << 20));
    assert.equal(read(cg, 'cpu', 'cpu.shares'), '512');
    assert.equal(read(cg, 'cpu', 'cpu.cfs_period_us'), '100000');
    assert.equal(read(cg, 'cpu', 'cpu.cfs_quota_us'), '150000');
    assert.equal(read(cg, 'pids', 'pids.max'), '100');
  } else {
    assert.equal(read(cg, 'memory', 'memory.max'), String(256 << 20));
    assert.equal(read(cg, 'cpu', 'cpu.weight'), '20');
    assert.equal(read(cg, 'cpu', 'cpu.max'), '150000 100000');
    assert.equal(read(cg, 'pids', 'pids.max'), '100');
  }
  cg.setLimits({ memoryBytes: 128 << 20, pidsMax: 50 });
  assert.equal(read(cg, 'memory', layout.version === 1 ? 'memory.limit_in_bytes' : 'memory.max'), String(128 << 20));
  assert.equal(read(cg, 'pids', 'pids.max'), '50');
  assert.throws(() => VmCgroup.create(layout, 'vmi-limits'), (e: unknown) => (e as { code?: string }).code === 'VN_ALREADY_EXISTS');
  assert.throws(() => VmCgroup.open(layout, 'no-such-vmi'), (e: unknown) => (e as { code?: string }).code === 'VN_NOT_FOUND');
  assert.deepEqual(VmCgroup.list(layout), ['vmi-limits']);
  // Bad limits are refused before anything is made.
  assert.throws(() => VmCgroup.create(layout, 'vmi-bad', { pidsMax: 0 }), /pidsMax must be an integer >= 1/);
  assert.throws(() => VmCgroup.create(layout, '../escape'), /not a valid cgroup name/);
  assert.deepEqual(VmCgroup.list(layout), ['vmi-limits']);
});

test(`real cgroups (${V}): processes moved in (addProcess) or started in (enterArgv) are listed, children included`, { timeout: 30_000 }, async (t) => {
  const layout = testLayout(t);
  const cg = VmCgroup.create(layout, 'vmi-procs');
  const moved = track(t, spawn('sleep', ['30'], { stdio: 'ignore' }));
  await cg.addProcess(moved.pid!);
  // A shell that forks two sleeps after joining: its children are born inside.
  const argv = cg.enterArgv(['sh', '-c', 'sleep 30 & sleep 30 & echo started; wait']);
  const started = track(t, spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] }));
  await once(started.stdout!, 'data');
  const pids = cg.pids();
  assert.equal(pids.length, 4, `expected sleep + sh + 2 sleeps, got ${pids}`);
  assert.ok(pids.includes(moved.pid!) && pids.includes(started.pid!));
  for (const pid of pids) {
    assert.equal(vmCgroupOfProcess(layout, pid), 'vmi-procs');
    for (const h of layout.hierarchies) {
      const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')
        .find((l) => (h.version === 2 ? l.startsWith('0::') : l.split(':')[1]!.split(',').includes(h.controllers[0]!)));
      assert.equal(line?.split(':')[2], `${h.vmRootPath}/vmi-procs`, `pid ${pid} in ${h.mount}`);
    }
  }
  assert.equal(vmCgroupOfProcess(layout, process.pid), undefined);
  assert.equal(cg.stats().processes, 4);
  await assert.rejects(cg.addProcess(2 ** 22 + 5), (e: unknown) =>
    e instanceof CgroupError && e.errnoName === 'ESRCH' && /^write "4194309" to \/sys\/fs\/cgroup\/.*\/cgroup\.procs: ESRCH \(no such process\)$/.test(e.message));
});

test(`real cgroups (${V}): a process joins by writing its own pid to procsFiles(); holds() tells who is in`, { timeout: 30_000 }, async (t) => {
  const layout = testLayout(t);
  const cg = VmCgroup.create(layout, 'vmi-join');
  const files = cg.procsFiles();
  assert.equal(files.length, layout.hierarchies.length);
  // What a spare launcher does with its assignment: echo its own pid into each file.
  const joiner = track(t, spawn('sh', ['-c', `for f in "$@"; do echo $$ > "$f"; done; echo joined; exec sleep 30`, 'join', ...files], { stdio: ['ignore', 'pipe', 'inherit'] }));
  await once(joiner.stdout!, 'data');
  assert.equal(cg.holds(joiner.pid!), true);
  assert.deepEqual(cg.pids(), [joiner.pid]);
  // Outside in every tree, or gone: not held.
  const outside = track(t, spawn('sleep', ['30'], { stdio: 'ignore' }));
  assert.equal(cg.holds(outside.pid!), false);
  assert.equal(cg.holds(process.pid), false);
  assert.equal(cg.holds(2 ** 22 + 5), false);
  // In one tree only (v1): not held until every tree has it.
  if (files.length > 1) {
    writeFileSync(files[0]!, String(outside.pid));
    assert.equal(cg.holds(outside.pid!), false);
    await cg.addProcess(outside.pid!);
    assert.equal(cg.holds(outside.pid!), true);
  }
});

test(`real cgroups (${V}): pids.max stops forks inside the VM cgroup`, { timeout: 30_000 }, async (t) => {
  const layout = testLayout(t);
  const cg = VmCgroup.create(layout, 'vmi-pids', { pidsMax: 3 });
  // The shell plus two sleeps fill the limit; the third fork fails and the shell gives up.
  const argv = cg.enterArgv(['sh', '-c', 'for i in 1 2 3 4 5 6; do sleep 5 & done; wait']);
  const child = track(t, spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] }));
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += d; });
  const [code] = await once(child, 'exit');
  assert.notEqual(code, 0);
  assert.equal(cg.pids().length, 2, 'the two sleeps that fit');
  assert.match(stderr, /fork/i);
});

test(`real cgroups (${V}): a process over the memory limit is OOM-killed, and stats count it`, { timeout: 30_000 }, async (t) => {
  const layout = testLayout(t);
  const cg = VmCgroup.create(layout, 'vmi-oom', { memoryBytes: 96 << 20 });
  const argv = cg.enterArgv([process.execPath, '-e', 'const b = Buffer.alloc(512 << 20); b.fill(1); console.log("survived")']);
  const child = track(t, spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] }));
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  const [code, signal] = await once(child, 'exit');
  assert.equal(signal, 'SIGKILL', `exit ${code}, stdout ${out}`);
  assert.equal(out, '');
  const stats = cg.stats();
  assert.ok((stats.oomKills ?? 0) >= 1, `oomKills ${stats.oomKills}`);
  assert.ok(stats.memoryUsageBytes !== undefined && stats.memoryUsageBytes < 96 << 20);
});

test(`real cgroups (${V}): stats count the CPU time and memory of the VM's processes`, { timeout: 30_000 }, async (t) => {
  const layout = testLayout(t);
  const cg = VmCgroup.create(layout, 'vmi-stats');
  const before = cg.stats();
  assert.equal(before.processes, 0);
  const argv = cg.enterArgv([process.execPath, '-e', 'const b = Buffer.alloc(32 << 20, 1); const end = Date.now() + 300; while (Date.now() < end); console.log(b.length)']);
  const child = track(t, spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' }));
  await once(child, 'exit');
  const after = cg.stats();
  assert.ok(after.cpuUsageMicros! - (before.cpuUsageMicros ?? 0) >= 200_000, `cpu ${before.cpuUsageMicros} → ${after.cpuUsageMicros}`);
  if (after.memoryUsageBytes !== undefined) assert.ok(after.memoryUsageBytes > 0);
  assert.equal(after.oomKills, 0);
});

/** A shell that keeps forking: killAll must win against it. */
function forkLoop(t: TestContext, cg: VmCgroup): ChildProcess {
  const argv = cg.enterArgv(['sh', '-c', 'echo up; while true; do sleep 10 & done']);
  return track(t, spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'ignore'] }));
}

test(`real cgroups (${V}): killAll empties a cgroup whose process keeps forking, then destroy removes every directory`, { timeout: 30_000 }, async (t) => {
  const layout = testLayout(t);
  const cg = VmCgroup.create(layout, 'vmi-kill');
  const loop = forkLoop(t, cg);
  await once(loop.stdout!, 'data');
  await until('forks', () => cg.pids().length > 5);
  mkdirSync(join(cg.path()!, 'nested')); // a child cgroup (v1 first tree / v2 leaf), removed with it
  const start = Date.now();
  await cg.killAll({ timeoutMs: 5000 });
  t.diagnostic(`killAll of a fork loop: ${Date.now() - start} ms`);
  assert.deepEqual(cg.pids(), []);
  assert.equal(cg.isEmpty(), true);
  await cg.destroy();
  for (const h of layout.hierarchies) assert.equal(existsSync(join(h.vmRootDir, 'vmi-kill')), false, `left in ${h.mount}`);
  await cg.destroy(); // again: nothing to do
  assert.deepEqual(VmCgroup.list(layout), []);
});

test(`real cgroups (${V}): without cgroup.kill (v1 trees only) killAll kills pid by pid until none is left`, { skip: host.version !== 1 && 'host is not cgroup v1', timeout: 30_000 }, async (t) => {
  const full = testLayout(t);
  const layout: CgroupLayout = { ...full, hierarchies: full.hierarchies.filter((h) => h.version === 1) };
  const cg = VmCgroup.create(layout, 'vmi-kill-v1');
  const loop = forkLoop(t, cg);
  await once(loop.stdout!, 'data');
  await until('forks', () => cg.pids().length > 5);
  await cg.destroy({ timeoutMs: 5000 });
  for (const h of layout.hierarchies) assert.equal(existsSync(join(h.vmRootDir, 'vmi-kill-v1')), false);
  const signal = loop.exitCode === null && loop.signalCode === null ? (await once(loop, 'exit'))[1] : loop.signalCode;
  assert.equal(signal, 'SIGKILL');
});

test(`real cgroups (${V}): signalAll sends a chosen signal once to every process`, { timeout: 30_000 }, async (t) => {
  const layout = testLayout(t);
  const cg = VmCgroup.create(layout, 'vmi-signal');
  const a = track(t, spawn('sleep', ['30'], { stdio: 'ignore' }));
  const b = track(t, spawn('sleep', ['30'], { stdio: 'ignore' }));
  await cg.addProcess(a.pid!);
  await cg.addProcess(b.pid!);
  assert.equal(cg.signalAll('SIGTERM'), 2);
  const [[, sa], [, sb]] = await Promise.all([once(a, 'exit'), once(b, 'exit')]);
  assert.equal(sa, 'SIGTERM');
  assert.equal(sb, 'SIGTERM');
  await until('exit from cgroup', () => cg.isEmpty());
});
