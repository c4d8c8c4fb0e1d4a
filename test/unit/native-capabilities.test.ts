// Capabilities (native/capabilities.ts) against the real kernel, in child processes so
// that this test process keeps its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, chownSync } from 'node:fs';
import { join } from 'node:path';
import { capabilityMask, capabilityNames, threadCapabilities, NativeError } from '../../native/index.js';
import { NATIVE_URL, runScript } from './native-support.js';

test('capability sets by name and back', () => {
  assert.equal(capabilityMask(['kill']), 0x20n);
  assert.equal(capabilityMask(['kill', 'net_admin', 'sys_admin']), (1n << 5n) | (1n << 12n) | (1n << 21n));
  assert.deepEqual(capabilityNames(0x1020n), ['kill', 'net_admin']);
  assert.deepEqual(capabilityNames(1n << 45n), ['cap_45']);
  assert.throws(() => capabilityMask(['cap_nope' as never]), (e) => e instanceof NativeError && /unknown capability "cap_nope"/.test(e.message));
});

const root = threadCapabilities().effective & (1n << 21n) ? undefined : 'needs CAP_SYS_ADMIN (root)';

test('limiting: the calling thread and every libuv pool thread keep only CAP_KILL; the main thread\'s bounding set too', { skip: root, timeout: 30_000 }, async () => {
  const dir = mkdtempSync('/tmp/vn-caps-');
  try {
    // A file only its owner (107) may read: root reads it with CAP_DAC_OVERRIDE, and not without.
    const file = join(dir, 'private');
    writeFileSync(file, 'x', { mode: 0o600 });
    chownSync(file, 107, 107);
    const out = await runScript(`
      import * as n from ${JSON.stringify(NATIVE_URL)};
      import { readFileSync, promises as fsp } from 'node:fs';
      import { spawn } from 'node:child_process';
      const hex = (v) => '0x' + v.toString(16);
      const r = {};
      r.beforeSync = readFileSync(${JSON.stringify(file)}, 'utf8');
      r.beforeAsync = await fsp.readFile(${JSON.stringify(file)}, 'utf8');
      // A process of another uid, to signal once the capabilities are gone.
      const other = spawn('setpriv', ['--reuid=107', '--regid=107', '--clear-groups', 'sleep', '30'], { stdio: 'ignore' });
      await new Promise((res) => other.once('spawn', res));
      const t = n.limitThreadCapabilities(n.capabilityMask(['kill']));
      r.thread = { eff: hex(t.effective), prm: hex(t.permitted), inh: hex(t.inheritable) };
      const pool = await n.limitPoolCapabilities();
      r.pool = { complete: pool.complete, limited: pool.limited.length, rounds: pool.rounds };
      r.prm = [...n.permittedByThread().values()].map(hex);
      const status = readFileSync('/proc/self/status', 'utf8');
      r.bnd = status.match(/^CapBnd:\\s*(\\S+)/m)[1];
      r.nnp = status.match(/^NoNewPrivs:\\s*(\\S+)/m)[1];
      r.afterSync = (() => { try { return readFileSync(${JSON.stringify(file)}, 'utf8'); } catch (e) { return e.code; } })();
      // Four at once, so every pool thread is asked.
      r.afterAsync = await Promise.all([0, 1, 2, 3].map(() => fsp.readFile(${JSON.stringify(file)}, 'utf8').catch((e) => e.code)));
      r.kill = other.kill('SIGKILL');
      await new Promise((res) => other.once('exit', res));
      console.log(JSON.stringify(r));`);
    const r = JSON.parse(out);
    assert.equal(r.beforeSync, 'x');
    assert.equal(r.beforeAsync, 'x');
    assert.deepEqual(r.thread, { eff: '0x20', prm: '0x20', inh: '0x0' });
    assert.equal(r.pool.complete, true, JSON.stringify(r));
    assert.ok(r.prm.filter((p: string) => p === '0x20').length >= 5, `main + 4 pool threads: ${r.prm.join(' ')}`);
    assert.equal(r.bnd, '0000000000000020');
    assert.equal(r.nnp, '1');
    assert.equal(r.afterSync, 'EACCES', 'the main thread lost CAP_DAC_OVERRIDE');
    assert.deepEqual(r.afterAsync, ['EACCES', 'EACCES', 'EACCES', 'EACCES'], 'so did every pool thread');
    assert.equal(r.kill, true, 'CAP_KILL kept: a process of another uid can still be killed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
