// Per-VM device state directories (handler/sandbox/device-state.ts): listed, removed,
// and swept at start when their VM is gone.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { VmStateDirs } from '../../handler/sandbox/device-state.js';
import { VmController } from '../../handler/controller/vm.js';
import type { Store } from '../../handler/store/store.js';
import type { VmiController } from '../../handler/controller/vmi.js';

test('a VM\'s device state: removed with it, and swept at start when its VM no longer exists', async () => {
  const root = mkdtempSync(join(tmpdir(), 'vn-devstate-'));
  try {
    const dirs = new VmStateDirs(root);
    assert.deepEqual(await dirs.list(), []);
    for (const uid of ['live-1', 'gone-2']) {
      mkdirSync(join(dirs.dirOf(uid), 'tpm'), { recursive: true });
      writeFileSync(join(dirs.dirOf(uid), 'efi-vars.fd'), 'x');
    }
    assert.deepEqual((await dirs.list()).sort(), ['gone-2', 'live-1']);
    const store = { list: () => [{ metadata: { name: 'a', namespace: 'default', uid: 'live-1' } }] } as unknown as Store;
    const vms = new VmController({ store, log: pino({ level: 'silent' }), vmis: {} as VmiController, vmStateDirs: dirs });
    await vms.sweepDeviceState();
    vms.stop();
    assert.ok(existsSync(join(dirs.dirOf('live-1'), 'efi-vars.fd')), 'a live VM keeps its state');
    assert.ok(!existsSync(dirs.dirOf('gone-2')), 'a gone VM\'s state is swept');
    await dirs.remove('live-1');
    assert.deepEqual(await dirs.list(), []);
    assert.throws(() => dirs.dirOf('../etc'), /not a plain name/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
