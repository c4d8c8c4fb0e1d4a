// CPU features, hypervisor features, clocks and chassis: from the VMI to QEMU's
// options (launcher/domain/devices/cpu-features.ts, clock.ts, machine.ts), and what a
// node judges of them (proto/vmi/validate-node.ts): a TCG node refuses what only KVM
// provides, by path, instead of letting QEMU drop it silently.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildArgv } from '../../launcher/domain/argv.js';
import { vmiToDomain } from '../../launcher/domain/convert.js';
import { clockFromVMI, isoLocal } from '../../launcher/domain/devices/clock.js';
import { applyDefaults } from '../../proto/vmi/index.js';
import type { VirtualMachineInstance } from '../../proto/vmi/types.js';
import { judgeOnNode } from '../../proto/vmi/validate-node.js';
import type { NodeComputeFacts } from '../../proto/node-capabilities.js';
import { context, gettingStarted } from './domain-fixtures.js';

const RUN = '/run/virtnode/vms/x';
const DISK = { containerdisk: { path: '/d/containerdisk.qcow2', format: 'qcow2' as const } };

function withDomain(patch: (d: VirtualMachineInstance['spec']['domain']) => void, accelerator: 'kvm' | 'tcg' = 'tcg'): string[] {
  const vmi = gettingStarted();
  patch(vmi.spec.domain);
  return buildArgv(vmiToDomain(vmi, { ...context(RUN, DISK), accelerator }));
}

const after = (argv: string[], opt: string): string[] => argv.flatMap((a, i) => (argv[i - 1] === opt ? [a] : []));

test('cpu.features by policy: require, force and optional on, disable and forbid off; libvirt names become QEMU\'s', () => {
  const argv = withDomain((d) => {
    d.cpu = { ...d.cpu, model: 'Westmere', features: [{ name: 'pcid' }, { name: 'avx2', policy: 'force' }, { name: 'lahf_lm', policy: 'optional' }, { name: 'sse4.2', policy: 'disable' }, { name: 'vmx', policy: 'forbid' }] };
  });
  assert.deepEqual(after(argv, '-cpu'), ['Westmere,pcid=on,avx2=on,lahf-lm=on,sse4.2=off,vmx=off']);
});

test('under TCG host-model is qemu64 with arat; a VMI that names arat replaces the default', () => {
  assert.deepEqual(after(withDomain(() => undefined), '-cpu'), ['qemu64,arat=on']);
  assert.deepEqual(after(withDomain((d) => (d.cpu = { ...d.cpu, features: [{ name: 'arat', policy: 'disable' }] })), '-cpu'), ['qemu64,arat=off']);
});

test('kvm.hidden, pvspinlock, Hyper-V enlightenments and timers become -cpu flags (KVM)', () => {
  const argv = withDomain((d) => {
    d.features = {
      acpi: { enabled: true },
      kvm: { hidden: true },
      pvspinlock: { enabled: false },
      hyperv: { relaxed: {}, vapic: {}, spinlocks: { spinlocks: 8191 }, vpindex: {}, synic: {}, synictimer: { direct: {} }, tlbflush: { extended: {} }, frequencies: { enabled: false }, vendorid: { vendorid: 'KVMKVMKVM' } },
    };
    d.clock = { utc: {}, timer: { kvm: { present: false }, hyperv: {} } };
  }, 'kvm');
  assert.deepEqual(after(argv, '-cpu'), [
    'host,kvm=off,kvm-pv-unhalt=off,hv-relaxed=on,hv-vapic=on,hv-vpindex=on,hv-synic=on,hv-frequencies=off,hv-spinlocks=0x1fff,hv-stimer=on,hv-stimer-direct=on,hv-tlbflush=on,hv-tlbflush-ext=on,hv-vendor-id=KVMKVMKVM,kvmclock=off,hv-time=on',
  ]);
  assert.deepEqual(after(argv, '-rtc'), ['base=utc']);
});

test('clock: an offset or a time zone fixes the RTC base at start; timers change the machine and the RTC', () => {
  const now = Date.UTC(2026, 11, 3, 21, 4, 5);
  const vmi = gettingStarted();
  vmi.spec.domain.clock = { utc: { offsetSeconds: -3600 } };
  assert.equal(clockFromVMI(vmi, now)?.rtcBase, '2026-12-03T20:04:05');
  vmi.spec.domain.clock = { timezone: 'Asia/Kolkata' };
  assert.equal(clockFromVMI(vmi, now)?.rtcBase, '2026-12-04T02:34:05');
  assert.equal(isoLocal(new Date(Date.UTC(2026, 6, 1, 0, 0, 0)), 'Europe/Paris'), '2026-07-01T02:00:00', 'summer time');

  const argv = withDomain((d) => (d.clock = { timezone: 'UTC', timer: { hpet: { present: false }, pit: { present: false }, rtc: { tickPolicy: 'catchup', track: 'wall' } } }));
  assert.match(after(argv, '-machine')[0]!, /,hpet=off,pit=off$/);
  assert.match(after(argv, '-rtc')[0]!, /^base=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d,clock=host,driftfix=slew$/);
  const kvm = withDomain((d) => (d.clock = { timer: { pit: { tickPolicy: 'discard' } } }), 'kvm');
  assert.deepEqual(after(kvm, '-global').filter((g) => g.startsWith('kvm-pit')), ['kvm-pit.lost_tick_policy=discard']);
});

test('chassis is SMBIOS type 3, its strings escaped', () => {
  const argv = withDomain((d) => (d.chassis = { manufacturer: 'ACME, Inc.', serial: 'S1', asset: 'tag=1' }));
  assert.ok(after(argv, '-smbios').includes('type=3,manufacturer=ACME,, Inc.,serial=S1,asset=tag=1'), after(argv, '-smbios').join(' | '));
});

test('evmcs brings vapic and vmx (require), as KubeVirt\'s mutating webhook does', () => {
  const [vmi] = [applyDefaults({ ...gettingStarted(), spec: { ...gettingStarted().spec, domain: { ...gettingStarted().spec.domain, features: { hyperv: { evmcs: {} } } } } }, { podNetworking: false }) as VirtualMachineInstance];
  assert.deepEqual(vmi.spec.domain.features?.hyperv?.vapic, { enabled: true });
  assert.deepEqual(vmi.spec.domain.cpu?.features, [{ name: 'vmx', policy: 'require' }]);
});

const TCG: NodeComputeFacts = {
  accelerator: 'tcg',
  cpuModels: { Westmere: [], 'Skylake-Server': ['avx512f', 'pku'], qemu64: [] },
  knownFeatures: ['avx2', 'avx512f', 'pcid', 'sse2', 'vmx'],
  providedFeatures: ['avx2', 'sse2', 'vmx'],
};

test('a TCG node refuses by path what it cannot provide, and says why', () => {
  const vmi = gettingStarted();
  vmi.spec.domain.cpu = { model: 'Skylake-Server', features: [{ name: 'avx512f' }, { name: 'nosuch', policy: 'force' }, { name: 'vmx', policy: 'forbid' }, { name: 'pcid', policy: 'optional' }] };
  vmi.spec.domain.features = { hyperv: { relaxed: {}, vapic: { enabled: false } }, pvspinlock: {} };
  vmi.spec.domain.clock = { timer: { pit: { tickPolicy: 'delay' }, kvm: {}, hyperv: { present: false } } };
  const { errors } = judgeOnNode(vmi.spec, 'spec', TCG);
  assert.deepEqual(errors.map((e) => e.path), [
    'spec.domain.cpu.model',
    'spec.domain.cpu.features[0].name',
    'spec.domain.cpu.features[1].name',
    'spec.domain.cpu.features[2].name',
    'spec.domain.features.hyperv.relaxed',
    'spec.domain.features.pvspinlock',
    'spec.domain.clock.timer.pit.tickPolicy',
    'spec.domain.clock.timer.kvm',
  ]);
  assert.equal(errors[0]!.message, 'CPU model Skylake-Server cannot run on this node under TCG: it lacks avx512f, pku');
  assert.match(errors[1]!.message, /avx512f is required but this node's CPU under TCG does not provide it/);
  assert.match(errors[2]!.message, /knows no CPU feature "nosuch"/);
  assert.match(errors[3]!.message, /vmx is forbidden but this node's CPU under TCG provides it/);
  assert.match(errors[4]!.message, /Hyper-V enlightenments needs KVM: this node runs VMs under software emulation \(TCG\)/);
});

test('the same spec on a KVM node that provides the features passes; host-passthrough under TCG only warns', () => {
  const vmi = gettingStarted();
  vmi.spec.domain.cpu = { model: 'Westmere', features: [{ name: 'avx2' }] };
  vmi.spec.domain.features = { hyperv: { relaxed: {} }, pvspinlock: {} };
  assert.deepEqual(judgeOnNode(vmi.spec, 'spec', { ...TCG, accelerator: 'kvm' }), { errors: [], warnings: [] });
  vmi.spec.domain.cpu = { model: 'host-passthrough' };
  vmi.spec.domain.features = {};
  const j = judgeOnNode(vmi.spec, 'spec', TCG);
  assert.deepEqual(j.errors, []);
  assert.match(j.warnings[0]!, /host-passthrough under software emulation/);
});
