// Firmware (SeaBIOS with sgabios, OVMF with and without Secure Boot), SMM and the
// TPM: VMI → Domain → argv, what QEMU and swtpm are shown, where the handler keeps
// their state, and the launch contract carrying it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildArgv } from '../../launcher/domain/argv.js';
import { qemuView } from '../../launcher/domain/confine.js';
import { vmiToDomain } from '../../launcher/domain/convert.js';
import { ensureNvram, OVMF, OVMF_SECURE_BOOT } from '../../launcher/domain/devices/firmware.js';
import { swtpmArgv, swtpmView } from '../../launcher/domain/swtpm.js';
import { decodeLaunchContext, encodeLaunchContext, type LaunchContext } from '../../proto/launch.js';
import { VirtnodeError } from '../../proto/errors.js';
import { deviceStateOf, VmStateDirs } from '../../handler/sandbox/device-state.js';
import { context, gettingStarted } from './domain-fixtures.js';

const RUN = '/run/virtnode/vmis/x';
const DISK = { containerdisk: { path: '/d/containerdisk.qcow2', format: 'qcow2' as const } };
const NVRAM = '/var/lib/virtnode/vms/u1/efi-vars-secureboot.fd';
const TPM_DIR = '/var/lib/virtnode/vms/u1/tpm';

function after(argv: string[], flag: string): string[] {
  return argv.flatMap((a, i) => (argv[i - 1] === flag ? [a] : []));
}

test('efi: {} with SMM: the Secure Boot OVMF as pflash, the VM\'s variable store writable, smm=on, secure pflash', () => {
  const v = gettingStarted();
  v.spec.domain.firmware = { bootloader: { efi: {} } };
  v.spec.domain.features = { acpi: { enabled: true }, smm: {} };
  const d = vmiToDomain(v, context(RUN, DISK, { deviceState: { nvram: NVRAM } }));
  assert.deepEqual(d.boot.efi, { code: OVMF_SECURE_BOOT.code, varsTemplate: OVMF_SECURE_BOOT.vars, vars: NVRAM, secureBoot: true });
  assert.equal(d.machine.smm, true);
  const argv = buildArgv(d);
  const machine = after(argv, '-machine')[0]!;
  assert.match(machine, /,smm=on,pflash0=pflash-code,pflash1=pflash-vars$/);
  const blockdevs = after(argv, '-blockdev').map((b) => JSON.parse(b) as Record<string, unknown>);
  assert.deepEqual(blockdevs.slice(0, 4), [
    { driver: 'file', filename: '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd', 'node-name': 'pflash-code-file', 'read-only': true },
    { driver: 'raw', file: 'pflash-code-file', 'node-name': 'pflash-code', 'read-only': true },
    { driver: 'file', filename: NVRAM, 'node-name': 'pflash-vars-file', 'read-only': false },
    { driver: 'raw', file: 'pflash-vars-file', 'node-name': 'pflash-vars', 'read-only': false },
  ]);
  assert.deepEqual(after(argv, '-global'), ['driver=cfi.pflash01,property=secure,value=on']);
  // QEMU sees its variable store (its own, writable); the code is under /usr.
  assert.deepEqual(qemuView(d, RUN).files.find((f) => f.path === NVRAM), { path: NVRAM, writable: true, own: true });
  assert.ok(!qemuView(d, RUN).files.some((f) => f.path.startsWith('/usr/')));
});

test('efi with secureBoot false: the plain OVMF build, no secure pflash; SMM as features.smm says, else QEMU\'s', () => {
  const v = gettingStarted();
  v.spec.domain.firmware = { bootloader: { efi: { secureBoot: false } } };
  let d = vmiToDomain(v, context(RUN, DISK, { deviceState: { nvram: '/x/efi-vars.fd' } }));
  assert.deepEqual(d.boot.efi, { code: OVMF.code, varsTemplate: OVMF.vars, vars: '/x/efi-vars.fd', secureBoot: false });
  assert.equal(d.machine.smm, undefined);
  let argv = buildArgv(d);
  assert.deepEqual(after(argv, '-global'), []);
  assert.doesNotMatch(after(argv, '-machine')[0]!, /smm=/);
  v.spec.domain.features = { smm: { enabled: false } };
  d = vmiToDomain(v, context(RUN, DISK, { deviceState: { nvram: '/x/efi-vars.fd' } }));
  argv = buildArgv(d);
  assert.match(after(argv, '-machine')[0]!, /,smm=off,pflash0=/);
  // No place for the variables: the handler's bug, said as such.
  assert.throws(() => vmiToDomain(v, context(RUN, DISK)), (e: unknown) => e instanceof VirtnodeError && e.code === 'VN_INTERNAL' && /deviceState\.nvram/.test(e.message));
});

test('bios: SeaBIOS as QEMU\'s default; useSerial adds sgabios', () => {
  const v = gettingStarted();
  let argv = buildArgv(vmiToDomain(v, context(RUN, DISK)));
  assert.ok(!argv.includes('sga'));
  assert.ok(!argv.some((a) => a.startsWith('pflash') || a.includes('pflash0')));
  v.spec.domain.firmware = { bootloader: { bios: { useSerial: true } } };
  argv = buildArgv(vmiToDomain(v, context(RUN, DISK)));
  assert.deepEqual(after(argv, '-device').filter((x) => x === 'sga'), ['sga']);
  v.spec.domain.firmware = { bootloader: { bios: { useSerial: false } } };
  assert.ok(!buildArgv(vmiToDomain(v, context(RUN, DISK))).includes('sga'));
});

test('tpm: tpm-tis, or tpm-crb when persistent (KubeVirt), on swtpm\'s socket in QEMU\'s directory; enabled false: none', () => {
  const v = gettingStarted();
  v.spec.domain.devices.tpm = {};
  let d = vmiToDomain(v, context(RUN, DISK, { deviceState: { tpmDir: TPM_DIR } }));
  assert.deepEqual(d.tpm, { model: 'tpm-tis', socket: `${RUN}/qemu/swtpm.sock`, stateDir: TPM_DIR });
  let argv = buildArgv(d);
  assert.deepEqual(after(argv, '-chardev').filter((c) => c.includes('chrtpm')), [`socket,id=chrtpm,path=${RUN}/qemu/swtpm.sock`]);
  assert.deepEqual(after(argv, '-tpmdev'), ['emulator,id=tpm-tpm0,chardev=chrtpm']);
  assert.ok(after(argv, '-device').includes('tpm-tis,tpmdev=tpm-tpm0,id=tpm0'));
  // QEMU gets no part of the TPM state: only swtpm does.
  assert.ok(!qemuView(d, RUN).files.some((f) => f.path.startsWith(TPM_DIR)));
  v.spec.domain.devices.tpm = { persistent: true };
  d = vmiToDomain(v, context(RUN, DISK, { deviceState: { tpmDir: TPM_DIR } }));
  argv = buildArgv(d);
  assert.ok(after(argv, '-device').includes('tpm-crb,tpmdev=tpm-tpm0,id=tpm0'));
  v.spec.domain.devices.tpm = { enabled: false };
  d = vmiToDomain(v, context(RUN, DISK));
  assert.equal(d.tpm, undefined);
  assert.ok(!buildArgv(d).includes('-tpmdev'));
});

test('swtpm: a TPM 2.0 on a unix control socket, ending with its client, seeing its state and the socket directory only', () => {
  const t = { model: 'tpm-crb' as const, socket: `${RUN}/qemu/swtpm.sock`, stateDir: TPM_DIR };
  assert.deepEqual(swtpmArgv(t), [
    '/usr/bin/swtpm', 'socket', '--tpm2', '--tpmstate', `dir=${TPM_DIR},mode=0600`, '--ctrl', `type=unixio,path=${RUN}/qemu/swtpm.sock,mode=0600`,
    '--terminate', '--seccomp', 'action=kill', '--log', 'level=1',
  ]);
  assert.deepEqual(swtpmView(t, RUN), { root: `${RUN}/swtpm-root`, socketDir: `${RUN}/qemu`, files: [{ path: TPM_DIR, writable: true, own: true, dir: true }], ownDevices: [] });
  // swtpm splits its options at ',' with no escape.
  assert.throws(() => swtpmArgv({ ...t, stateDir: '/a,b/tpm' }), (e: unknown) => e instanceof VirtnodeError && e.code === 'VN_SANDBOX');
});

test('device state: a VM\'s persistent NVRAM and TPM in its own directory, else the VMI\'s; named by the OVMF build', () => {
  const dirs = new VmStateDirs('/var/lib/virtnode');
  const v = gettingStarted();
  assert.equal(deviceStateOf(v, '/vmi/disks', dirs), undefined);
  v.spec.domain.firmware = { bootloader: { efi: { persistent: true } } };
  v.spec.domain.devices.tpm = { persistent: true };
  // A bare VMI: its "persistent" state is its own (KubeVirt ties the PVC to the VMI then).
  assert.deepEqual(deviceStateOf(v, '/vmi/disks', dirs), { nvram: '/vmi/disks/efi-vars-secureboot.fd', tpmDir: '/vmi/disks/tpm' });
  v.metadata.ownerReferences = [{ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name: 'vm-cirros', uid: 'vm-uid-1', controller: true }];
  assert.deepEqual(deviceStateOf(v, '/vmi/disks', dirs), { nvram: '/var/lib/virtnode/vms/vm-uid-1/efi-vars-secureboot.fd', tpmDir: '/var/lib/virtnode/vms/vm-uid-1/tpm' });
  v.spec.domain.firmware = { bootloader: { efi: { secureBoot: false } } };
  v.spec.domain.devices.tpm = { persistent: true, enabled: false };
  assert.deepEqual(deviceStateOf(v, '/vmi/disks', dirs), { nvram: '/vmi/disks/efi-vars.fd' });
  assert.throws(() => dirs.dirOf('../x'));
});

test('the launch contract carries the device state, and refuses a relative path', () => {
  const ctx: LaunchContext = { runDir: RUN, accelerator: 'tcg', volumes: {}, deviceState: { nvram: NVRAM, tpmDir: TPM_DIR } };
  const wire = encodeLaunchContext(ctx);
  assert.deepEqual(decodeLaunchContext(wire as never).deviceState, { nvram: NVRAM, tpmDir: TPM_DIR });
  assert.equal(decodeLaunchContext(encodeLaunchContext({ ...ctx, deviceState: undefined }) as never).deviceState, undefined);
  assert.throws(() => decodeLaunchContext({ ...wire, deviceState: { nvram: 'rel.fd', tpmDir: '' } } as never), /context\.deviceState\.nvram/);
});

test('ensureNvram: the template copied on first use, the VM\'s own variables kept after', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vn-nvram-'));
  try {
    const template = join(dir, 'template.fd');
    writeFileSync(template, 'template');
    const efi = { code: OVMF.code, varsTemplate: template, vars: join(dir, 'vm', 'efi-vars.fd'), secureBoot: false };
    ensureNvram(efi);
    assert.equal(readFileSync(efi.vars, 'utf8'), 'template');
    writeFileSync(efi.vars, 'written by the guest');
    ensureNvram(efi);
    assert.equal(readFileSync(efi.vars, 'utf8'), 'written by the guest');
    assert.throws(() => ensureNvram({ ...efi, vars: join(dir, 'other.fd'), varsTemplate: join(dir, 'missing.fd') }), (e: unknown) => e instanceof VirtnodeError && e.code === 'VN_SANDBOX');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
