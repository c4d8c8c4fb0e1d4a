// How native/ fails when it cannot work at all, that it loads koffi only on first use,
// and what one call costs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { libcFunction } from '../../native/libc.js';
import { errnoError } from '../../native/errors.js';
import { errnoName, NativeError, signalNumber } from '../../native/index.js';
import { runScript } from './native-support.js';

const DIST = fileURLToPath(new URL('../../', import.meta.url));

test('without koffi: importing native/ still works, and the first call names itself and the cause', { timeout: 30_000 }, async (t) => {
  // A copy of the compiled modules where no node_modules can be found above them.
  const dir = mkdtempSync(join(tmpdir(), 'vn-nokoffi-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(join(DIST, 'native'), join(dir, 'native'), { recursive: true });
  cpSync(join(DIST, 'proto', 'errors.js'), join(dir, 'proto', 'errors.js'));
  const out = await runScript(`
    const n = await import(${JSON.stringify(join(dir, 'native', 'index.js'))});
    const argv = n.pdeathsigArgv(['qemu']);
    const errs = [];
    for (const f of [() => n.pidfdOpen(1), () => n.getParentDeathSignal()]) {
      try { f(); errs.push('no error'); } catch (e) { errs.push(e.code + ' ' + e.message.split('\\n')[0]); }
    }
    console.log(JSON.stringify({ argv, errs }));`);
  const r = JSON.parse(out);
  assert.equal(r.argv.at(-1), 'qemu');
  assert.match(r.errs[0], /^VN_NATIVE pidfd_open\(1\): koffi is not available \(Cannot find module 'koffi'/);
  assert.match(r.errs[1], /^VN_NATIVE prctl\(PR_GET_PDEATHSIG\): koffi is not available/);
});

test('a symbol libc lacks is a VN_NATIVE error naming the call', () => {
  assert.throws(() => libcFunction('frobnicate', 'int vn_no_such_function(int)'), (e: unknown) =>
    e instanceof NativeError && e.code === 'VN_NATIVE' && e.errno === undefined && /^frobnicate: not available in libc\.so\.6/.test(e.message));
});

test('errno and signal names', () => {
  assert.equal(errnoName(1), 'EPERM');
  assert.equal(errnoName(38), 'ENOSYS');
  assert.equal(errnoName(4242), 'errno 4242');
  assert.equal(errnoError('pidfd_open', 38).message, 'pidfd_open: not supported by this kernel (ENOSYS)');
  assert.equal(errnoError('kill(7)', 1, 'try root').message, 'kill(7): operation not permitted (EPERM); try root');
  assert.equal(errnoError('kill(7)', 1).errno, 1);
  assert.equal(signalNumber('x', 'KILL'), 9);
  assert.equal(signalNumber('x', 'SIGTERM'), 15);
  assert.equal(signalNumber('x', 0), 0);
  assert.throws(() => signalNumber('kill', 99), (e: unknown) => e instanceof NativeError && e.message === 'kill: unknown signal 99');
});

test('figure: cost of one trivial koffi call (getpid), averaged over 1e6 calls', (t) => {
  const getpid = libcFunction('getpid', 'int getpid(void)');
  assert.equal(getpid(), process.pid);
  for (let i = 0; i < 10_000; i++) getpid(); // warm-up
  const n = 1_000_000;
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) getpid();
  const ns = Number(process.hrtime.bigint() - start) / n;
  t.diagnostic(`koffi getpid(): ${ns.toFixed(1)} ns per call (mean of ${n})`);
});
