// Instance types and preferences expanded into a VM as KubeVirt does it: the
// common ones from the bundle, conflicts with KubeVirt's message, preferences that
// only fill what is unset, topology and overcommit, requirements, and every field
// of both kinds either honoured or refused by its own path.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidSpecError, type FieldError } from '../../proto/errors.js';
import {
  expandAndJudge,
  validateMatchers,
  validateTemplateObject,
  KIND_CLUSTER_INSTANCETYPE,
  KIND_CLUSTER_PREFERENCE,
  type InstancetypeSpec,
  type PreferenceSpec,
  type ResolvedTemplates,
} from '../../proto/instancetype/index.js';
import { kubevirtFields } from '../../proto/vmi/kubevirt-schema.js';
import { vmiFromVM, validate, type VirtualMachine } from '../../proto/vmi/index.js';
import { builtin, builtins } from '../../handler/instancetype/builtin.js';
import { admitTemplatedVM } from '../../handler/instancetype/admit-vm.js';
import type { Lookup } from '../../handler/instancetype/resolve.js';

const NET = { podNetworking: true };
type Json = Record<string, any>;

function vm(template: Json = {}, spec: Json = {}): VirtualMachine {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name: 'v', namespace: 'default', uid: '11111111-2222-4333-8444-555555555555' },
    spec: {
      runStrategy: 'Halted',
      instancetype: { name: 'x' },
      ...spec,
      template: {
        spec: {
          domain: { devices: { disks: [{ name: 'root' }] }, firmware: { bootloader: { bios: {} } }, ...template.domain },
          volumes: [{ name: 'root', containerDisk: { image: 'registry.example/os:1' } }],
          ...template.spec,
        },
      },
    },
  } as VirtualMachine;
}

const common = (kind: typeof KIND_CLUSTER_INSTANCETYPE | typeof KIND_CLUSTER_PREFERENCE, name: string): any => {
  const o = builtin(kind, name);
  assert.ok(o, `${kind} ${name} is in the bundle`);
  return { kind, name, spec: o.spec };
};
const it = (name: string) => common(KIND_CLUSTER_INSTANCETYPE, name) as ResolvedTemplates['instancetype'];
const pref = (name: string) => common(KIND_CLUSTER_PREFERENCE, name) as ResolvedTemplates['preference'];

function refused(f: () => unknown): FieldError[] {
  try {
    f();
  } catch (e) {
    if (e instanceof InvalidSpecError) return e.fields;
    throw e;
  }
  assert.fail('expected InvalidSpecError, got acceptance');
}

test('the common bundle loads, every object passes admission, and the u1, o1, cx1 and m1 series and named preferences are there', () => {
  const its = builtins(KIND_CLUSTER_INSTANCETYPE);
  const prefs = builtins(KIND_CLUSTER_PREFERENCE);
  assert.equal(its.length, 65);
  assert.equal(prefs.length, 54);
  for (const o of [...its, ...prefs]) validateTemplateObject(o);
  for (const series of ['u1', 'o1', 'cx1', 'm1']) assert.ok(its.some((o) => o.metadata.name.startsWith(`${series}.`)), series);
  for (const n of ['fedora', 'centos.stream9', 'ubuntu', 'windows.11']) assert.ok(prefs.some((o) => o.metadata.name === n), n);
  assert.deepEqual(builtin(KIND_CLUSTER_INSTANCETYPE, 'u1.small')!.spec, { cpu: { guest: 1 }, memory: { guest: '2Gi' } });
  // A stable uid per name and bundle version: revisions name it.
  assert.equal(builtin(KIND_CLUSTER_INSTANCETYPE, 'u1.small')!.metadata.uid, builtin(KIND_CLUSTER_INSTANCETYPE, 'u1.small')!.metadata.uid);
});

test('u1.small with the fedora preference: the instance type sizes the VMI, the preference fills devices, features and annotations', () => {
  const t = { instancetype: it('u1.small'), preference: pref('fedora') };
  const e = expandAndJudge(vm({}, { preference: { name: 'fedora' } }), t, NET);
  const s = e.vm.spec.template.spec as Json;
  assert.deepEqual(s.domain.cpu, { sockets: 1, cores: 1, threads: 1 });
  assert.deepEqual(s.domain.memory, { guest: '2Gi' });
  assert.equal(s.domain.devices.disks[0].disk.bus, 'virtio');
  assert.deepEqual(s.domain.devices.interfaces, [{ name: 'default', masquerade: {}, model: 'virtio' }]);
  assert.deepEqual(s.domain.devices.rng, {});
  assert.deepEqual(s.domain.features, { smm: {} });
  assert.equal(s.architecture, 'amd64');
  assert.deepEqual(e.vm.spec.template.metadata?.annotations, {
    'vm.kubevirt.io/os': 'linux',
    'kubevirt.io/cluster-instancetype-name': 'u1.small',
    'kubevirt.io/cluster-preference-name': 'fedora',
  });
  assert.equal(e.vm.spec.instancetype, undefined);
  // The VMI made from it keeps all of it.
  const vmi = vmiFromVM(e.vm, '99999999-2222-4333-8444-555555555555', NET);
  assert.deepEqual(vmi.spec.domain.cpu, { sockets: 1, cores: 1, threads: 1 });
  assert.equal(vmi.metadata.annotations?.['kubevirt.io/cluster-instancetype-name'], 'u1.small');
});

test('fields the VM sets that the instance type sets too are refused with KubeVirt\'s message; only the first memory one', () => {
  const errors = refused(() =>
    expandAndJudge(vm({ domain: { cpu: { sockets: 2, model: 'qemu64' }, memory: { guest: '1Gi' }, resources: { requests: { memory: '1Gi', cpu: '1' } } } }), { instancetype: { kind: KIND_CLUSTER_INSTANCETYPE, name: 'x', spec: { cpu: { guest: 2, model: 'qemu64' }, memory: { guest: '1Gi' } } } }, NET),
  );
  const msg = (p: string) => ({ path: p, message: `VM field(s) ${p} conflicts with selected instance type` });
  assert.deepEqual(errors, [
    msg('spec.template.spec.domain.resources.requests.cpu'),
    msg('spec.template.spec.domain.cpu.sockets'),
    msg('spec.template.spec.domain.cpu.model'),
    msg('spec.template.spec.domain.memory.guest'),
  ]);
  // An annotation the instance type sets to another value conflicts too.
  const a = refused(() => {
    const v = vm();
    v.spec.template.metadata = { annotations: { team: 'a' } };
    expandAndJudge(v, { instancetype: { kind: KIND_CLUSTER_INSTANCETYPE, name: 'x', spec: { cpu: { guest: 1 }, memory: { guest: '1Gi' }, annotations: { team: 'b' } } } }, NET);
  });
  assert.deepEqual(a, [msg('spec.template.metadata.annotations.team')]);
});

test('a preference fills only what the VM left unset', () => {
  const e = expandAndJudge(
    vm({
      domain: {
        devices: { disks: [{ name: 'root', disk: { bus: 'sata' } }], interfaces: [{ name: 'default', masquerade: {}, model: 'e1000' }] },
        memory: { guest: '1Gi' },
        machine: { type: 'pc-q35-7.2' },
      },
      spec: { networks: [{ name: 'default', pod: {} }], terminationGracePeriodSeconds: 5 },
    }, { instancetype: undefined, preference: { name: 'p' } }),
    { preference: { kind: KIND_CLUSTER_PREFERENCE, name: 'p', spec: { devices: { preferredDiskBus: 'virtio', preferredInterfaceModel: 'virtio', preferredAutoattachSerialConsole: false }, machine: { preferredMachineType: 'q35' }, preferredTerminationGracePeriodSeconds: 600 } } },
    NET,
  );
  const s = e.vm.spec.template.spec as Json;
  assert.equal(s.domain.devices.disks[0].disk.bus, 'sata');
  assert.equal(s.domain.devices.interfaces[0].model, 'e1000');
  assert.equal(s.domain.machine.type, 'pc-q35-7.2');
  assert.equal(s.terminationGracePeriodSeconds, 5);
  assert.equal(s.domain.devices.autoattachSerialConsole, false, 'unset: filled');
});

test('the vCPUs of an instance type are laid out by the preference\'s topology, and a spread that does not divide is refused', () => {
  const topo = (guest: number, p: PreferenceSpec | undefined) => {
    const spec: InstancetypeSpec = { cpu: { guest }, memory: { guest: '1Gi' } };
    const e = expandAndJudge(vm(), { instancetype: { kind: KIND_CLUSTER_INSTANCETYPE, name: 'x', spec }, ...(p && { preference: { kind: KIND_CLUSTER_PREFERENCE, name: 'p', spec: p } }) }, NET);
    return (e.vm.spec.template.spec.domain as Json).cpu;
  };
  assert.deepEqual(topo(4, undefined), { sockets: 4, cores: 1, threads: 1 });
  assert.deepEqual(topo(4, { cpu: { preferredCPUTopology: 'cores' } }), { sockets: 1, cores: 4, threads: 1 });
  assert.deepEqual(topo(4, { cpu: { preferredCPUTopology: 'threads' } }), { sockets: 1, cores: 1, threads: 4 });
  assert.deepEqual(topo(4, { cpu: { preferredCPUTopology: 'spread' } }), { sockets: 2, cores: 2, threads: 1 });
  assert.deepEqual(topo(8, { cpu: { preferredCPUTopology: 'spread' }, preferSpreadSocketToCoreRatio: 4 }), { sockets: 2, cores: 4, threads: 1 });
  assert.deepEqual(topo(16, { cpu: { preferredCPUTopology: 'spread', spreadOptions: { across: 'SocketsCoresThreads', ratio: 4 } } }), { sockets: 2, cores: 4, threads: 2 });
  assert.deepEqual(topo(6, { cpu: { preferredCPUTopology: 'spread', spreadOptions: { across: 'CoresThreads', ratio: 2 } } }), { sockets: 1, cores: 3, threads: 2 });
  assert.deepEqual(refused(() => topo(6, { cpu: { preferredCPUTopology: 'spread', spreadOptions: { ratio: 4 } } })), [
    { path: 'instancetype.spec.cpu.guest', message: '6 vCPUs provided by the instance type are not divisible by the Spec.PreferSpreadSocketToCoreRatio or Spec.CPU.PreferSpreadOptions.Ratio of 4 provided by the preference' },
  ]);
});

test('an overcommitted instance type (o1) requests less memory than the guest gets', () => {
  const e = expandAndJudge(vm(), { instancetype: it('o1.nano') }, NET);
  assert.deepEqual((e.vm.spec.template.spec.domain as Json).memory, { guest: '512Mi' });
  assert.deepEqual((e.vm.spec.template.spec.domain as Json).resources, { requests: { memory: '256Mi' } });
});

test('a preference\'s requirements are checked with KubeVirt\'s messages', () => {
  assert.deepEqual(refused(() => expandAndJudge(vm(), { instancetype: it('u1.nano'), preference: pref('fedora') }, NET)), [
    { path: 'spec.instancetype', message: 'failure checking preference requirements: insufficient Memory resources of 512Mi provided by instance type, preference requires 2Gi' },
  ]);
  assert.deepEqual(refused(() => expandAndJudge(vm({ domain: { memory: { guest: '3Gi' }, cpu: { sockets: 1 } } }), { preference: { kind: KIND_CLUSTER_PREFERENCE, name: 'p', spec: { requirements: { cpu: { guest: 2 } } } } }, NET)).find((f) => /requirements/.test(f.message)), {
    path: 'spec.template.spec.domain.cpu.sockets',
    message: 'failure checking preference requirements: insufficient CPU resources of 1 vCPU provided by VirtualMachine, preference requires 2 vCPU provided as sockets',
  });
});

test('what virtnode cannot do yet is refused by the instance type\'s or preference\'s own field; fedora\'s EFI is taken', () => {
  const cx = refused(() => expandAndJudge(vm(), { instancetype: it('cx1.medium') }, NET));
  assert.ok(cx.every((f) => f.path === 'spec.instancetype'), JSON.stringify(cx));
  for (const field of ['spec.cpu.dedicatedCPUPlacement', 'spec.cpu.isolateEmulatorThread', 'spec.cpu.numa', 'spec.cpu.maxSockets', 'spec.memory.hugepages']) {
    assert.ok(cx.some((f) => f.message.startsWith(`VirtualMachineClusterInstancetype cx1.medium sets ${field} `)), field);
  }
  // fedora prefers EFI with Secure Boot and SMM: a VM that does not choose BIOS itself gets all three.
  const v = vm({}, { instancetype: undefined, preference: { name: 'fedora' } });
  delete (v.spec.template.spec.domain as Json).firmware;
  (v.spec.template.spec.domain as Json).memory = { guest: '2Gi' };
  (v.spec.template.spec.domain as Json).cpu = { sockets: 1 };
  const s = expandAndJudge(v, { preference: pref('fedora') }, NET).vm.spec.template.spec as Json;
  assert.deepEqual(s.domain.firmware.bootloader, { efi: { secureBoot: true } });
  assert.deepEqual(s.domain.features.smm, {});
});

test('matchers: a name or inferFromVolume, not both; a known kind and failure policy', () => {
  assert.deepEqual(validateMatchers({ instancetype: {} }), [{ path: 'spec.instancetype', message: 'Either Name or InferFromVolume should be provided within the InstancetypeMatcher' }]);
  assert.deepEqual(validateMatchers({ preference: { name: 'a', kind: 'VirtualMachinePreference', inferFromVolume: 'root', inferFromVolumeFailurePolicy: 'Maybe' } }), [
    { path: 'spec.preference.name', message: 'Name already set, should be cleared before setting inferFromVolume' },
    { path: 'spec.preference.kind', message: 'Kind already set, should be cleared before setting inferFromVolume' },
    { path: 'spec.preference.inferFromVolumeFailurePolicy', message: "Invalid value 'Maybe' for InferFromVolumeFailurePolicy" },
  ]);
  assert.deepEqual(validateMatchers({ instancetype: { name: 'a', kind: 'Pod' } }), [{ path: 'spec.instancetype.kind', message: 'got unexpected kind in InstancetypeMatcher: Pod' }]);
  assert.deepEqual(validateMatchers({ instancetype: { name: 'a', kind: 'virtualmachineinstancetypes' }, preference: { name: 'b', kind: 'VirtualMachineClusterPreference' } }), []);
  // A VM with a matcher is judged whole only once expanded: alone it may lack memory.
  assert.deepEqual(validate(vm()).warnings, []);
});

const emptyLookup: Lookup = { template: () => undefined, revision: () => undefined };

test('inferFromVolume: the volume must exist; a containerDisk carries no defaults, so Reject refuses and Ignore drops the matcher', () => {
  const v = vm({}, { instancetype: { inferFromVolume: 'nope' } });
  assert.deepEqual(refused(() => admitTemplatedVM(v, emptyLookup, NET)), [{ path: 'spec.instancetype.inferFromVolume', message: 'unable to find volume nope to infer defaults' }]);
  v.spec.instancetype = { inferFromVolume: 'root' };
  assert.deepEqual(refused(() => admitTemplatedVM(v, emptyLookup, NET)), [{ path: 'spec.instancetype.inferFromVolume', message: 'unable to infer defaults from volume root as type is not supported' }]);
  v.spec.instancetype = { inferFromVolume: 'root', inferFromVolumeFailurePolicy: 'Ignore' };
  (v.spec.template.spec.domain as Json).memory = { guest: '1Gi' };
  const a = admitTemplatedVM(v, emptyLookup, NET);
  assert.equal(a.vm.spec.instancetype, undefined);
});

test('admission: a missing instance type is a warning; the preference\'s machine type is kept in the VM; a renamed matcher must drop its revision', () => {
  const v = vm({}, { instancetype: { name: 'nope' }, preference: { name: 'p' } });
  const lookup: Lookup = { template: (kind, _ns, name) => (name === 'p' ? ({ apiVersion: 'instancetype.kubevirt.io/v1beta1', kind, metadata: { name }, spec: { machine: { preferredMachineType: 'pc-q35-7.2' } } } as any) : undefined), revision: () => undefined };
  const a = admitTemplatedVM(v, lookup, NET);
  assert.deepEqual(a.warnings, ['spec.instancetype.name: VirtualMachineClusterInstancetype "nope" not found: the VirtualMachine cannot start until it exists']);
  assert.equal(a.vm.spec.template.spec.domain.machine?.type, 'pc-q35-7.2');
  assert.equal(a.expanded, undefined);
  const prev = vm({}, { instancetype: { name: 'a', revisionName: 'v-a-1' } });
  const next = vm({}, { instancetype: { name: 'b', revisionName: 'v-a-1' } });
  assert.deepEqual(refused(() => admitTemplatedVM(next, lookup, NET, prev)), [{ path: 'spec.instancetype.revisionName', message: 'the Matcher Name has been updated without updating the RevisionName' }]);
});

test('instance type and preference objects: KubeVirt\'s schema and webhook rules', () => {
  const obj = (kind: string, spec: Json): Json => ({ apiVersion: 'instancetype.kubevirt.io/v1beta1', kind, metadata: { name: 'x' }, spec });
  assert.deepEqual(refused(() => validateTemplateObject(obj('VirtualMachineInstancetype', { cpu: {}, memory: { guest: '1Gi', overcommitPercent: 101 } }))), [
    { path: 'spec.cpu.guest', message: 'Required value' },
    { path: 'spec.memory.overcommitPercent', message: "spec.memory.overcommitPercent '101': must be in range between 0 and 100." },
  ]);
  assert.deepEqual(refused(() => validateTemplateObject(obj('VirtualMachineInstancetype', { cpu: { guest: 1, cores: 2 }, memory: { guest: '1Gx', hugepages: { pageSize: '2Mi' }, overcommitPercent: 10 } }))), [
    { path: 'spec.cpu.cores', message: 'unknown field' },
    { path: 'spec.memory.guest', message: '"1Gx" is not a quantity' },
    { path: 'spec.memory.overcommitPercent', message: 'spec.memory.overcommitPercent and spec.memory.hugepages should not be requested together.' },
  ].map((f) => (f.path === 'spec.memory.guest' ? { ...f, message: refused(() => validateTemplateObject(obj('VirtualMachineInstancetype', { cpu: { guest: 1 }, memory: { guest: '1Gx' } })))[0]!.message } : f)));
  assert.deepEqual(refused(() => validateTemplateObject(obj('VirtualMachinePreference', { cpu: { preferredCPUTopology: 'diagonal', spreadOptions: { across: 'Racks' } } }))), [
    { path: 'spec.cpu.preferredCPUTopology', message: 'unknown preferredCPUTopology diagonal' },
    { path: 'spec.cpu.spreadOptions.across', message: 'across Racks is not supported' },
  ]);
  assert.deepEqual(validateTemplateObject(obj('VirtualMachinePreference', { cpu: { preferredCPUTopology: 'preferCores' } })).warnings, [
    'PreferredCPUTopology preferCores is deprecated for removal in a future release, please use cores instead',
  ]);
});

// ---- every field: honoured (the VMI shows it) or refused by its own path ----------

type Case = { value: unknown; honoured?: (s: Json, meta: Json) => void; tweak?: (s: Json) => void; refusedAs?: string };

const IT_FIELDS: Record<string, Case> = {
  'cpu.guest': { value: 2, honoured: (s) => assert.equal(s.domain.cpu.sockets, 2) },
  'cpu.model': { value: 'qemu64', honoured: (s) => assert.equal(s.domain.cpu.model, 'qemu64') },
  'cpu.dedicatedCPUPlacement': { value: true },
  'cpu.isolateEmulatorThread': { value: true },
  'cpu.maxSockets': { value: 4 },
  'cpu.numa': { value: { guestMappingPassthrough: {} } },
  'cpu.realtime': { value: {} },
  'memory.guest': { value: '3Gi', honoured: (s) => assert.equal(s.domain.memory.guest, '3Gi') },
  'memory.hugepages': { value: { pageSize: '2Mi' } },
  'memory.maxGuest': { value: '4Gi' },
  'memory.overcommitPercent': { value: 25, honoured: (s) => assert.equal(s.domain.resources.requests.memory, '2304Mi') },
  annotations: { value: { team: 'a' }, honoured: (_s, m) => assert.equal(m.annotations.team, 'a') },
  nodeSelector: { value: { disk: 'ssd' }, honoured: (s) => assert.deepEqual(s.nodeSelector, { disk: 'ssd' }) },
  schedulerName: { value: 'other' },
  ioThreadsPolicy: { value: 'auto', honoured: (s) => assert.equal(s.domain.ioThreadsPolicy, 'auto') },
  ioThreads: { value: { supplementalPoolThreadCount: 2 }, honoured: (s) => assert.equal(s.domain.ioThreads.supplementalPoolThreadCount, 2), tweak: (s) => (s.domain.ioThreadsPolicy = 'supplementalPool') },
  launchSecurity: { value: { sev: {} } },
  gpus: { value: [{ name: 'g', deviceName: 'nvidia.com/x' }] },
  hostDevices: { value: [{ name: 'h', deviceName: 'vendor.com/y' }] },
};

const PREF_FIELDS: Record<string, Case> = {
  annotations: { value: { os: 'x' }, honoured: (_s, m) => assert.equal(m.annotations.os, 'x') },
  'clock.preferredClockOffset': { value: { utc: {} }, honoured: (s) => assert.deepEqual(s.domain.clock.utc, {}) },
  'clock.preferredTimer': { value: { rtc: {} }, honoured: (s) => assert.deepEqual(s.domain.clock.timer, { rtc: {} }) },
  'cpu.preferredCPUTopology': { value: 'cores', honoured: (s) => assert.equal(s.domain.cpu.cores, 2) },
  // Read only with preferredCPUTopology: spread (the topology test above); alone the default, sockets, holds.
  'cpu.spreadOptions': { value: { across: 'SocketsCores', ratio: 2 }, honoured: (s) => assert.deepEqual(s.domain.cpu, { sockets: 2, cores: 1, threads: 1 }) },
  'cpu.preferredCPUFeatures': { value: [{ name: 'vmx' }], honoured: (s) => assert.deepEqual(s.domain.cpu.features, [{ name: 'vmx' }]) },
  preferSpreadSocketToCoreRatio: { value: 2, honoured: (s) => assert.deepEqual(s.domain.cpu, { sockets: 2, cores: 1, threads: 1 }) },
  // false is honoured too; true is refused: no VNC server yet.
  'devices.preferredAutoattachGraphicsDevice': { value: false, honoured: (s) => assert.equal(s.domain.devices.autoattachGraphicsDevice, false) },
  'devices.preferredAutoattachInputDevice': { value: true },
  'devices.preferredAutoattachMemBalloon': { value: false, honoured: (s) => assert.equal(s.domain.devices.autoattachMemBalloon, false) },
  'devices.preferredAutoattachPodInterface': { value: false, honoured: (s) => assert.equal(s.domain.devices.interfaces, undefined) },
  'devices.preferredAutoattachSerialConsole': { value: false, honoured: (s) => assert.equal(s.domain.devices.autoattachSerialConsole, false) },
  'devices.preferredBlockMultiQueue': { value: true, honoured: (s) => assert.equal(s.domain.devices.blockMultiQueue, true) },
  'devices.preferredCdromBus': { value: 'sata', honoured: (s) => assert.equal(s.domain.devices.disks[1].cdrom.bus, 'sata'), tweak: cdrom },
  'devices.preferredDisableHotplug': { value: true, honoured: (s) => assert.equal(s.domain.devices.disableHotplug, true) },
  'devices.preferredDiskBlockSize': { value: { custom: { logical: 512, physical: 4096 } }, honoured: (s) => assert.equal(s.domain.devices.disks[0].blockSize.custom.physical, 4096) },
  'devices.preferredDiskBus': { value: 'sata', honoured: (s) => assert.equal(s.domain.devices.disks[0].disk.bus, 'sata') },
  'devices.preferredDiskCache': { value: 'writethrough', honoured: (s) => assert.equal(s.domain.devices.disks[0].cache, 'writethrough') },
  'devices.preferredDiskDedicatedIoThread': { value: true, honoured: (s) => assert.equal(s.domain.devices.disks[0].dedicatedIOThread, true), tweak: (s) => (s.domain.devices.disks[0].disk = { bus: 'virtio' }) },
  'devices.preferredDiskIO': { value: 'threads', honoured: (s) => assert.equal(s.domain.devices.disks[0].io, 'threads') },
  // These fill the VM's own inputs and sound device, which virtnode refuses itself (not supported yet).
  'devices.preferredInputBus': { value: 'virtio', tweak: (s) => (s.domain.devices.inputs = [{ name: 't', type: 'tablet' }]), refusedAs: 'spec.template.spec.domain.devices.inputs' },
  'devices.preferredInputType': { value: 'tablet', tweak: (s) => (s.domain.devices.inputs = [{ name: 't', bus: 'virtio' }]), refusedAs: 'spec.template.spec.domain.devices.inputs' },
  'devices.preferredInterfaceMasquerade': { value: {}, honoured: (s) => assert.deepEqual(s.domain.devices.interfaces[0].masquerade, {}), tweak: (s) => Object.assign(s, { networks: [{ name: 'n', pod: {} }], domain: { ...s.domain, devices: { ...s.domain.devices, interfaces: [{ name: 'n' }] } } }) },
  'devices.preferredInterfaceModel': { value: 'e1000e', honoured: (s) => assert.equal(s.domain.devices.interfaces[0].model, 'e1000e') },
  // Honoured, but a lun needs a PVC or DataVolume, which virtnode has not yet: the VM's own lun is what is refused.
  'devices.preferredLunBus': {
    value: 'scsi',
    tweak: (s) => (s.domain.devices.disks.push({ name: 'l', lun: {} }), s.volumes.push({ name: 'l', emptyDisk: { capacity: '1Gi' } })),
    refusedAs: 'spec.template.spec.domain.devices.disks[1].lun',
  },
  'devices.preferredNetworkInterfaceMultiQueue': { value: true, honoured: (s) => assert.equal(s.domain.devices.networkInterfaceMultiqueue, true) },
  'devices.preferredPanicDeviceModel': { value: 'isa' },
  'devices.preferredRng': { value: {}, honoured: (s) => assert.deepEqual(s.domain.devices.rng, {}) },
  'devices.preferredSoundModel': { value: 'ich9', tweak: (s) => (s.domain.devices.sound = { name: 's' }), refusedAs: 'spec.template.spec.domain.devices.sound' },
  'devices.preferredTPM': { value: {}, honoured: (s) => assert.deepEqual(s.domain.devices.tpm, {}) },
  'devices.preferredUseVirtioTransitional': { value: true },
  'devices.preferredVideoType': { value: 'virtio' },
  // KubeVirt reads this nowhere yet (no applier uses it): no effect here either.
  'devices.preferredVirtualGPUOptions': { value: { display: { enabled: true } }, honoured: () => undefined },
  'features.preferredAcpi': { value: { enabled: false }, honoured: (s) => assert.deepEqual(s.domain.features.acpi, { enabled: false }) },
  'features.preferredApic': { value: {}, honoured: (s) => assert.deepEqual(s.domain.features.apic, {}) },
  // Honoured by any node's rules; a TCG node refuses it at Apply (proto/vmi/validate-node.ts).
  'features.preferredHyperv': { value: { relaxed: {} }, honoured: (s) => assert.deepEqual(s.domain.features.hyperv, { relaxed: {} }) },
  'features.preferredKvm': { value: { hidden: true }, honoured: (s) => assert.deepEqual(s.domain.features.kvm, { hidden: true }) },
  'features.preferredPvspinlock': { value: {}, honoured: (s) => assert.deepEqual(s.domain.features.pvspinlock, {}) },
  'features.preferredSmm': { value: { enabled: true }, honoured: (s) => assert.deepEqual(s.domain.features.smm, { enabled: true }) },
  'firmware.preferredEfi': { value: { secureBoot: false }, honoured: (s) => assert.deepEqual(s.domain.firmware.bootloader, { efi: { secureBoot: false } }), tweak: noFirmware },
  'firmware.preferredUseBios': { value: true, honoured: (s) => assert.deepEqual(s.domain.firmware.bootloader, { bios: {} }), tweak: noFirmware },
  'firmware.preferredUseBiosSerial': { value: true, honoured: (s) => assert.deepEqual(s.domain.firmware.bootloader, { bios: { useSerial: true } }) },
  // efi: {} is Secure Boot, which needs SMM (KubeVirt's rule): the VM gives it.
  'firmware.preferredUseEfi': { value: true, honoured: (s) => assert.deepEqual(s.domain.firmware.bootloader, { efi: {} }), tweak: (s) => (noFirmware(s), (s.domain.features = { smm: {} })) },
  'firmware.preferredUseSecureBoot': { value: true, honoured: (s) => assert.deepEqual(s.domain.firmware.bootloader, { bios: {} }) },
  'machine.preferredMachineType': { value: 'pc-q35-7.2', honoured: (s) => assert.equal(s.domain.machine.type, 'pc-q35-7.2') },
  preferredArchitecture: { value: 'amd64', honoured: (s) => assert.equal(s.architecture, 'amd64') },
  preferredLaunchSecurity: { value: { sev: {} } },
  preferredSubdomain: { value: 'sub', honoured: (s) => assert.equal(s.subdomain, 'sub') },
  preferredTerminationGracePeriodSeconds: { value: 77, honoured: (s) => assert.equal(s.terminationGracePeriodSeconds, 77) },
  'requirements.architecture': { value: 'amd64', honoured: () => undefined },
  'requirements.cpu.guest': { value: 2, honoured: (s) => assert.equal(s.domain.cpu.sockets, 2) },
  'requirements.memory.guest': { value: '1Gi', honoured: (s) => assert.equal(s.domain.memory.guest, '3Gi') },
  // Fills dataVolumeTemplates' storage class (KubeVirt's VM mutator); virtnode refuses those, so there is nothing to fill.
  'volumes.preferredStorageClassName': { value: 'fast', honoured: () => undefined },
};

function cdrom(s: Json): void {
  s.domain.devices.disks.push({ name: 'cd', cdrom: {} });
  s.volumes.push({ name: 'cd', containerDisk: { image: 'registry.example/iso:1' } });
}

function noFirmware(s: Json): void {
  delete s.domain.firmware;
}

function setPath(o: Json, path: string, v: unknown): void {
  const parts = path.split('.');
  let cur = o;
  for (const p of parts.slice(0, -1)) cur = cur[p] ??= {};
  cur[parts.at(-1)!] = v;
}

/** Every field KubeVirt's type has, as dotted paths: leaves and the objects virtnode treats as one. */
function fieldsOf(type: string, prefix = ''): string[] {
  return Object.entries(kubevirtFields(type)).flatMap(([k, t]) => {
    const p = prefix + k;
    const sub = t.startsWith('ref:v1beta1.') ? t.slice(4) : undefined;
    return sub && sub !== 'v1beta1.SpreadOptions' ? fieldsOf(sub, `${p}.`) : [p];
  });
}

for (const [kind, type, table] of [
  ['instance type', 'v1beta1.VirtualMachineInstancetypeSpec', IT_FIELDS],
  ['preference', 'v1beta1.VirtualMachinePreferenceSpec', PREF_FIELDS],
] as const) {
  test(`every ${kind} field is honoured or refused by its path`, () => {
    const fields = fieldsOf(type);
    assert.deepEqual(fields.filter((f) => !(f in table)).sort(), [], 'a field with no case here');
    for (const [field, c] of Object.entries(table)) {
      const v = vm({ domain: { devices: { disks: [{ name: 'root' }] } } });
      const s = v.spec.template.spec as Json;
      s.domain.firmware = { bootloader: { bios: {} } };
      c.tweak?.(s);
      const itSpec: Json = { cpu: { guest: 2 }, memory: { guest: '3Gi' } };
      const prefSpec: Json = {};
      if (kind === 'instance type') setPath(itSpec, field, field === 'cpu.guest' ? 2 : c.value);
      else setPath(prefSpec, field, c.value);
      const t: ResolvedTemplates = {
        instancetype: { kind: KIND_CLUSTER_INSTANCETYPE, name: 'it', spec: itSpec as InstancetypeSpec },
        ...(kind === 'preference' && { preference: { kind: KIND_CLUSTER_PREFERENCE, name: 'p', spec: prefSpec as PreferenceSpec } }),
      };
      if (kind === 'preference') v.spec.preference = { name: 'p' };
      let result: ReturnType<typeof expandAndJudge> | undefined;
      let errors: FieldError[] = [];
      try {
        result = expandAndJudge(v, t, NET);
      } catch (e) {
        if (!(e instanceof InvalidSpecError)) throw e;
        errors = e.fields;
      }
      if (c.refusedAs) {
        assert.ok(errors.some((f) => f.path === c.refusedAs), `${field}: ${JSON.stringify(errors)}`);
      } else if (c.honoured) {
        assert.ok(result, `${field}: honoured, but refused: ${JSON.stringify(errors)}`);
        c.honoured(result.vm.spec.template.spec as Json, (result.vm.spec.template.metadata ?? {}) as Json);
      } else {
        const matcher = kind === 'instance type' ? 'spec.instancetype' : 'spec.preference';
        const top = `spec.${field.split('.').slice(0, 2).join('.')}`;
        assert.ok(
          errors.some((f) => f.path === matcher && f.message.includes(`sets spec.${field}`)) || errors.some((f) => f.path === matcher && f.message.includes(`sets ${top}`)),
          `${field}: expected a refusal naming it under ${matcher}, got ${result ? 'acceptance' : JSON.stringify(errors)}`,
        );
      }
    }
  });
}
