// Both ways a tap reaches QEMU: inherited as an fd at spawn (the NIC the guest
// boots with) and over the QMP socket with SCM_RIGHTS (getfd), which is what a NIC
// hot-plugged into a running guest needs. The guest must see both NICs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './harness.js';
import { ensureGuest } from '../guest/index.js';

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'ignore' });
}

test('a NIC inherited at spawn and a NIC hot-plugged over QMP getfd both reach the guest', async (t) => {
  const guest = await ensureGuest();
  const ns = `vnhp-${Math.random().toString(36).slice(2, 8)}`;
  const runDir = mkdtempSync('/tmp/vnhp-');
  ip('netns', 'add', ns);
  t.after(() => {
    try {
      ip('netns', 'del', ns);
    } catch {
      /* gone */
    }
    rmSync(runDir, { recursive: true, force: true });
  });
  for (const tap of ['tap0', 'tap1']) {
    ip('netns', 'exec', ns, 'ip', 'tuntap', 'add', tap, 'mode', 'tap', 'vnet_hdr');
    ip('netns', 'exec', ns, 'ip', 'link', 'set', tap, 'up');
  }
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, join(ROOT, 'dist', 'test', 'e2e', 'helpers', 'hotplug-vm.js'), runDir, guest.disk], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b) => (stdout += b));
  child.stderr.on('data', (b) => (stderr += b));
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  assert.equal(code, 0, `child failed: ${stderr.slice(-2000)}`);
  const res = JSON.parse(stdout.trim().split('\n').at(-1)!) as { before: string[]; after: string[]; eth0: string; eth1: string; capEff: string };
  // The hot-plug ran with only what the launcher keeps once QEMU runs (CAP_KILL): no CAP_NET_ADMIN.
  assert.equal(res.capEff, '0000000000000020', 'the hot-plugging thread held CAP_KILL alone');
  assert.ok(res.before.includes('eth0') && !res.before.includes('eth1'), `before: ${res.before.join(' ')}`);
  assert.equal(res.eth0, '52:54:00:00:00:10', 'the inherited tap is the boot NIC');
  assert.ok(res.after.includes('eth1'), `the hot-plugged NIC appeared in the guest: ${res.after.join(' ')}`);
  assert.equal(res.eth1, '52:54:00:00:00:11');
});
