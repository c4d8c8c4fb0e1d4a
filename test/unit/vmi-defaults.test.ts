import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { VirtnodeError } from '../../proto/errors.js';
import {
  applyDefaults,
  cpuTopology,
  guestMemoryBytes,
  parseManifests,
  stableFirmwareUUID,
  validate,
  vcpuCount,
  vmiFromVM,
  type VirtualMachine,
  type VirtualMachineInstance,
  type VirtualMachineInstanceSpec,
} from '../../proto/vmi/index.js';
import { buildArgv } from '../../launcher/domain/argv.js';
import { vmiToDomain } from '../../launcher/domain/convert.js';
import { GETTING_STARTED_VM, vm, vmi, vmiSpec, type Json } from './vmi-fixtures.js';

function defaultedSpec(mutate: (s: Json) => void = () => {}, podNetworking = false): VirtualMachineInstanceSpec {
  const o = vmi();
  mutate(o.spec);
  validate(o, { podNetworking });
  return applyDefaults(o as VirtualMachineInstance, { podNetworking }).spec;
}

test('a VMI gets KubeVirt defaults', () => {
  const o = vmi();
  delete o.metadata.namespace;
  o.status = { phase: 'Running' };
  o.metadata.creationTimestamp = null;
  o.metadata.resourceVersion = '7';
  o.metadata.uid = 'kept';
  const d = applyDefaults(o as VirtualMachineInstance);
  assert.deepEqual(d, {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name: 'testvmi', namespace: 'default', labels: { app: 'test' }, uid: 'kept' },
    spec: {
      domain: {
        devices: {
          disks: [{ name: 'containerdisk', disk: { bus: 'virtio' } }],
          autoattachSerialConsole: true,
          autoattachMemBalloon: true,
          autoattachGraphicsDevice: true,
        },
        resources: { requests: { memory: '64M' } },
        machine: { type: 'q35' },
        memory: { guest: '64M' },
        cpu: { sockets: 1, cores: 1, threads: 1 },
        features: { acpi: { enabled: true } },
      },
      volumes: [{ name: 'containerdisk', containerDisk: { image: 'quay.io/kubevirt/cirros-container-disk-demo', imagePullPolicy: 'Always' } }],
      terminationGracePeriodSeconds: 30,
    },
  });
  // A deep copy: the input is untouched.
  assert.equal(o.metadata.namespace, undefined);
  assert.equal(o.spec.domain.machine, undefined);
  assert.deepEqual(o.status, { phase: 'Running' });
});

test('disks: a disk without target gets a virtio disk; a volume without disk gets one', () => {
  const s = defaultedSpec((s) => {
    s.domain.devices.disks = [{ name: 'containerdisk' }, { name: 'scratch', disk: {} }];
    s.volumes.push({ name: 'scratch', emptyDisk: { capacity: '1Gi' } }, { name: 'extra', emptyDisk: { capacity: '1Gi' } });
  });
  assert.deepEqual(s.domain.devices.disks, [
    { name: 'containerdisk', disk: { bus: 'virtio' } },
    { name: 'scratch', disk: { bus: 'virtio' } },
    { name: 'extra', disk: { bus: 'virtio' } },
  ]);
});

test('explicit values are kept', () => {
  const s = defaultedSpec((s) => {
    s.domain.machine = { type: 'pc-q35-7.2' };
    s.domain.memory = { guest: '100M' };
    s.domain.cpu = { cores: 2, model: 'qemu64' };
    s.domain.features = { acpi: { enabled: false } };
    s.domain.devices.autoattachSerialConsole = false;
    s.domain.devices.autoattachMemBalloon = false;
    s.terminationGracePeriodSeconds = 0;
    s.volumes[0].containerDisk.imagePullPolicy = 'Never';
  });
  assert.equal(s.domain.machine?.type, 'pc-q35-7.2');
  assert.equal(s.domain.memory?.guest, '100M');
  assert.deepEqual(s.domain.cpu, { sockets: 1, cores: 2, threads: 1, model: 'qemu64' });
  assert.deepEqual(s.domain.features, { acpi: { enabled: false } });
  assert.equal(s.domain.devices.autoattachSerialConsole, false);
  assert.equal(s.domain.devices.autoattachMemBalloon, false);
  assert.equal(s.terminationGracePeriodSeconds, 0);
  assert.equal(s.volumes![0]!.containerDisk!.imagePullPolicy, 'Never');
});

test('memory: guest from the request, or from the limit when only a limit is given', () => {
  let s = defaultedSpec((s) => (s.domain.resources = { limits: { memory: '128Mi' } }));
  assert.deepEqual(s.domain.resources, { limits: { memory: '128Mi' }, requests: { memory: '128Mi' } });
  assert.equal(s.domain.memory?.guest, '128Mi');
  s = defaultedSpec((s) => (s.domain.resources = { requests: { memory: '64M' }, limits: { memory: '1Gi' } }));
  assert.equal(s.domain.memory?.guest, '64M');
});

test('cpu: topology from the CPU limit or request, as KubeVirt fills sockets', () => {
  const cases: [Json, { sockets: number; cores: number; threads: number }][] = [
    [{}, { sockets: 1, cores: 1, threads: 1 }],
    [{ limits: { cpu: '2' } }, { sockets: 2, cores: 1, threads: 1 }],
    [{ requests: { cpu: '500m' } }, { sockets: 1, cores: 1, threads: 1 }],
    [{ requests: { cpu: '2.5' } }, { sockets: 3, cores: 1, threads: 1 }],
    [{ requests: { cpu: 1 }, limits: { cpu: 4 } }, { sockets: 4, cores: 1, threads: 1 }],
  ];
  for (const [cpuRes, topo] of cases) {
    const s = defaultedSpec((s) => (s.domain.resources = { ...s.domain.resources, requests: { memory: '64M', ...cpuRes.requests }, ...(cpuRes.limits && { limits: cpuRes.limits }) }));
    assert.deepEqual(s.domain.cpu, topo, JSON.stringify(cpuRes));
  }
  // A CPU limit alone becomes the request too.
  const s = defaultedSpec((s) => (s.domain.resources.limits = { cpu: '2' }));
  assert.equal(s.domain.resources?.requests?.cpu, '2');
});

test('image pull policy: Always for latest or untagged, IfNotPresent otherwise', () => {
  const cases: [string, string][] = [
    ['quay.io/kubevirt/cirros', 'Always'],
    ['quay.io/kubevirt/cirros:latest', 'Always'],
    ['registry:5000/kubevirt/cirros', 'Always'],
    ['quay.io/kubevirt/cirros:v1.2', 'IfNotPresent'],
    ['registry:5000/kubevirt/cirros:devel', 'IfNotPresent'],
    [`quay.io/kubevirt/cirros@sha256:${'b'.repeat(64)}`, 'IfNotPresent'],
  ];
  for (const [image, policy] of cases) {
    const s = defaultedSpec((s) => (s.volumes[0].containerDisk.image = image));
    assert.equal(s.volumes![0]!.containerDisk!.imagePullPolicy, policy, image);
  }
  const kb = defaultedSpec((s) => (s.domain.firmware = { kernelBoot: { container: { image: 'k/k:1', kernelPath: '/vmlinuz' } } }));
  assert.equal(kb.domain.firmware?.kernelBoot?.container?.imagePullPolicy, 'IfNotPresent');
});

test('pod networking on: a default masquerade interface on the pod network, models and protocols filled', () => {
  let s = defaultedSpec(() => {}, true);
  assert.deepEqual(s.domain.devices.interfaces, [{ name: 'default', masquerade: {}, model: 'virtio' }]);
  assert.deepEqual(s.networks, [{ name: 'default', pod: {} }]);
  s = defaultedSpec((s) => (s.domain.devices.autoattachPodInterface = false), true);
  assert.equal(s.domain.devices.interfaces, undefined);
  assert.equal(s.networks, undefined);
  s = defaultedSpec((s) => {
    s.domain.devices.interfaces = [{ name: 'n', bridge: {}, model: 'e1000e', ports: [{ port: 22 }] }];
    s.networks = [{ name: 'n', pod: {} }];
  }, true);
  assert.deepEqual(s.domain.devices.interfaces, [{ name: 'n', bridge: {}, model: 'e1000e', ports: [{ port: 22, protocol: 'TCP' }] }]);
  // Off: nothing is added.
  assert.equal(defaultedSpec().domain.devices.interfaces, undefined);
});

test('VM: runStrategy from the deprecated running; template kept but for the machine type', () => {
  const cases: [boolean | undefined, string][] = [
    [true, 'Always'],
    [false, 'Halted'],
    [undefined, 'Halted'],
  ];
  for (const [running, strategy] of cases) {
    const o = vm();
    delete o.spec.runStrategy;
    if (running !== undefined) o.spec.running = running;
    const d = applyDefaults(o as VirtualMachine);
    assert.equal(d.spec.runStrategy, strategy);
    assert.equal('running' in d.spec, false);
  }
  const o = vm();
  o.spec.template.metadata.creationTimestamp = null;
  const d = applyDefaults(o as VirtualMachine);
  assert.equal(d.spec.runStrategy, 'Always');
  const expected = vmiSpec();
  expected.domain.machine = { type: 'q35' };
  assert.deepEqual(d.spec.template, { metadata: { labels: { app: 'test' } }, spec: expected });
});

test('"" and null are unset, as admission reads them: the defaulted spec holds neither, and the launcher builds it', () => {
  const o = vmi();
  o.metadata.uid = '6f1f0a3e-5d0c-4a8e-9a51-1b2c3d4e5f60';
  o.spec.domain.devices.disks = [{ name: 'containerdisk', disk: { bus: '' }, cache: '', serial: '', bootOrder: null }];
  o.spec.domain.cpu = { model: '', sockets: null };
  o.spec.domain.firmware = { uuid: '', serial: '', kernelBoot: { kernelArgs: '' } };
  o.spec.domain.resources.limits = { cpu: null };
  o.spec.domain.devices.interfaces = [{ name: 'default', masquerade: {}, macAddress: '', model: '' }];
  o.spec.networks = [{ name: 'default', pod: { vmNetworkCIDR: '' } }];
  o.spec.hostname = '';
  o.spec.nodeSelector = { 'example.com/empty': '' };
  assert.deepEqual(validate(o, { podNetworking: true, standalone: false }).warnings, []);
  const d = applyDefaults(o as VirtualMachineInstance, { podNetworking: true });
  const s = d.spec;
  assert.deepEqual(s.domain.devices.disks, [{ name: 'containerdisk', disk: { bus: 'virtio' } }]);
  assert.deepEqual(s.domain.cpu, { sockets: 1, cores: 1, threads: 1 });
  assert.deepEqual(s.domain.firmware, { kernelBoot: {} });
  assert.deepEqual(s.domain.resources, { requests: { memory: '64M' }, limits: {} });
  assert.deepEqual(s.domain.devices.interfaces, [{ name: 'default', masquerade: {}, model: 'virtio' }]);
  assert.deepEqual(s.networks, [{ name: 'default', pod: {} }]);
  assert.equal(s.hostname, undefined);
  assert.deepEqual(s.nodeSelector, { 'example.com/empty': '' }, 'a map value is data');
  const tap = { tapName: 'tap0', mac: '52:54:00:00:00:01' };
  const ctx = { runDir: '/run/vn/x', accelerator: 'tcg' as const, volumes: { containerdisk: { path: '/d/c.qcow2', format: 'qcow2' as const } }, interfaces: { default: tap } };
  const argv = buildArgv(vmiToDomain(d, ctx, { default: [3] }));
  assert.ok(argv.includes('qemu64,arat=on'));
});

test('a zero request or limit is unset, as admission reads it: it neither sizes the guest nor limits the cgroup', () => {
  let s = defaultedSpec((s) => (s.domain.resources = { requests: { memory: '0', cpu: 0 }, limits: { memory: '128Mi', cpu: '0' } }));
  assert.deepEqual(s.domain.resources, { requests: { memory: '128Mi' }, limits: { memory: '128Mi' } });
  assert.equal(s.domain.memory?.guest, '128Mi');
  assert.equal(guestMemoryBytes(s), 134217728n);
  s = defaultedSpec((s) => (s.domain.resources = { requests: { memory: '64M', cpu: '2' }, limits: { cpu: '0m' } }));
  assert.deepEqual(s.domain.resources, { requests: { memory: '64M', cpu: '2' }, limits: {} });
  assert.deepEqual(s.domain.cpu, { sockets: 2, cores: 1, threads: 1 });
});

test('an empty metadata.uid is no uid: Apply plans the VM and the store gives it one', () => {
  const o = vm();
  o.metadata.uid = '';
  assert.deepEqual(validate(o).warnings, []);
  const d = applyDefaults(o as VirtualMachine);
  assert.equal(Object.hasOwn(d.metadata, 'uid'), false);
  // As Apply plans a VM before the store has given it a uid.
  const uid = d.metadata.uid ?? '00000000-0000-0000-0000-000000000000';
  assert.equal(vmiFromVM({ ...d, metadata: { ...d.metadata, uid } }, uid).metadata.ownerReferences?.[0]?.uid, uid);
});

test('defaults are idempotent and their result still validates', () => {
  const objects: Json[] = [vmi(), vm(), parseManifests(GETTING_STARTED_VM).objects[0] as Json];
  for (const podNetworking of [false, true]) {
    for (const o of objects) {
      if (!podNetworking && o.metadata.name === 'vm-cirros') continue;
      const once = applyDefaults(o as VirtualMachine, { podNetworking });
      assert.deepEqual(applyDefaults(once, { podNetworking }), once);
      assert.deepEqual(validate(once, { podNetworking }).warnings, []);
    }
  }
});

test('vmiFromVM: the VMI the VM controller makes', () => {
  const { objects } = parseManifests(GETTING_STARTED_VM);
  const stored = applyDefaults(objects[0] as VirtualMachine, { podNetworking: true });
  stored.metadata.uid = 'vm-uid-1';
  stored.metadata.generation = 4;
  stored.spec.template.metadata!.annotations = { note: 'x' };
  const before = structuredClone(stored);
  const made = vmiFromVM(stored, 'vmi-uid-1', { podNetworking: true });
  assert.deepEqual(stored, before, 'the VM is not modified');
  assert.deepEqual(made.metadata, {
    name: 'vm-cirros',
    namespace: 'default',
    uid: 'vmi-uid-1',
    labels: { 'kubevirt.io/size': 'small', 'kubevirt.io/domain': 'vm-cirros' },
    annotations: { note: 'x', 'kubevirt.io/vm-generation': '4' },
    ownerReferences: [{ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name: 'vm-cirros', uid: 'vm-uid-1', controller: true, blockOwnerDeletion: true }],
  });
  assert.equal(made.kind, 'VirtualMachineInstance');
  assert.equal(made.apiVersion, 'kubevirt.io/v1');
  assert.equal(made.spec.domain.firmware?.uuid, '0d2a2043-41c0-59c3-9b17-025022203668');
  assert.equal(made.spec.domain.memory?.guest, '64M');
  assert.equal(made.spec.terminationGracePeriodSeconds, 30);
  assert.deepEqual(made.spec.domain.devices.interfaces, [{ name: 'default', masquerade: {}, model: 'virtio' }]);
  // The VMI passes admission once the controller's ownerReference is set aside.
  const { ownerReferences: _, ...meta } = made.metadata;
  assert.deepEqual(validate({ ...made, metadata: meta }, { podNetworking: true }).warnings, []);
});

test('vmiFromVM keeps a firmware UUID the template gives, and refuses a VM without uid', () => {
  const o = vm() as VirtualMachine;
  o.metadata.uid = 'u';
  o.spec.template.spec.domain.firmware = { uuid: '11111111-2222-3333-4444-555555555555' };
  assert.equal(vmiFromVM(o).spec.domain.firmware?.uuid, '11111111-2222-3333-4444-555555555555');
  assert.equal(vmiFromVM(o).metadata.uid, undefined);
  delete o.metadata.uid;
  assert.throws(() => vmiFromVM(o), (e: unknown) => e instanceof VirtnodeError && e.code === 'VN_INTERNAL');
});

test("stable firmware UUIDs are KubeVirt's name-based UUIDv5 (checked against Python's uuid5)", () => {
  const names = ['vm-cirros', 'testvm', 'a.b-c', 'ünïcode'];
  const py = execFileSync('python3', ['-c', 'import sys, uuid\nfor n in sys.argv[1:]: print(uuid.uuid5(uuid.UUID("6a1a24a1-4061-4607-8bf4-a3963d0c5895"), n))', ...names], { encoding: 'utf8' });
  assert.deepEqual(names.map(stableFirmwareUUID), py.trim().split('\n'));
});

test('guestMemoryBytes, cpuTopology, vcpuCount read a spec as the launcher needs', () => {
  const s = defaultedSpec();
  assert.equal(guestMemoryBytes(s), 64_000_000n);
  const raw = vmiSpec() as VirtualMachineInstanceSpec;
  assert.equal(guestMemoryBytes(raw), 64_000_000n);
  raw.domain.memory = { guest: '0.5Gi' };
  assert.equal(guestMemoryBytes(raw), 536_870_912n);
  raw.domain.memory = {};
  raw.domain.resources = { limits: { memory: '1Gi' } };
  assert.equal(guestMemoryBytes(raw), 1_073_741_824n);
  raw.domain.resources = {};
  assert.throws(() => guestMemoryBytes(raw), { message: 'spec.domain.resources.requests.memory: no memory requested' });
  raw.domain.memory = { guest: '64X' };
  assert.throws(() => guestMemoryBytes(raw, 'spec.template.spec'), { message: 'spec.template.spec.domain.memory.guest: "64X" is not a quantity' });

  raw.domain.cpu = { sockets: 2, cores: 3, threads: 2 };
  assert.deepEqual(cpuTopology(raw), { sockets: 2, cores: 3, threads: 2 });
  assert.equal(vcpuCount(raw), 12);
  raw.domain.cpu = { cores: 4 };
  assert.equal(vcpuCount(raw), 4);
  raw.domain.cpu = undefined;
  raw.domain.resources = { limits: { cpu: '3' } };
  assert.deepEqual(cpuTopology(raw), { sockets: 3, cores: 1, threads: 1 });
});
