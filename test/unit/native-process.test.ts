// prctl, pidfd, parent-death and CPU affinity against the real kernel, on real child processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import {
  setParentDeathSignal, getParentDeathSignal, setChildSubreaper, isChildSubreaper, setProcessName, getProcessName,
  pidfdOpen, pidfdSendSignal, pidfdIsAlive, closeFd, setCpuAffinity, getCpuAffinity, pdeathsigArgv, hasSetpriv, SETPRIV,
  NativeError,
} from '../../native/index.js';
import { NATIVE_URL, nodeScript, readLines, runScript, waitDead, killQuietly } from './native-support.js';

test('prctl: parent-death signal, subreaper and name round-trip through the kernel (in a child)', { timeout: 30_000 }, async () => {
  // A child so this test process keeps its own settings.
  const out = await runScript(`
    import * as n from ${JSON.stringify(NATIVE_URL)};
    import { readFileSync } from 'node:fs';
    const r = { before: n.getParentDeathSignal() };
    n.setParentDeathSignal('SIGTERM'); r.term = n.getParentDeathSignal();
    n.setParentDeathSignal(0); r.cleared = n.getParentDeathSignal();
    n.setChildSubreaper(true); r.sub = n.isChildSubreaper();
    r.status = readFileSync('/proc/self/status', 'utf8').match(/^Name:\\s*(.*)$/m)[1];
    n.setProcessName('vn-launcher'); r.name = n.getProcessName();
    r.comm = readFileSync('/proc/self/comm', 'utf8').trim();
    console.log(JSON.stringify(r));`);
  const r = JSON.parse(out);
  assert.equal(r.before, 0);
  assert.equal(r.term, 15);
  assert.equal(r.cleared, 0);
  assert.equal(r.sub, true);
  assert.equal(r.name, 'vn-launcher');
  assert.equal(r.comm, 'vn-launcher');
  assert.equal(r.status, 'node', 'the name before PR_SET_NAME');
});

test('prctl: a name the kernel would truncate is refused, naming the call', () => {
  assert.throws(() => setProcessName('a-name-longer-than-15'), (e: unknown) =>
    e instanceof NativeError && e.code === 'VN_NATIVE' && /^prctl\(PR_SET_NAME\): name must be 1-15 bytes/.test(e.message));
  assert.throws(() => setParentDeathSignal('SIGNOPE'), /unknown signal "SIGNOPE"/);
  // In this process: only reads, and a set-then-restore of the subreaper flag.
  assert.equal(getParentDeathSignal(), 0);
  assert.equal(getProcessName(), readFileSync('/proc/self/comm', 'utf8').trim());
  const was = isChildSubreaper();
  setChildSubreaper(!was);
  assert.equal(isChildSubreaper(), !was);
  setChildSubreaper(was);
});

/**
 * Starts an intermediate node process that spawns `grandchild` (an argv) and prints
 * its pid once it is ready, then SIGKILLs the intermediate and reports whether the
 * grandchild died with it.
 */
async function killParentOf(t: import('node:test').TestContext, grandchildCode: string, wrap: boolean, waitMs: number): Promise<{ died: boolean; comm: string }> {
  const parent = nodeScript(`
    import { spawn } from 'node:child_process';
    import * as n from ${JSON.stringify(NATIVE_URL)};
    const argv = [process.execPath, '--input-type=module', '-e', ${JSON.stringify(grandchildCode)}];
    const c = spawn(...(a => [a[0], a.slice(1)])(${wrap} ? n.pdeathsigArgv(argv, 'KILL') : argv), { stdio: ['ignore', 'pipe', 'inherit'] });
    c.stdout.once('data', () => console.log(c.pid));`);
  t.after(() => killQuietly(parent.pid));
  const [line] = await readLines(parent, 1);
  const pid = Number(line);
  t.after(() => killQuietly(pid));
  const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  const pidfd = pidfdOpen(pid);
  t.after(() => closeFd(pidfd));
  assert.equal(pidfdIsAlive(pidfd), true);
  parent.kill('SIGKILL');
  await once(parent, 'exit');
  const died = await waitDead(pidfd, waitMs);
  return { died, comm };
}

test('pdeathsig: a child that set it dies when its parent is SIGKILLed; one that did not survives', { timeout: 30_000 }, async (t) => {
  const withSignal = await killParentOf(t,
    `import * as n from ${JSON.stringify(NATIVE_URL)}; n.setParentDeathSignal('SIGKILL'); console.log('ready'); setInterval(() => {}, 1000);`, false, 3000);
  assert.equal(withSignal.died, true, 'child with PR_SET_PDEATHSIG outlived its parent');
  const without = await killParentOf(t, `console.log('ready'); setInterval(() => {}, 1000);`, false, 1000);
  assert.equal(without.died, false, 'control: a plain child should survive its parent');
});

test('pdeathsigArgv: a program started through setpriv dies when its node parent is SIGKILLed', { skip: !hasSetpriv() && `${SETPRIV} is missing (util-linux)`, timeout: 30_000 }, async (t) => {
  assert.deepEqual(pdeathsigArgv(['qemu-system-x86_64', '-S']), [SETPRIV, '--pdeathsig', 'KILL', '--', 'qemu-system-x86_64', '-S']);
  assert.deepEqual(pdeathsigArgv(['x'], 15), [SETPRIV, '--pdeathsig', 'TERM', '--', 'x']);
  const wrapped = await killParentOf(t, `console.log('ready'); setInterval(() => {}, 1000);`, true, 3000);
  assert.equal(wrapped.comm, 'node', 'setpriv should have exec()ed the program in place');
  assert.equal(wrapped.died, true, 'program under setpriv --pdeathsig outlived its parent');
});

test('pidfd: open a real child, see it alive, kill it through the pidfd, see it dead, then ESRCH', { timeout: 30_000 }, async (t) => {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.after(() => killQuietly(child.pid));
  const pidfd = pidfdOpen(child.pid!);
  t.after(() => closeFd(pidfd));
  assert.ok(pidfd > 2);
  assert.equal(pidfdIsAlive(pidfd), true);
  pidfdSendSignal(pidfd, 0); // existence probe
  assert.equal(pidfdIsAlive(pidfd), true);
  pidfdSendSignal(pidfd, 'SIGKILL');
  const [, signal] = await once(child, 'exit');
  assert.equal(signal, 'SIGKILL');
  assert.equal(pidfdIsAlive(pidfd), false);
  assert.throws(() => pidfdSendSignal(pidfd, 'SIGTERM'), (e: unknown) =>
    e instanceof NativeError && e.errno === 3 && e.errnoName === 'ESRCH' && /pidfd_send_signal\(\d+\): no such process \(ESRCH\)/.test(e.message));
});

test('pidfd: isAlive answers at once for an exited process; errors are named', { timeout: 30_000 }, async (t) => {
  const child = spawn('true', [], { stdio: 'ignore' });
  t.after(() => killQuietly(child.pid));
  const pidfd = pidfdOpen(child.pid!);
  t.after(() => closeFd(pidfd));
  assert.equal(await waitDead(pidfd, 3000), true);
  const start = process.hrtime.bigint();
  for (let i = 0; i < 1000; i++) pidfdIsAlive(pidfd);
  assert.ok(process.hrtime.bigint() - start < 500_000_000n, '1000 polls must not block');
  assert.throws(() => pidfdOpen(2 ** 22 + 12345), /pidfd_open\(\d+\): no such process \(ESRCH\)/);
  assert.throws(() => pidfdOpen(-1), /pid must be a positive integer/);
  assert.throws(() => pidfdIsAlive(987654), /POLLNVAL/);
});

test('affinity: pin a real child to one CPU, read it back from the kernel and /proc, then widen again', { timeout: 30_000 }, async (t) => {
  const all = getCpuAffinity(0);
  assert.ok(all.length >= 1);
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.after(() => killQuietly(child.pid));
  const last = all[all.length - 1]!;
  setCpuAffinity(child.pid!, [last]);
  assert.deepEqual(getCpuAffinity(child.pid!), [last]);
  assert.match(readFileSync(`/proc/${child.pid}/status`, 'utf8'), new RegExp(`^Cpus_allowed_list:\\s*${last}$`, 'm'));
  setCpuAffinity(child.pid!, all);
  assert.deepEqual(getCpuAffinity(child.pid!), all);
  assert.throws(() => setCpuAffinity(child.pid!, [1023]), (e: unknown) => e instanceof NativeError && e.errnoName === 'EINVAL');
  assert.throws(() => setCpuAffinity(child.pid!, [1024]), /out of range/);
  assert.throws(() => setCpuAffinity(child.pid!, []), /must not be empty/);
});
