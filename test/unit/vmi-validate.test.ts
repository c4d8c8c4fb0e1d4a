import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FieldError } from '../../proto/errors.js';
import { parseManifests, validate, type ValidateOptions } from '../../proto/vmi/index.js';
import { ROOT_BUS_FREE_SLOTS, rootBusDevices } from '../../proto/vmi/devices.js';
import { assertRejected, GETTING_STARTED_VM, specOf, vm, vmi, type Json } from './vmi-fixtures.js';

const NOT_YET = 'not supported yet';
const GATE = 'not supported on this node: it provides no pod network';

test('the valid fixtures and KubeVirt-style VMIs are accepted', () => {
  assert.deepEqual(validate(vmi()), { warnings: [] });
  assert.deepEqual(validate(vm()), { warnings: [] });
  // A kernel-boot VMI without disks, in the style of KubeVirt's vmi-kernel-boot example.
  const kb = vmi();
  kb.spec = {
    domain: {
      devices: {},
      firmware: {
        kernelBoot: {
          container: { image: 'registry:5000/kubevirt/alpine-ext-kernel-boot-demo:devel', initrdPath: '/boot/initramfs-virt', kernelPath: '/boot/vmlinuz-virt' },
          kernelArgs: 'console=ttyS0',
        },
      },
      memory: { guest: '1Gi' },
      resources: {},
    },
    terminationGracePeriodSeconds: 0,
  };
  assert.deepEqual(validate(kb), { warnings: [] });
  // Everything virtnode supports, at once.
  const full = vmi();
  full.metadata = { name: 'full.example', namespace: 'ns-1', uid: 'x', labels: { 'example.com/tier': 'a_b.c-d', empty: '' }, annotations: { 'Any.Key/Name': 'anything at all: {}' }, creationTimestamp: null, resourceVersion: '12', generation: 3 };
  full.status = { phase: 'Running' };
  full.spec = {
    domain: {
      resources: { requests: { memory: '1Gi', cpu: '500m' }, limits: { memory: '2Gi', cpu: 2 }, overcommitGuestOverhead: true },
      cpu: { sockets: 1, cores: 2, threads: 1, model: 'host-model' },
      memory: { guest: '1536Mi' },
      machine: { type: 'pc-q35-7.2' },
      firmware: { uuid: '0d2a2043-41c0-59c3-9b17-025022203668', serial: 'ABC-123', bootloader: { efi: { secureBoot: true, persistent: true } } },
      features: { acpi: { enabled: true }, smm: {} },
      devices: {
        tpm: { persistent: true },
        disks: [
          { name: 'root', disk: { bus: 'virtio', readonly: false }, bootOrder: 1, serial: 'root_1', cache: 'none' },
          { name: 'scratch', bootOrder: 2, cache: 'writeback' },
          { name: 'unused', disk: {} },
        ],
        rng: {},
        autoattachPodInterface: false,
        autoattachGraphicsDevice: false,
        autoattachSerialConsole: true,
        autoattachMemBalloon: false,
        networkInterfaceMultiqueue: true,
      },
    },
    volumes: [
      { name: 'root', containerDisk: { image: 'localhost:5000/vm/root@sha256:' + 'a'.repeat(64), imagePullPolicy: 'Never', path: '/disk/root.qcow2' } },
      { name: 'scratch', emptyDisk: { capacity: '1Gi' } },
      { name: 'unused', emptyDisk: { capacity: 1048576 } },
      { name: 'extra', emptyDisk: { capacity: '10M' } },
    ],
    terminationGracePeriodSeconds: 5,
    hostname: 'my-host',
    subdomain: 'sub.example',
    architecture: 'amd64',
    evictionStrategy: 'None',
  };
  assert.deepEqual(validate(full), { warnings: [] });
  // BIOS with its serial adapter, a TPM that is switched off.
  full.spec.domain.firmware.bootloader = { bios: { useSerial: true } };
  full.spec.domain.features = { smm: { enabled: false } };
  full.spec.domain.devices.tpm = { enabled: false };
  assert.deepEqual(validate(full), { warnings: [] });
});

test("KubeVirt's getting-started VM: accepted with pod networking, refused by exactly its network paths without", () => {
  const { objects } = parseManifests(GETTING_STARTED_VM);
  assert.deepEqual(validate(objects[0], { podNetworking: true }), { warnings: [] });
  assertRejected(objects[0], [
    { path: 'spec.template.spec.domain.devices.interfaces[0]', message: GATE },
    { path: 'spec.template.spec.networks[0]', message: GATE },
  ]);
  // The same spec as a bare VMI.
  const bare = { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance', metadata: { name: 'vm-cirros' }, spec: (objects[0] as Json).spec.template.spec };
  assert.deepEqual(validate(bare, { podNetworking: true }), { warnings: [] });
  assertRejected(bare, [
    { path: 'spec.domain.devices.interfaces[0]', message: GATE },
    { path: 'spec.networks[0]', message: GATE },
  ]);
});

// ---- rules of a VMI spec, checked on a VMI and on a VM's template -----------

interface SpecRule {
  name: string;
  break: (spec: Json) => void;
  errors: (p: string) => FieldError[];
  opts?: Partial<ValidateOptions>;
}

const MEM_REQ = (p: string) => `${p}.domain.resources.requests.memory`;
const MEM_LIM = (p: string) => `${p}.domain.resources.limits.memory`;
const noMemory = (p: string) =>
  `no memory requested, at least one of '${p}.domain.memory.guest', '${MEM_REQ(p)}' or '${MEM_LIM(p)}' must be set`;
const addDisk = (s: Json, disk: Json, volume?: Json) => {
  s.domain.devices.disks.push(disk);
  if (volume) s.volumes.push(volume);
};
const emptyVol = (name: string) => ({ name, emptyDisk: { capacity: '1Mi' } });

const ROOT_BUS_FULL =
  'needs 33 PCI slots (virtio disks: 25, virtio-scsi controller: 1, network interfaces: 1, memory balloon: 1, VGA: 1, guest agent channel: 1, panic device: 1, hotplug ports: 2); ' +
  "a q35 machine's root bus has 30: put disks on bus scsi or sata instead of virtio";
const manyDisks = (s: Json, n: number, bus: string) => {
  for (let i = 0; i < n; i++) addDisk(s, { name: `x${i}`, disk: { bus } }, emptyVol(`x${i}`));
};

const SPEC_RULES: SpecRule[] = [
  // how many
  { name: 'devices must fit the root bus', break: (s) => manyDisks(s, 24, 'virtio'), errors: (p) => [{ path: `${p}.domain.devices`, message: ROOT_BUS_FULL }] },
  {
    name: 'at most 256 disks and volumes',
    break: (s) => manyDisks(s, 256, 'scsi'),
    errors: (p) => [
      { path: `${p}.domain.devices.disks`, message: 'has 257 items; at most 256' },
      { path: `${p}.volumes`, message: 'has 257 items; at most 256' },
    ],
  },
  // memory
  { name: 'memory is required', break: (s) => delete s.domain.resources, errors: (p) => [{ path: MEM_REQ(p), message: noMemory(p) }] },
  { name: 'a zero request is no memory', break: (s) => (s.domain.resources.requests.memory = '0'), errors: (p) => [{ path: MEM_REQ(p), message: noMemory(p) }] },
  { name: 'memory must be a quantity', break: (s) => (s.domain.resources.requests.memory = '64X'), errors: (p) => [{ path: MEM_REQ(p), message: '"64X" is not a quantity' }] },
  { name: 'memory must not be negative', break: (s) => (s.domain.resources.requests.memory = '-64M'), errors: (p) => [{ path: MEM_REQ(p), message: "'-64M' must be greater than or equal to 0" }] },
  { name: 'memory request at least 1M', break: (s) => (s.domain.resources.requests.memory = '512k'), errors: (p) => [{ path: MEM_REQ(p), message: "'512k' must be greater than or equal to 1M" }] },
  { name: 'guest memory must be positive', break: (s) => (s.domain.memory = { guest: '0' }), errors: (p) => [{ path: `${p}.domain.memory.guest`, message: "'0' must be greater than 0" }] },
  {
    name: 'guest memory at most the limit',
    break: (s) => Object.assign(s.domain, { memory: { guest: '2Gi' }, resources: { requests: { memory: '64M' }, limits: { memory: '1Gi' } } }),
    errors: (p) => [{ path: `${p}.domain.memory.guest`, message: `'2Gi' must be equal to or less than the memory limit ${MEM_LIM(p)} '1Gi'` }],
  },
  {
    name: 'memory request at most the limit',
    break: (s) => (s.domain.resources = { requests: { memory: '2Gi' }, limits: { memory: '1Gi' } }),
    errors: (p) => [{ path: MEM_REQ(p), message: `'2Gi' is greater than ${MEM_LIM(p)} '1Gi'` }],
  },
  {
    name: 'memory at most 4Pi, what an x86-64 guest can address',
    break: (s) => Object.assign(s.domain, { memory: { guest: '8Pi' }, resources: { requests: { memory: '5Pi' }, limits: { memory: '7Ei' } } }),
    errors: (p) => [
      { path: MEM_REQ(p), message: "'5Pi' must be at most 4Pi: an x86-64 guest addresses at most 2^52 bytes" },
      { path: MEM_LIM(p), message: "'7Ei' must be at most 4Pi: an x86-64 guest addresses at most 2^52 bytes" },
      { path: `${p}.domain.memory.guest`, message: "'8Pi' must be at most 4Pi: an x86-64 guest addresses at most 2^52 bytes" },
    ],
  },
  { name: 'memory of 4Pi is accepted', break: (s) => (s.domain.resources = { requests: { memory: '4Pi' }, limits: { memory: 4503599627370496 } }), errors: () => [] },
  { name: 'a limit alone is enough memory', break: (s) => (s.domain.resources = { limits: { memory: '128Mi' } }), errors: () => [] },
  { name: 'guest alone is enough memory', break: (s) => Object.assign(s.domain, { resources: {}, memory: { guest: '128Mi' } }), errors: () => [] },
  {
    name: 'other resources are not supported yet',
    break: (s) => (s.domain.resources.requests['hugepages-2Mi'] = '1Gi'),
    errors: (p) => [{ path: `${p}.domain.resources.requests[hugepages-2Mi]`, message: NOT_YET }],
  },
  { name: 'hugepages are not supported yet', break: (s) => (s.domain.memory = { hugepages: { pageSize: '2Mi' } }), errors: (p) => [{ path: `${p}.domain.memory.hugepages`, message: NOT_YET }] },

  // cpu
  { name: 'cores at least 1', break: (s) => (s.domain.cpu = { cores: 0 }), errors: (p) => [{ path: `${p}.domain.cpu.cores`, message: 'must be greater than or equal to 1 (got 0)' }] },
  { name: 'sockets an integer', break: (s) => (s.domain.cpu = { sockets: 1.5 }), errors: (p) => [{ path: `${p}.domain.cpu.sockets`, message: 'must be an integer (got 1.5)' }] },
  { name: 'threads an integer, not a string', break: (s) => (s.domain.cpu = { threads: '2' }), errors: (p) => [{ path: `${p}.domain.cpu.threads`, message: 'must be an integer (got "2")' }] },
  {
    name: 'at most 288 vCPUs on q35',
    break: (s) => (s.domain.cpu = { sockets: 17, cores: 17 }),
    errors: (p) => [{ path: `${p}.domain.cpu`, message: 'sockets × cores × threads is 289: a q35 machine takes at most 288 vCPUs' }],
  },
  {
    name: 'cpu request at most the limit',
    break: (s) => Object.assign(s.domain.resources, { requests: { memory: '64M', cpu: '2' }, limits: { cpu: '1500m' } }),
    errors: (p) => [{ path: `${p}.domain.resources.requests.cpu`, message: `'2' is greater than ${p}.domain.resources.limits.cpu '1500m'` }],
  },
  {
    name: 'cpu limit not negative',
    break: (s) => (s.domain.resources.limits = { cpu: '-1' }),
    errors: (p) => [{ path: `${p}.domain.resources.limits.cpu`, message: "'-1' must be greater than or equal to 0" }],
  },
  {
    name: 'cpu requests and limits at most the 288 vCPUs of q35',
    break: (s) => Object.assign(s.domain.resources, { requests: { memory: '64M', cpu: '289' }, limits: { cpu: '1e16' } }),
    errors: (p) => [
      { path: `${p}.domain.resources.requests.cpu`, message: "'289' is more CPU than 288 vCPUs, the most a q35 machine takes" },
      { path: `${p}.domain.resources.limits.cpu`, message: "'1e16' is more CPU than 288 vCPUs, the most a q35 machine takes" },
    ],
  },
  { name: 'a cpu limit of 288 is accepted', break: (s) => (s.domain.resources.limits = { cpu: 288 }), errors: () => [] },
  { name: 'cpu a quantity', break: (s) => (s.domain.resources.requests.cpu = 'two'), errors: (p) => [{ path: `${p}.domain.resources.requests.cpu`, message: '"two" is not a quantity' }] },
  {
    name: 'cpu model syntax',
    break: (s) => (s.domain.cpu = { model: 'bad model' }),
    errors: (p) => [{ path: `${p}.domain.cpu.model`, message: '"bad model" is not a CPU model name (host-model, host-passthrough, or a QEMU model such as qemu64)' }],
  },
  {
    name: "cpu model: QEMU's feature syntax is not a model name",
    break: (s) => (s.domain.cpu = { model: 'Foo+bar' }),
    errors: (p) => [{ path: `${p}.domain.cpu.model`, message: '"Foo+bar" is not a CPU model name (host-model, host-passthrough, or a QEMU model such as qemu64)' }],
  },
  {
    name: 'cpu model: "host" is host-passthrough in KubeVirt words',
    break: (s) => (s.domain.cpu = { model: 'host' }),
    errors: (p) => [{ path: `${p}.domain.cpu.model`, message: `"host" is not a CPU model name: host-passthrough gives the guest the host's CPU` }],
  },
  {
    name: "a CPU model the node's QEMU lacks fails at launch, so at admission",
    break: (s) => (s.domain.cpu = { model: 'Cascadelake-Server_v2' }),
    errors: (p) => [{ path: `${p}.domain.cpu.model`, message: `not supported yet: CPU model "Cascadelake-Server_v2" (the node's QEMU 7.2 has no such model: host-model, host-passthrough, or one of qemu-system-x86_64 -cpu help)` }],
  },
  { name: 'a versioned QEMU CPU model is accepted', break: (s) => (s.domain.cpu = { model: 'Cascadelake-Server-v2' }), errors: () => [] },
  { name: 'dedicated CPUs are not supported yet', break: (s) => (s.domain.cpu = { dedicatedCpuPlacement: true }), errors: (p) => [{ path: `${p}.domain.cpu.dedicatedCpuPlacement`, message: NOT_YET }] },

  // machine
  {
    name: 'machine type q35 only',
    break: (s) => (s.domain.machine = { type: 'pc-i440fx-7.2' }),
    errors: (p) => [{ path: `${p}.domain.machine.type`, message: 'not supported yet: "pc-i440fx-7.2" (allowed values: q35, pc-q35-2.4 to pc-q35-7.2)' }],
  },
  {
    name: "a q35 version the node's QEMU 7.2 lacks fails at launch, so at admission",
    break: (s) => (s.domain.machine = { type: 'pc-q35-8.0' }),
    errors: (p) => [{ path: `${p}.domain.machine.type`, message: 'not supported yet: "pc-q35-8.0" (allowed values: q35, pc-q35-2.4 to pc-q35-7.2)' }],
  },
  { name: 'versioned q35 is accepted', break: (s) => (s.domain.machine = { type: 'pc-q35-7.2' }), errors: () => [] },

  // disks
  {
    name: 'disk names are unique',
    break: (s) => addDisk(s, { name: 'containerdisk' }),
    errors: (p) => [
      {
        path: `${p}.domain.devices.disks[1].name`,
        message: `Duplicate value: "containerdisk": ${p}.domain.devices.disks[1] and ${p}.domain.devices.disks[0] must not have the same name`,
      },
    ],
  },
  { name: 'a disk names an existing volume', break: (s) => addDisk(s, { name: 'other' }), errors: (p) => [{ path: `${p}.domain.devices.disks[1].name`, message: `'other' not found in ${p}.volumes` }] },
  { name: 'a disk has a name', break: (s) => addDisk(s, { disk: {} }), errors: (p) => [{ path: `${p}.domain.devices.disks[1].name`, message: 'Required value' }] },
  {
    name: 'disk names are DNS-1123 labels',
    break: (s) => addDisk(s, { name: 'Disk.1' }),
    errors: (p) => [
      {
        path: `${p}.domain.devices.disks[1].name`,
        message:
          'Invalid value: "Disk.1": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \'-\', and must start and end with an alphanumeric character (e.g. \'my-name\',  or \'123-abc\', regex used for validation is \'[a-z0-9]([-a-z0-9]*[a-z0-9])?\')',
      },
      { path: `${p}.domain.devices.disks[1].name`, message: `'Disk.1' not found in ${p}.volumes` },
    ],
  },
  {
    name: 'one target per disk',
    break: (s) => (s.domain.devices.disks[0].cdrom = { bus: 'sata' }),
    errors: (p) => [{ path: `${p}.domain.devices.disks[0]`, message: 'can only have a single target type defined' }],
  },
  ...['sata', 'scsi', 'usb'].map((bus) => ({ name: `bus ${bus} is accepted`, break: (s: Json) => addDisk(s, { name: 'd', disk: { bus } }, emptyVol('d')), errors: () => [] })),
  { name: 'a sata and a scsi cdrom are accepted', break: (s: Json) => { addDisk(s, { name: 'c1', cdrom: { bus: 'sata', tray: 'closed' } }, emptyVol('c1')); addDisk(s, { name: 'c2', cdrom: { bus: 'scsi', readonly: false } }, emptyVol('c2')); }, errors: () => [] },
  {
    name: 'a cdrom tray cannot start open',
    break: (s) => addDisk(s, { name: 'c', cdrom: { tray: 'open' } }, emptyVol('c')),
    errors: (p) => [{ path: `${p}.domain.devices.disks[1].cdrom.tray`, message: 'not supported: QEMU closes a CD-ROM tray whenever the drive is reset, and firmware and guest drivers reset it at boot, so no tray stays open from the start' }],
  },
  { name: "a cdrom's bus defaults to sata", break: (s) => addDisk(s, { name: 'c', cdrom: {} }, emptyVol('c')), errors: () => [] },
  {
    name: 'a cdrom cannot be virtio (KubeVirt)',
    break: (s) => addDisk(s, { name: 'c', cdrom: { bus: 'virtio' } }, emptyVol('c')),
    errors: (p) => [{ path: `${p}.domain.devices.disks[1].cdrom.bus`, message: 'Bus type virtio is invalid for CD-ROM device' }],
  },
  {
    name: 'a usb cdrom is not built',
    break: (s) => addDisk(s, { name: 'c', cdrom: { bus: 'usb' } }, emptyVol('c')),
    errors: (p) => [{ path: `${p}.domain.devices.disks[1].cdrom.bus`, message: 'not supported yet: a cdrom on bus usb (virtnode builds sata and scsi cdroms)' }],
  },
  {
    name: 'a cdrom tray is open or closed',
    break: (s) => addDisk(s, { name: 'c', cdrom: { tray: 'ajar' } }, emptyVol('c')),
    errors: (p) => [{ path: `${p}.domain.devices.disks[1].cdrom.tray`, message: 'Unsupported value: "ajar": supported values: "open", "closed"' }],
  },
  {
    name: 'a sata hard disk cannot be read-only (KubeVirt)',
    break: (s) => addDisk(s, { name: 'd', disk: { bus: 'sata', readonly: true } }, emptyVol('d')),
    errors: (p) => [{ path: `${p}.domain.devices.disks[1].disk.bus`, message: 'sata hard-disks do not support read-only.' }],
  },
  {
    name: 'a lun needs a block volume: every volume source here is a file',
    break: (s) => addDisk(s, { name: 'l', lun: {} }, emptyVol('l')),
    errors: (p) => [{
      path: `${p}.domain.devices.disks[1].lun`,
      message: `${p}.domain.devices.disks[1].lun can only be mapped to a DataVolume or PersistentVolumeClaim volume. A lun needs a block volume; ${p}.volumes[1] is a emptyDisk, which is a file`,
    }],
  },
  {
    name: 'a lun is scsi only; no reservation, serial or custom block size',
    break: (s) => addDisk(s, { name: 'l', lun: { bus: 'sata', reservation: true }, serial: 'S1', blockSize: { custom: { logical: 512, physical: 512 } } }, emptyVol('l')),
    errors: (p) => [
      { path: `${p}.domain.devices.disks[1].lun.bus`, message: 'a lun needs bus scsi: its SCSI commands pass through to the host device (scsi-block), not bus sata' },
      { path: `${p}.domain.devices.disks[1].lun.reservation`, message: "not supported: SCSI persistent reservations need the node's qemu-pr-helper, which virtnode does not run" },
      { path: `${p}.domain.devices.disks[1].serial`, message: "not supported for a lun: the guest sees the host device's own serial" },
      { path: `${p}.domain.devices.disks[1].blockSize.custom`, message: "not supported for a lun: the guest sees the host device's own block sizes (scsi-block)" },
      { path: `${p}.domain.devices.disks[1].lun`, message: `${p}.domain.devices.disks[1].lun can only be mapped to a DataVolume or PersistentVolumeClaim volume. A lun needs a block volume; ${p}.volumes[1] is a emptyDisk, which is a file` },
    ],
  },
  {
    name: 'at most 15 usb disks (the controller\'s ports)',
    break: (s) => { for (let i = 0; i < 16; i++) addDisk(s, { name: `u${i}`, disk: { bus: 'usb' } }, emptyVol(`u${i}`)); },
    errors: (p) => [{ path: `${p}.domain.devices.disks[16]`, message: 'more than 15 disks on bus usb: the USB controller has 15 ports' }],
  },
  {
    name: 'dedicatedIOThread only on virtio (KubeVirt)',
    break: (s) => addDisk(s, { name: 'd', disk: { bus: 'scsi' }, dedicatedIOThread: true }, emptyVol('d')),
    errors: (p) => [{ path: `${p}.domain.devices.disks[1].dedicatedIOThread`, message: 'IOThreads are not supported for disks on a scsi bus' }],
  },
  { name: 'IDE bus is refused', break: (s) => (s.domain.devices.disks[0].disk.bus = 'ide'), errors: (p) => [{ path: `${p}.domain.devices.disks[0].disk.bus`, message: 'IDE bus is not supported' }] },
  {
    name: 'unknown bus is refused',
    break: (s) => (s.domain.devices.disks[0].disk.bus = 'nvme'),
    errors: (p) => [{ path: `${p}.domain.devices.disks[0].disk.bus`, message: 'unrecognized bus nvme, must be one of: [virtio sata scsi usb]' }],
  },
  {
    name: 'boot order at least 1',
    break: (s) => (s.domain.devices.disks[0].bootOrder = 0),
    errors: (p) => [{ path: `${p}.domain.devices.disks[0].bootOrder`, message: 'must have a boot order > 0, if supplied (got 0)' }],
  },
  {
    name: "boot order fits QEMU's int32 bootindex",
    break: (s) => (s.domain.devices.disks[0].bootOrder = 2 ** 31),
    errors: (p) => [{ path: `${p}.domain.devices.disks[0].bootOrder`, message: 'must be at most 2147483647, the largest bootindex QEMU takes (got 2147483648)' }],
  },
  { name: 'boot order 2147483647 is accepted', break: (s) => (s.domain.devices.disks[0].bootOrder = 2 ** 31 - 1), errors: () => [] },
  {
    name: 'boot orders are unique',
    break: (s) => {
      s.domain.devices.disks[0].bootOrder = 1;
      addDisk(s, { name: 'second', bootOrder: 1 }, emptyVol('second'));
    },
    errors: (p) => [{ path: `${p}.domain.devices.disks[1].bootOrder`, message: `Boot order 1 already set for a different device (${p}.domain.devices.disks[0].bootOrder)` }],
  },
  {
    name: 'serial charset',
    break: (s) => (s.domain.devices.disks[0].serial = 'serial number!'),
    errors: (p) => [{ path: `${p}.domain.devices.disks[0].serial`, message: 'must be made up of the following characters [A-Za-z0-9_.+-], if specified' }],
  },
  {
    name: 'serial length',
    break: (s) => (s.domain.devices.disks[0].serial = 'a'.repeat(257)),
    errors: (p) => [{ path: `${p}.domain.devices.disks[0].serial`, message: 'must be less than or equal to 256 in length, if specified' }],
  },
  {
    name: 'cache mode',
    break: (s) => (s.domain.devices.disks[0].cache = 'unsafe'),
    errors: (p) => [{ path: `${p}.domain.devices.disks[0].cache`, message: 'has invalid value unsafe, must be one of: [none writethrough writeback]' }],
  },
  { name: 'a disk PCI address on the root bus is accepted', break: (s) => (s.domain.devices.disks[0].disk.pciAddress = '0000:00:0a.0'), errors: () => [] },
  {
    name: 'a disk PCI address is virtio only and well formed (KubeVirt)',
    break: (s) => {
      s.domain.devices.disks[0].disk.pciAddress = '0000:00:1z.0';
      addDisk(s, { name: 'd', disk: { bus: 'sata', pciAddress: '0000:00:05.0' } }, emptyVol('d'));
    },
    errors: (p) => [
      { path: `${p}.domain.devices.disks[0].disk.pciAddress`, message: `disk ${p}.domain.devices.disks[0].name has malformed PCI address (0000:00:1z.0).` },
      { path: `${p}.domain.devices.disks[1].disk.pciAddress`, message: `disk ${p}.domain.devices.disks[1].name - setting a PCI address is only possible with bus type virtio.` },
    ],
  },
  ...['0000:81:01.0', '0000:00:1f.0', '0000:00:00.0', '0000:00:20.0', '0000:00:03.1', '0001:00:03.0'].map((a) => ({
    name: `a disk PCI address off the root bus's free slots (${a}) is refused`,
    break: (s: Json) => (s.domain.devices.disks[0].disk.pciAddress = a),
    errors: (p: string) => [{ path: `${p}.domain.devices.disks[0].disk.pciAddress`, message: `not supported: ${a}: virtnode places disks on bus 00 (q35's root bus pcie.0), in slots 01 to 1e, function 0` }],
  })),
  {
    name: 'two disks cannot share a PCI address',
    break: (s) => {
      s.domain.devices.disks[0].disk.pciAddress = '0000:00:0A.0';
      addDisk(s, { name: 'd', disk: { pciAddress: '0000:00:0a.0' } }, emptyVol('d'));
    },
    errors: (p) => [{ path: `${p}.domain.devices.disks[1].disk.pciAddress`, message: `PCI address 0000:00:0a.0 is already used by ${p}.domain.devices.disks[0].disk.pciAddress` }],
  },
  { name: 'io native and threads are accepted', break: (s) => { s.domain.devices.disks[0].io = 'native'; addDisk(s, { name: 'd', io: 'threads', cache: 'writeback' }, emptyVol('d')); }, errors: () => [] },
  {
    name: 'io is native or threads (KubeVirt)',
    break: (s) => (s.domain.devices.disks[0].io = 'io_uring'),
    errors: (p) => [{ path: `${p}.domain.devices.disks[0].io`, message: `Disk IO mode for ${p}.domain.devices.disks[0] is not supported. Supported modes are: native, threads.` }],
  },
  {
    name: 'io native needs cache none',
    break: (s) => Object.assign(s.domain.devices.disks[0], { io: 'native', cache: 'writethrough' }),
    errors: (p) => [{ path: `${p}.domain.devices.disks[0].io`, message: `native I/O needs cache "none" (O_DIRECT), not 'writethrough'` }],
  },
  {
    name: 'a shareable disk needs cache none (KubeVirt)',
    break: (s) => Object.assign(s.domain.devices.disks[0], { shareable: true, cache: 'writeback' }),
    errors: (p) => [{ path: `${p}.domain.devices.disks[0].cache`, message: 'a sharable disk requires cache = none got: writeback' }],
  },
  { name: 'error policies, tag, shareable are accepted', break: (s) => Object.assign(s.domain.devices.disks[0], { errorPolicy: 'enospace', tag: 'root', shareable: true }), errors: () => [] },
  {
    name: 'error policy is one of KubeVirt\'s',
    break: (s) => (s.domain.devices.disks[0].errorPolicy = 'retry'),
    errors: (p) => [{ path: `${p}.domain.devices.disks[0].errorPolicy`, message: `${p}.domain.devices.disks[0].errorPolicy has invalid value "retry"` }],
  },
  { name: 'custom block sizes are accepted', break: (s) => (s.domain.devices.disks[0].blockSize = { custom: { logical: 512, physical: 4096, discardGranularity: 4096 } }), errors: () => [] },
  { name: 'matchVolume is accepted', break: (s) => (s.domain.devices.disks[0].blockSize = { matchVolume: { enabled: true } }), errors: () => [] },
  {
    name: "block sizes follow KubeVirt's rules",
    break: (s) => {
      s.domain.devices.disks[0].blockSize = { custom: { logical: 4096, physical: 512 } };
      addDisk(s, { name: 'a', disk: { bus: 'sata' }, blockSize: { custom: { logical: 4096, physical: 4096 } } }, emptyVol('a'));
      addDisk(s, { name: 'b', blockSize: { custom: { logical: 1024, physical: 4096, discardGranularity: 1536 } } }, emptyVol('b'));
      addDisk(s, { name: 'c', blockSize: { custom: { logical: 256, physical: 3000 } } }, emptyVol('c'));
      addDisk(s, { name: 'e', blockSize: { custom: { logical: 512, physical: 4194304 } } }, emptyVol('e'));
      addDisk(s, { name: 'f', blockSize: { custom: { logical: 512, physical: 512 }, matchVolume: {} } }, emptyVol('f'));
      addDisk(s, { name: 'g', cdrom: { bus: 'sata' }, blockSize: { custom: { logical: 512, physical: 4096, discardGranularity: 4096 } } }, emptyVol('g'));
    },
    errors: (p) => [
      { path: `${p}.domain.devices.disks[0].blockSize.custom.logical`, message: 'Logical size 4096 must be the same or less than the physical size of 512' },
      { path: `${p}.domain.devices.disks[1].blockSize.custom.logical`, message: 'Logical size 4096 must be 512 for SATA devices' },
      { path: `${p}.domain.devices.disks[2].blockSize.custom.discardGranularity`, message: 'Discard granularity 1536 must be multiples of logical size 1024' },
      { path: `${p}.domain.devices.disks[3].blockSize.custom.logical`, message: 'Provided size of 256 is less than the supported minimum size of 512' },
      { path: `${p}.domain.devices.disks[3].blockSize.custom.physical`, message: 'Provided size of 3000 is not a power of 2' },
      { path: `${p}.domain.devices.disks[4].blockSize.custom.physical`, message: 'Provided size of 4194304 is greater than the supported maximum size of 2097152' },
      { path: `${p}.domain.devices.disks[5].blockSize`, message: "Block size matching can't be enabled together with a custom value" },
      { path: `${p}.domain.devices.disks[6].blockSize.custom.discardGranularity`, message: 'Discard granularity 4096 must be 512 for SATA devices' },
    ],
  },
  { name: 'ioThreadsPolicy, dedicatedIOThread and blockMultiQueue are accepted', break: (s) => { s.domain.ioThreadsPolicy = 'auto'; s.domain.devices.disks[0].dedicatedIOThread = true; s.domain.devices.blockMultiQueue = true; }, errors: () => [] },
  { name: 'a supplemental pool of iothreads is accepted', break: (s) => { s.domain.ioThreadsPolicy = 'supplementalPool'; s.domain.ioThreads = { supplementalPoolThreadCount: 4 }; }, errors: () => [] },
  {
    name: 'ioThreadsPolicy is one of KubeVirt\'s; a supplemental pool needs a size',
    break: (s) => (s.domain.ioThreadsPolicy = 'supplementalPool'),
    errors: (p) => [{ path: `${p}.domain.ioThreads.supplementalPoolThreadCount`, message: 'the number of iothreads needs to be set and positive for the dedicated policy' }],
  },
  { name: 'an unknown ioThreadsPolicy is refused', break: (s) => (s.domain.ioThreadsPolicy = 'dedicated'), errors: (p) => [{ path: `${p}.domain.ioThreadsPolicy`, message: 'Invalid IOThreadsPolicy (dedicated)' }] },
  {
    name: 'a supplemental pool is bounded',
    break: (s) => { s.domain.ioThreadsPolicy = 'supplementalPool'; s.domain.ioThreads = { supplementalPoolThreadCount: 5000 }; },
    errors: (p) => [{ path: `${p}.domain.ioThreads.supplementalPoolThreadCount`, message: "must be at most 1024: each iothread is a host thread of QEMU, under the VM's pids limit" }],
  },
  { name: 'changedBlockTracking is not supported yet', break: (s) => (s.domain.devices.disks[0].changedBlockTracking = true), errors: (p) => [{ path: `${p}.domain.devices.disks[0].changedBlockTracking`, message: NOT_YET }] },
  { name: 'a misspelt disk field is unknown', break: (s) => (s.domain.devices.disks[0].buss = 'virtio'), errors: (p) => [{ path: `${p}.domain.devices.disks[0].buss`, message: 'unknown field' }] },
  { name: 'disks must be a list', break: (s) => (s.domain.devices.disks = { name: 'x' }), errors: (p) => [{ path: `${p}.domain.devices.disks`, message: 'must be a list (got {"name":"x"})' }] },
  { name: 'a volume without a disk is fine (it gets one)', break: (s) => s.volumes.push(emptyVol('extra')), errors: () => [] },

  // volumes
  {
    name: 'volume names are unique',
    break: (s) => s.volumes.push(emptyVol('containerdisk')),
    errors: (p) => [{ path: `${p}.volumes[1].name`, message: `Duplicate value: "containerdisk": ${p}.volumes[1] and ${p}.volumes[0] must not have the same name` }],
  },
  { name: 'a volume has a name', break: (s) => s.volumes.push({ emptyDisk: { capacity: '1Mi' } }), errors: (p) => [{ path: `${p}.volumes[1].name`, message: 'Required value' }] },
  {
    name: 'exactly one source per volume (two)',
    break: (s) => (s.volumes[0].emptyDisk = { capacity: '1Gi' }),
    errors: (p) => [{ path: `${p}.volumes[0]`, message: 'must have exactly one source type set' }],
  },
  { name: 'exactly one source per volume (none)', break: (s) => s.volumes.push({ name: 'nothing' }), errors: (p) => [{ path: `${p}.volumes[1]`, message: 'must have exactly one source type set' }] },
  { name: 'containerDisk image is required', break: (s) => delete s.volumes[0].containerDisk.image, errors: (p) => [{ path: `${p}.volumes[0].containerDisk.image`, message: 'Required value' }] },
  { name: 'containerDisk image not empty', break: (s) => (s.volumes[0].containerDisk.image = ''), errors: (p) => [{ path: `${p}.volumes[0].containerDisk.image`, message: 'Required value' }] },
  {
    name: 'image reference is lowercase',
    break: (s) => (s.volumes[0].containerDisk.image = 'quay.io/KubeVirt/cirros'),
    errors: (p) => [{ path: `${p}.volumes[0].containerDisk.image`, message: 'couldn\'t parse image reference "quay.io/KubeVirt/cirros": repository name must be lowercase' }],
  },
  {
    name: 'image reference syntax',
    break: (s) => (s.volumes[0].containerDisk.image = 'quay.io/kubevirt/cirros:bad tag'),
    errors: (p) => [{ path: `${p}.volumes[0].containerDisk.image`, message: 'couldn\'t parse image reference "quay.io/kubevirt/cirros:bad tag": malformed tag "bad tag"' }],
  },
  {
    name: 'imagePullPolicy enum',
    break: (s) => (s.volumes[0].containerDisk.imagePullPolicy = 'Sometimes'),
    errors: (p) => [{ path: `${p}.volumes[0].containerDisk.imagePullPolicy`, message: 'Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"' }],
  },
  { name: 'imagePullSecret is not supported yet', break: (s) => (s.volumes[0].containerDisk.imagePullSecret = 'creds'), errors: (p) => [{ path: `${p}.volumes[0].containerDisk.imagePullSecret`, message: NOT_YET }] },
  {
    name: 'containerDisk path is absolute',
    break: (s) => (s.volumes[0].containerDisk.path = 'disk/root.img'),
    errors: (p) => [{ path: `${p}.volumes[0].containerDisk.path`, message: 'must be an absolute path to a file without relative components' }],
  },
  {
    name: 'containerDisk path has no relative parts',
    break: (s) => (s.volumes[0].containerDisk.path = '/disk/../etc/shadow'),
    errors: (p) => [{ path: `${p}.volumes[0].containerDisk.path`, message: 'must be an absolute path to a file without relative components' }],
  },
  { name: 'containerDisk path without NUL', break: (s) => (s.volumes[0].containerDisk.path = '/disk/a\0b'), errors: (p) => [{ path: `${p}.volumes[0].containerDisk.path`, message: 'must not contain a NUL character' }] },
  { name: 'containerDisk path is not the root', break: (s) => (s.volumes[0].containerDisk.path = '/'), errors: (p) => [{ path: `${p}.volumes[0].containerDisk.path`, message: 'must not point to root' }] },
  { name: 'emptyDisk capacity required', break: (s) => s.volumes.push({ name: 'e', emptyDisk: {} }), errors: (p) => [{ path: `${p}.volumes[1].emptyDisk.capacity`, message: 'Required value' }] },
  { name: 'emptyDisk capacity positive', break: (s) => s.volumes.push({ name: 'e', emptyDisk: { capacity: '0' } }), errors: (p) => [{ path: `${p}.volumes[1].emptyDisk.capacity`, message: "'0' must be greater than 0" }] },
  { name: 'emptyDisk capacity of at least 1Mi (KubeVirt aligns images down to 1 MiB)', break: (s) => s.volumes.push({ name: 'e', emptyDisk: { capacity: '1048575' } }), errors: (p) => [{ path: `${p}.volumes[1].emptyDisk.capacity`, message: "'1048575' is smaller than 1Mi: volume 'e' would be an empty disk (sizes are aligned down to 1Mi)" }] },
  { name: 'emptyDisk capacity at most 2Pi, the largest qcow2 image', break: (s) => s.volumes.push({ name: 'e', emptyDisk: { capacity: '7Ei' } }), errors: (p) => [{ path: `${p}.volumes[1].emptyDisk.capacity`, message: "'7Ei' must be at most 2Pi, the largest qcow2 image" }] },
  { name: 'emptyDisk capacity of 2Pi is accepted', break: (s) => s.volumes.push({ name: 'e', emptyDisk: { capacity: 2 ** 51 } }), errors: () => [] },
  { name: 'emptyDisk capacity a quantity', break: (s) => s.volumes.push({ name: 'e', emptyDisk: { capacity: '1GB' } }), errors: (p) => [{ path: `${p}.volumes[1].emptyDisk.capacity`, message: '"1GB" is not a quantity' }] },
  { name: 'cloudInitNoCloud with inline user data', break: (s) => addDisk(s, { name: 'cloudinitdisk', disk: { bus: 'virtio' } }, { name: 'cloudinitdisk', cloudInitNoCloud: { userData: '#!/bin/sh\n' } }), errors: () => [] },
  { name: 'cloudInitConfigDrive with network data only', break: (s) => addDisk(s, { name: 'cfg', disk: { bus: 'virtio' } }, { name: 'cfg', cloudInitConfigDrive: { networkDataBase64: Buffer.from('version: 2\n').toString('base64') } }), errors: () => [] },
  {
    name: "cloud-init user data over 2048 bytes: KubeVirt's words",
    break: (s) => addDisk(s, { name: 'ci', disk: { bus: 'virtio' } }, { name: 'ci', cloudInitNoCloud: { userData: 'x'.repeat(2049) } }),
    errors: (p) => [{ path: `${p}.volumes[1].cloudInitNoCloud`, message: `${p}.volumes[1].cloudInitNoCloud userdata exceeds 2048 byte limit. Should use UserDataSecretRef for larger data.` }],
  },
  {
    name: 'cloud-init: one source each, at least one, valid base64',
    break: (s) => {
      addDisk(s, { name: 'a', disk: { bus: 'virtio' } }, { name: 'a', cloudInitNoCloud: { userData: 'x', userDataBase64: 'eA==', networkDataBase64: 'not base64!' } });
      addDisk(s, { name: 'b', disk: { bus: 'virtio' } }, { name: 'b', cloudInitConfigDrive: {} });
    },
    errors: (p) => [
      { path: `${p}.volumes[1].cloudInitNoCloud`, message: `${p}.volumes[1].cloudInitNoCloud must have only one userdatasource set.` },
      { path: `${p}.volumes[1].cloudInitNoCloud.networkDataBase64`, message: `${p}.volumes[1].cloudInitNoCloud.networkDataBase64.cloudInitNoCloud.networkDataBase64 is not a valid base64 value.` },
      { path: `${p}.volumes[2].cloudInitConfigDrive`, message: `${p}.volumes[2].cloudInitConfigDrive must have at least one userdatasource or one networkdatasource set.` },
    ],
  },
  {
    name: 'cloud-init from a Secret: none in standalone mode yet, refused by path',
    break: (s) => addDisk(s, { name: 'ci', disk: { bus: 'virtio' } }, { name: 'ci', cloudInitNoCloud: { secretRef: { name: 'my-secret' } } }),
    errors: (p) => [{ path: `${p}.volumes[1].cloudInitNoCloud.secretRef`, message: 'not supported yet: standalone virtnode has no Secrets yet; give the user data inline (userData or userDataBase64)' }],
  },
  {
    name: 'a persistentVolumeClaim volume needs its claimName, a DNS subdomain',
    break: (s) => s.volumes.push({ name: 'v', persistentVolumeClaim: { name: 'x' } }, { name: 'w', persistentVolumeClaim: { claimName: 'Not_A_Name', hotpluggable: true } }),
    errors: (p) => [
      { path: `${p}.volumes[1].persistentVolumeClaim.name`, message: 'unknown field' },
      { path: `${p}.volumes[2].persistentVolumeClaim.hotpluggable`, message: 'not supported yet: a claim is attached at start (hot-plug takes hostDisk volumes)' },
      { path: `${p}.volumes[1].persistentVolumeClaim.claimName`, message: 'Required value' },
      { path: `${p}.volumes[2].persistentVolumeClaim.claimName`, message: `Invalid value: "Not_A_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')` },
    ],
  },
  ...['dataVolume', 'configMap', 'secret', 'serviceAccount', 'sysprep', 'downwardAPI', 'memoryDump', 'ephemeral'].map(
    (src): SpecRule => ({
      name: `${src} volumes are not supported yet`,
      break: (s) => s.volumes.push({ name: 'v', [src]: { name: 'x' } }),
      errors: (p) => [{ path: `${p}.volumes[1].${src}`, message: NOT_YET }],
    }),
  ),
  { name: 'an unknown volume source is unknown', break: (s) => s.volumes.push({ name: 'v', nfs: {} }), errors: (p) => [{ path: `${p}.volumes[1].nfs`, message: 'unknown field' }, { path: `${p}.volumes[1]`, message: 'must have exactly one source type set' }] },

  // firmware
  {
    name: 'kernelBoot container needs an image',
    break: (s) => (s.domain.firmware = { kernelBoot: { container: { kernelPath: '/boot/vmlinuz' } } }),
    errors: (p) => [{ path: `${p}.domain.firmware.kernelBoot.container.image`, message: 'Required value' }],
  },
  {
    name: 'kernelBoot container needs a kernel or an initrd',
    break: (s) => (s.domain.firmware = { kernelBoot: { container: { image: 'kernels/k:1' } } }),
    errors: (p) => [{ path: `${p}.domain.firmware.kernelBoot.container`, message: 'must be defined with at least one of the following: kernelPath, initrdPath' }],
  },
  {
    name: 'an initrd alone is not supported yet: QEMU boots an initrd only with a kernel',
    break: (s) => (s.domain.firmware = { kernelBoot: { container: { image: 'kernels/k:1', initrdPath: '/boot/initrd' } } }),
    errors: (p) => [{ path: `${p}.domain.firmware.kernelBoot.container.kernelPath`, message: 'not supported yet: an initrd without a kernel (QEMU loads an initrd only with -kernel)' }],
  },
  {
    name: 'kernelPath is absolute',
    break: (s) => (s.domain.firmware = { kernelBoot: { container: { image: 'kernels/k:1', kernelPath: 'boot/vmlinuz' } } }),
    errors: (p) => [{ path: `${p}.domain.firmware.kernelBoot.container.kernelPath`, message: 'must be an absolute path to a file without relative components' }],
  },
  {
    name: 'initrdPath is absolute',
    break: (s) => (s.domain.firmware = { kernelBoot: { container: { image: 'kernels/k:1', kernelPath: '/vmlinuz', initrdPath: './initrd' } } }),
    errors: (p) => [{ path: `${p}.domain.firmware.kernelBoot.container.initrdPath`, message: 'must be an absolute path to a file without relative components' }],
  },
  {
    name: 'kernelArgs need kernelBoot.container',
    break: (s) => (s.domain.firmware = { kernelBoot: { kernelArgs: 'console=ttyS0' } }),
    errors: (p) => [{ path: `${p}.domain.firmware.kernelBoot.kernelArgs`, message: 'kernel arguments cannot be provided without an external kernel' }],
  },
  {
    name: 'kernelArgs without NUL, within the kernel command line limit',
    break: (s) => (s.domain.firmware = { kernelBoot: { kernelArgs: 'console=ttyS0\0x', container: { image: 'kernels/k:1', kernelPath: '/vmlinuz' } } }),
    errors: (p) => [{ path: `${p}.domain.firmware.kernelBoot.kernelArgs`, message: 'must not contain a NUL character' }],
  },
  {
    name: 'kernelArgs of at most 2047 bytes',
    break: (s) => (s.domain.firmware = { kernelBoot: { kernelArgs: 'a'.repeat(2048), container: { image: 'kernels/k:1', kernelPath: '/vmlinuz' } } }),
    errors: (p) => [{ path: `${p}.domain.firmware.kernelBoot.kernelArgs`, message: "must be at most 2047 bytes, the kernel's command line limit (got 2048)" }],
  },
  {
    name: 'kernelBoot image pull policy enum',
    break: (s) => (s.domain.firmware = { kernelBoot: { container: { image: 'kernels/k:1', kernelPath: '/vmlinuz', imagePullPolicy: 'always' } } }),
    errors: (p) => [{ path: `${p}.domain.firmware.kernelBoot.container.imagePullPolicy`, message: 'Unsupported value: "always": supported values: "Always", "IfNotPresent", "Never"' }],
  },
  {
    name: 'EFI and BIOS are mutually exclusive (KubeVirt)',
    break: (s) => (s.domain.firmware = { bootloader: { efi: { secureBoot: false }, bios: {} } }),
    errors: (p) => [{ path: `${p}.domain.firmware.bootloader`, message: `${p}.domain.firmware.bootloader has both EFI and BIOS configured, but they are mutually exclusive.` }],
  },
  {
    name: 'efi: {} means Secure Boot, which needs SMM (KubeVirt)',
    break: (s) => (s.domain.firmware = { bootloader: { efi: {} } }),
    errors: (p) => [{ path: `${p}.domain`, message: `${p}.domain has EFI SecureBoot enabled. SecureBoot requires SMM, which is currently disabled.` }],
  },
  {
    name: 'Secure Boot with SMM disabled is refused',
    break: (s) => {
      s.domain.firmware = { bootloader: { efi: { secureBoot: true, persistent: true } } };
      s.domain.features = { smm: { enabled: false } };
    },
    errors: (p) => [{ path: `${p}.domain`, message: `${p}.domain has EFI SecureBoot enabled. SecureBoot requires SMM, which is currently disabled.` }],
  },
  { name: 'efi.secureBoot is a boolean', break: (s) => ((s.domain.firmware = { bootloader: { efi: { secureBoot: 'yes' } } }), (s.domain.features = { smm: {} })), errors: (p) => [{ path: `${p}.domain.firmware.bootloader.efi.secureBoot`, message: 'must be a boolean (got "yes")' }] },
  { name: 'efi.persistent is a boolean', break: (s) => (s.domain.firmware = { bootloader: { efi: { secureBoot: false, persistent: 1 } } }), errors: (p) => [{ path: `${p}.domain.firmware.bootloader.efi.persistent`, message: 'must be a boolean (got 1)' }] },
  {
    name: 'bios.useSerial needs the serial console',
    break: (s) => {
      s.domain.firmware = { bootloader: { bios: { useSerial: true } } };
      s.domain.devices.autoattachSerialConsole = false;
    },
    errors: (p) => [{ path: `${p}.domain.firmware.bootloader.bios.useSerial`, message: `needs a serial port, and ${p}.domain.devices.autoattachSerialConsole is false` }],
  },
  {
    name: 'firmware.acpi (SLIC/MSDM tables) is not supported yet',
    break: (s) => (s.domain.firmware = { acpi: { slicNameRef: 'slic' } }),
    errors: (p) => [{ path: `${p}.domain.firmware.acpi`, message: 'not supported yet: SLIC and MSDM tables come from a Secret volume, which standalone virtnode does not have yet' }],
  },
  { name: 'tpm.persistent is a boolean', break: (s) => (s.domain.devices.tpm = { persistent: 'true' }), errors: (p) => [{ path: `${p}.domain.devices.tpm.persistent`, message: 'must be a boolean (got "true")' }] },
  { name: 'firmware uuid is a UUID', break: (s) => (s.domain.firmware = { uuid: 'not-a-uuid' }), errors: (p) => [{ path: `${p}.domain.firmware.uuid`, message: '"not-a-uuid" is not a UUID' }] },
  { name: 'firmware serial has no control characters', break: (s) => (s.domain.firmware = { serial: 'a\nb' }), errors: (p) => [{ path: `${p}.domain.firmware.serial`, message: 'must not contain control characters' }] },

  // features and devices
  { name: 'SMM may be set (the fedora preference asks for it)', break: (s) => (s.domain.features = { smm: {} }), errors: () => [] },
  { name: 'smm.enabled is a boolean', break: (s) => (s.domain.features = { smm: { enabled: 'yes' } }), errors: (p) => [{ path: `${p}.domain.features.smm.enabled`, message: 'must be a boolean (got "yes")' }] },
  { name: 'acpi.enabled is a boolean', break: (s) => (s.domain.features = { acpi: { enabled: 'yes' } }), errors: (p) => [{ path: `${p}.domain.features.acpi.enabled`, message: 'must be a boolean (got "yes")' }] },
  { name: 'hyperv features are accepted (the node judges whether it provides them)', break: (s) => (s.domain.features = { hyperv: { relaxed: {}, vapic: { enabled: false } } }), errors: () => [] },
  {
    name: "a hyperv feature's requirement may not be disabled (KubeVirt's words)",
    break: (s) => (s.domain.features = { hyperv: { synic: {}, vpindex: { enabled: false } } }),
    errors: (p) => [{ path: `${p}.domain.features.hyperv.synic`, message: `'${p}.domain.features.hyperv.synic' requires '${p}.domain.features.hyperv.vpindex', which was disabled.` }],
  },
  {
    name: 'hyperv and hypervPassthrough exclude each other',
    break: (s) => (s.domain.features = { hyperv: { relaxed: {} }, hypervPassthrough: { enabled: true } }),
    errors: (p) => [{ path: `${p}.domain.features`, message: 'Cannot explicitly set hyperV features if HypervPassthrough is being used. Please use either HyperV or HypervPassthrough.' }],
  },
  { name: 'hyperv spinlock retries have a floor', break: (s) => (s.domain.features = { hyperv: { spinlocks: { spinlocks: 100 } } }), errors: (p) => [{ path: `${p}.domain.features.hyperv.spinlocks.spinlocks`, message: 'must be at least 4095 (got 100): the Hyper-V spinlock retry count libvirt takes' }] },
  { name: 'a hyperv vendor id is at most 12 characters', break: (s) => (s.domain.features = { hyperv: { vendorid: { vendorid: 'ThirteenChars' } } }), errors: (p) => [{ path: `${p}.domain.features.hyperv.vendorid.vendorid`, message: 'must be 1 to 12 letters, digits, \'_\', \'.\' or \'-\' (got "ThirteenChars")' }] },
  { name: 'a clock in UTC is accepted', break: (s) => (s.domain.clock = { utc: { offsetSeconds: 3600 }, timer: { hpet: { present: false }, rtc: { tickPolicy: 'catchup', track: 'guest' } } }), errors: () => [] },
  { name: 'a clock is UTC or a time zone, not both', break: (s) => (s.domain.clock = { utc: {}, timezone: 'Europe/Paris' }), errors: (p) => [{ path: `${p}.domain.clock`, message: 'only one of utc and timezone may be given' }] },
  { name: 'a time zone must exist', break: (s) => (s.domain.clock = { timezone: 'Mars/Olympus' }), errors: (p) => [{ path: `${p}.domain.clock.timezone`, message: '"Mars/Olympus" is not a time zone of the IANA database (such as Europe/Paris or UTC)' }] },
  { name: "QEMU's HPET has no tick policy", break: (s) => (s.domain.clock = { timer: { hpet: { tickPolicy: 'delay' } } }), errors: (p) => [{ path: `${p}.domain.clock.timer.hpet.tickPolicy`, message: "not supported: QEMU's HPET has no lost tick policy (libvirt refuses it too)" }] },
  { name: 'the RTC cannot merge ticks', break: (s) => (s.domain.clock = { timer: { rtc: { tickPolicy: 'merge' } } }), errors: (p) => [{ path: `${p}.domain.clock.timer.rtc.tickPolicy`, message: "merge is not supported for the RTC: QEMU's RTC delays or catches up (delay, catchup)" }] },
  { name: 'the RTC cannot be removed', break: (s) => (s.domain.clock = { timer: { rtc: { present: false } } }), errors: (p) => [{ path: `${p}.domain.clock.timer.rtc.present`, message: 'a q35 machine always has its RTC (it cannot be removed)' }] },
  { name: 'a CPU feature policy is one of KubeVirt\'s', break: (s) => (s.domain.cpu = { features: [{ name: 'pcid', policy: 'maybe' as never }] }), errors: (p) => [{ path: `${p}.domain.cpu.features[0].policy`, message: 'CPU feature pcid uses policy maybe that is not supported.' }] },
  { name: 'a CPU feature is named once', break: (s) => (s.domain.cpu = { features: [{ name: 'lahf_lm' }, { name: 'lahf-lm', policy: 'disable' }] }), errors: (p) => [{ path: `${p}.domain.cpu.features[1].name`, message: `CPU feature lahf-lm is already given at ${p}.domain.cpu.features[0]` }] },
  { name: 'graphics and the console log are accepted', break: (s) => Object.assign(s.domain.devices, { autoattachGraphicsDevice: true, logSerialConsole: true }), errors: () => [] },
  { name: 'autoattachGraphicsDevice is a boolean', break: (s) => (s.domain.devices.autoattachGraphicsDevice = 'yes'), errors: (p) => [{ path: `${p}.domain.devices.autoattachGraphicsDevice`, message: 'must be a boolean (got "yes")' }] },
  { name: 'logSerialConsole is a boolean', break: (s) => (s.domain.devices.logSerialConsole = 1), errors: (p) => [{ path: `${p}.domain.devices.logSerialConsole`, message: 'must be a boolean (got 1)' }] },
  ...['gpus', 'hostDevices', 'filesystems', 'watchdog', 'inputs', 'sound', 'video'].map(
    (dev): SpecRule => ({ name: `devices.${dev} is not supported yet`, break: (s) => (s.domain.devices[dev] = {}), errors: (p) => [{ path: `${p}.domain.devices.${dev}`, message: NOT_YET }] }),
  ),
  { name: 'rng takes no fields', break: (s) => (s.domain.devices.rng = { rate: 1 }), errors: (p) => [{ path: `${p}.domain.devices.rng.rate`, message: 'unknown field' }] },
  { name: 'autoattachSerialConsole is a boolean', break: (s) => (s.domain.devices.autoattachSerialConsole = 'true'), errors: (p) => [{ path: `${p}.domain.devices.autoattachSerialConsole`, message: 'must be a boolean (got "true")' }] },
  { name: 'a misspelt devices field is unknown', break: (s) => (s.domain.devices.disk = []), errors: (p) => [{ path: `${p}.domain.devices.disk`, message: 'unknown field' }] },
  { name: 'domain is required', break: (s) => delete s.domain, errors: (p) => [{ path: `${p}.domain`, message: 'Required value' }] },
  { name: 'domain.devices is required', break: (s) => delete s.domain.devices, errors: (p) => [{ path: `${p}.domain.devices`, message: 'Required value' }] },

  // spec scalars
  {
    name: 'terminationGracePeriodSeconds not negative',
    break: (s) => (s.terminationGracePeriodSeconds = -1),
    errors: (p) => [{ path: `${p}.terminationGracePeriodSeconds`, message: 'must be greater than or equal to 0 (got -1)' }],
  },
  { name: 'terminationGracePeriodSeconds an integer', break: (s) => (s.terminationGracePeriodSeconds = '30'), errors: (p) => [{ path: `${p}.terminationGracePeriodSeconds`, message: 'must be an integer (got "30")' }] },
  {
    name: 'hostname is a DNS-1123 label',
    break: (s) => (s.hostname = 'my.host'),
    errors: (p) => [{ path: `${p}.hostname`, message: 'does not conform to the kubernetes DNS_LABEL rules : must not contain dots' }],
  },
  {
    name: 'subdomain is a DNS-1123 subdomain',
    break: (s) => (s.subdomain = 'Sub'),
    errors: (p) => [
      {
        path: `${p}.subdomain`,
        message:
          "does not conform to the kubernetes DNS_SUBDOMAIN rules : a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      },
    ],
  },
  { name: 'evictionStrategy enum', break: (s) => (s.evictionStrategy = 'Sometimes'), errors: (p) => [{ path: `${p}.evictionStrategy`, message: 'is set with an unrecognized option: Sometimes' }] },
  { name: 'architecture amd64 only', break: (s) => (s.architecture = 'arm64'), errors: (p) => [{ path: `${p}.architecture`, message: 'not supported yet: virtnode runs amd64 guests only' }] },
  { name: 'unknown architecture', break: (s) => (s.architecture = 'mips'), errors: (p) => [{ path: `${p}.architecture`, message: 'unsupported architecture: mips' }] },
  {
    name: 'nodeSelector keys are label keys',
    break: (s) => (s.nodeSelector = { 'bad key': 'x' }),
    errors: (p) => [
      {
        path: `${p}.nodeSelector`,
        message:
          "Invalid value: \"bad key\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
      },
    ],
  },
  ...['affinity', 'tolerations', 'livenessProbe', 'readinessProbe', 'dnsConfig', 'dnsPolicy', 'accessCredentials', 'schedulerName', 'priorityClassName', 'startStrategy', 'serviceAccountName', 'topologySpreadConstraints'].map(
    (f): SpecRule => ({ name: `spec.${f} is not supported yet`, break: (s) => (s[f] = f === 'tolerations' ? [] : 'x'), errors: (p) => [{ path: `${p}.${f}`, message: NOT_YET }] }),
  ),
  { name: 'a field not in kubevirt.io/v1 is unknown', break: (s) => (s.runStrategy = 'Always'), errors: (p) => [{ path: `${p}.runStrategy`, message: 'unknown field' }] },
  { name: 'a misspelt domain field is unknown', break: (s) => (s.domain.memmory = { guest: '1Gi' }), errors: (p) => [{ path: `${p}.domain.memmory`, message: 'unknown field' }] },
  { name: 'null is unset', break: (s) => Object.assign(s, { hostname: null, domain: { ...s.domain, cpu: null, firmware: null } }), errors: () => [] },

  // pod networking gate (off by default)
  { name: 'interfaces wait for pod networking', break: (s) => (s.domain.devices.interfaces = [{ name: 'default', masquerade: {} }]), errors: (p) => [{ path: `${p}.domain.devices.interfaces[0]`, message: GATE }] },
  { name: 'networks wait for pod networking', break: (s) => (s.networks = [{ name: 'default', pod: {} }, { name: 'b', pod: {} }]), errors: (p) => [{ path: `${p}.networks[0]`, message: GATE }, { path: `${p}.networks[1]`, message: GATE }] },
  { name: 'empty interface and network lists are fine', break: (s) => Object.assign(s, { networks: [] }, { domain: { ...s.domain, devices: { ...s.domain.devices, interfaces: [] } } }), errors: () => [] },
];

// ---- networking rules (pod networking on) -----------------------------------

const IFACES = (p: string) => `${p}.domain.devices.interfaces`;
const withNet = (s: Json, iface: Json = { name: 'default', masquerade: {} }, net: Json = { name: 'default', pod: {} }) => {
  s.domain.devices.interfaces = [iface];
  s.networks = [net];
};
const NET: Partial<ValidateOptions> = { podNetworking: true };

const NETWORK_RULES: SpecRule[] = [
  { name: 'masquerade on the pod network is accepted', break: (s) => withNet(s, { name: 'default', masquerade: {}, model: 'e1000e', macAddress: '02:00:00:00:00:01', ports: [{ name: 'http', port: 80 }, { port: 53, protocol: 'UDP' }] }), errors: () => [], opts: NET },
  { name: 'bridge on the pod network is accepted', break: (s) => withNet(s, { name: 'default', bridge: {} }, { name: 'default', pod: { vmNetworkCIDR: '10.11.12.0/24' } }), errors: () => [], opts: NET },
  {
    name: 'an interface names an existing network',
    break: (s) => withNet(s, { name: 'other', masquerade: {} }),
    errors: (p) => [
      { path: `${IFACES(p)}[0].name`, message: `'other' not found in ${p}.networks` },
      { path: `${p}.networks[0].name`, message: `'default' not found in ${IFACES(p)}` },
    ],
    opts: NET,
  },
  {
    name: 'interface names are unique',
    break: (s) => {
      withNet(s);
      s.domain.devices.interfaces.push({ name: 'default', masquerade: {} });
    },
    errors: (p) => [{ path: `${IFACES(p)}[1].name`, message: 'Only one interface can be connected to one specific network' }],
    opts: NET,
  },
  {
    name: 'network names are unique',
    break: (s) => {
      withNet(s);
      s.networks.push({ name: 'default', pod: {} });
    },
    errors: (p) => [
      { path: `${p}.networks[1].name`, message: 'Network with name "default" already exists, every network must have a unique name' },
      { path: `${p}.networks[1]`, message: 'more than one interface is connected to a pod network' },
    ],
    opts: NET,
  },
  {
    name: 'interface name charset',
    break: (s) => withNet(s, { name: 'my net', masquerade: {} }, { name: 'my net', pod: {} }),
    errors: (p) => [{ path: `${IFACES(p)}[0].name`, message: 'Network interface name can only contain alphabetical characters, numbers, dashes (-) or underscores (_)' }],
    opts: NET,
  },
  {
    // Found by the fuzzer (a longer run, FUZZ_SEED=4242): QEMU refused to start with
    // "Duplicate device ID 'ua-data'" after the sandbox was made.
    name: 'a disk may not be named as an interface: both devices would be ua-<name>',
    break: (s) => {
      withNet(s, { name: 'data', masquerade: {} }, { name: 'data', pod: {} });
      s.domain.devices.disks.push({ name: 'data' });
      s.volumes.push({ name: 'data', emptyDisk: { capacity: '1Mi' } });
    },
    errors: (p) => [{ path: `${p}.domain.devices.disks[1].name`, message: `Duplicate value: "data": ${IFACES(p)}[0] has the same name, and their guest devices would share the id ua-data` }],
    opts: NET,
  },
  {
    name: 'a disk may not be named "default" beside the pod interface added by default',
    break: (s) => {
      s.domain.devices.disks.push({ name: 'default' });
      s.volumes.push({ name: 'default', emptyDisk: { capacity: '1Mi' } });
    },
    errors: (p) => [
      {
        path: `${p}.domain.devices.disks[1].name`,
        message: `Duplicate value: "default": the pod interface added by default (${p}.domain.devices.autoattachPodInterface) has the same name, and their guest devices would share the id ua-default`,
      },
    ],
    opts: NET,
  },
  {
    // Found by the fuzzer (fuzz-admission.test.ts): KubeVirt's charset takes it, and the
    // VMI passed Apply to fail at start with "no network was prepared for interface".
    name: 'an interface may not be named __proto__',
    break: (s) => withNet(s, { name: '__proto__', masquerade: {} }, { name: '__proto__', pod: {} }),
    errors: (p) => [{ path: `${IFACES(p)}[0].name`, message: `not supported: "__proto__" is reserved (virtnode keys each interface's tap by its name, and this name keys a JavaScript object's prototype)` }],
    opts: NET,
  },
  {
    name: 'one binding per interface (two)',
    break: (s) => withNet(s, { name: 'default', masquerade: {}, bridge: {} }),
    errors: (p) => [{ path: `${IFACES(p)}[0]`, message: 'logical default interface must have exactly one binding method or binding plugin' }],
    opts: NET,
  },
  {
    name: 'one binding per interface (none)',
    break: (s) => withNet(s, { name: 'default' }),
    errors: (p) => [{ path: `${IFACES(p)}[0]`, message: 'logical default interface must have exactly one binding method or binding plugin' }],
    opts: NET,
  },
  { name: 'SR-IOV is not supported yet', break: (s) => withNet(s, { name: 'default', sriov: {} }), errors: (p) => [{ path: `${IFACES(p)}[0].sriov`, message: NOT_YET }], opts: NET },
  { name: 'binding plugins are not supported yet', break: (s) => withNet(s, { name: 'default', binding: { name: 'passt' } }), errors: (p) => [{ path: `${IFACES(p)}[0].binding`, message: NOT_YET }], opts: NET },
  {
    name: 'slirp is discontinued',
    break: (s) => withNet(s, { name: 'default', slirp: {} }),
    errors: (p) => [
      { path: `${IFACES(p)}[0].slirp`, message: 'Slirp interface support has been discontinued since v1.3' },
      { path: `${IFACES(p)}[0]`, message: 'logical default interface must have exactly one binding method or binding plugin' },
    ],
    opts: NET,
  },
  { name: 'port is mandatory', break: (s) => withNet(s, { name: 'default', masquerade: {}, ports: [{ name: 'http' }] }), errors: (p) => [{ path: `${IFACES(p)}[0].ports[0].port`, message: 'Port field is mandatory.' }], opts: NET },
  { name: 'port in range', break: (s) => withNet(s, { name: 'default', masquerade: {}, ports: [{ port: 65536 }] }), errors: (p) => [{ path: `${IFACES(p)}[0].ports[0].port`, message: 'Port field must be in range 0 < x < 65536.' }], opts: NET },
  { name: 'port not negative', break: (s) => withNet(s, { name: 'default', masquerade: {}, ports: [{ port: -1 }] }), errors: (p) => [{ path: `${IFACES(p)}[0].ports[0].port`, message: 'Port field must be in range 0 < x < 65536.' }], opts: NET },
  { name: 'port protocol TCP or UDP', break: (s) => withNet(s, { name: 'default', masquerade: {}, ports: [{ port: 80, protocol: 'SCTP' }] }), errors: (p) => [{ path: `${IFACES(p)}[0].ports[0].protocol`, message: 'Unknown protocol, only TCP or UDP allowed' }], opts: NET },
  {
    name: 'port names unique',
    break: (s) => withNet(s, { name: 'default', masquerade: {}, ports: [{ name: 'http', port: 80 }, { name: 'http', port: 8080 }] }),
    errors: (p) => [{ path: `${IFACES(p)}[0].ports[1].name`, message: 'Duplicate name of the port: http' }],
    opts: NET,
  },
  { name: 'port names valid', break: (s) => withNet(s, { name: 'default', masquerade: {}, ports: [{ name: 'HTTP', port: 80 }] }), errors: (p) => [{ path: `${IFACES(p)}[0].ports[0].name`, message: 'Invalid name of the port: HTTP' }], opts: NET },
  { name: 'MAC address syntax', break: (s) => withNet(s, { name: 'default', masquerade: {}, macAddress: '02:00:00:00:00:zz' }), errors: (p) => [{ path: `${IFACES(p)}[0].macAddress`, message: 'malformed MAC address (02:00:00:00:00:zz)' }], opts: NET },
  { name: 'MAC address length', break: (s) => withNet(s, { name: 'default', bridge: {}, macAddress: '02:00:00:00:00:00:00:01' }), errors: (p) => [{ path: `${IFACES(p)}[0].macAddress`, message: 'too long MAC address (02:00:00:00:00:00:00:01)' }], opts: NET },
  {
    name: 'a multicast MAC is not a NIC address (libvirt refuses it where KubeVirt launches)',
    break: (s) => withNet(s, { name: 'default', bridge: {}, macAddress: '01-00-5E-00-00-01' }),
    errors: (p) => [{ path: `${IFACES(p)}[0].macAddress`, message: "expected unicast mac address, found multicast '01-00-5E-00-00-01'" }],
    opts: NET,
  },
  {
    name: 'the broadcast MAC is multicast too',
    break: (s) => withNet(s, { name: 'default', masquerade: {}, macAddress: 'ffff.ffff.ffff' }),
    errors: (p) => [{ path: `${IFACES(p)}[0].macAddress`, message: "expected unicast mac address, found multicast 'ffff.ffff.ffff'" }],
    opts: NET,
  },
  {
    name: 'the zero MAC is not a NIC address: QEMU replaces it',
    break: (s) => withNet(s, { name: 'default', masquerade: {}, macAddress: '00:00:00:00:00:00' }),
    errors: (p) => [{ path: `${IFACES(p)}[0].macAddress`, message: '00:00:00:00:00:00 is not a NIC address: QEMU would give the NIC one of its own' }],
    opts: NET,
  },
  { name: 'a locally administered unicast MAC in dotted form is accepted', break: (s) => withNet(s, { name: 'default', masquerade: {}, macAddress: '0200.0000.0001' }), errors: () => [], opts: NET },
  {
    name: "the masquerade bridge's MAC is reserved",
    break: (s) => withNet(s, { name: 'default', masquerade: {}, macAddress: '02-00-00-00-00-00' }),
    errors: (p) => [{ path: `${IFACES(p)}[0].macAddress`, message: 'The requested MAC address is reserved for the in-pod bridge. Please choose another one.' }],
    opts: NET,
  },
  { name: 'interface model known', break: (s) => withNet(s, { name: 'default', masquerade: {}, model: 'vmxnet3' }), errors: (p) => [{ path: `${IFACES(p)}[0].model`, message: `interface ${IFACES(p)}[0].name uses model vmxnet3 that is not supported.` }], opts: NET },
  { name: 'igb needs a newer QEMU', break: (s) => withNet(s, { name: 'default', masquerade: {}, model: 'igb' }), errors: (p) => [{ path: `${IFACES(p)}[0].model`, message: 'not supported yet: model "igb" needs QEMU 8.0' }], opts: NET },
  {
    name: 'a network has a type',
    break: (s) => withNet(s, undefined, { name: 'default' }),
    errors: (p) => [
      { path: `${p}.networks[0]`, message: 'should have a network type' },
      { path: `${IFACES(p)}[0].name`, message: 'Masquerade interface only implemented with pod network' },
    ],
    opts: NET,
  },
  {
    name: 'a network has one type',
    break: (s) => withNet(s, undefined, { name: 'default', pod: {}, multus: { networkName: 'x' } }),
    errors: (p) => [
      { path: `${p}.networks[0].multus`, message: NOT_YET },
      { path: `${p}.networks[0]`, message: 'should have only one network type' },
    ],
    opts: NET,
  },
  {
    name: 'masquerade needs the pod network',
    break: (s) => withNet(s, undefined, { name: 'default', multus: { networkName: 'x' } }),
    errors: (p) => [
      { path: `${p}.networks[0].multus`, message: NOT_YET },
      { path: `${IFACES(p)}[0].name`, message: 'Masquerade interface only implemented with pod network' },
    ],
    opts: NET,
  },
  { name: 'vmNetworkCIDR is an IPv4 CIDR', break: (s) => withNet(s, undefined, { name: 'default', pod: { vmNetworkCIDR: '10.0.2.0/33' } }), errors: (p) => [{ path: `${p}.networks[0].pod.vmNetworkCIDR`, message: '"10.0.2.0/33" is not an IPv4 CIDR' }], opts: NET },
  { name: 'vmIPv6NetworkCIDR is not supported yet', break: (s) => withNet(s, undefined, { name: 'default', pod: { vmIPv6NetworkCIDR: 'fd10:0:2::/120' } }), errors: (p) => [{ path: `${p}.networks[0].pod.vmIPv6NetworkCIDR`, message: 'not supported yet: virtnode pod networks are IPv4 only' }], opts: NET },
  { name: 'interface boot order is not supported yet', break: (s) => withNet(s, { name: 'default', masquerade: {}, bootOrder: 1 }), errors: (p) => [{ path: `${IFACES(p)}[0].bootOrder`, message: NOT_YET }], opts: NET },
  { name: 'a misspelt interface field is unknown', break: (s) => withNet(s, { name: 'default', masquerade: {}, mac: 'x' }), errors: (p) => [{ path: `${IFACES(p)}[0].mac`, message: 'unknown field' }], opts: NET },
];

for (const [label, make] of [
  ['VMI', vmi],
  ['VM', vm],
] as const) {
  for (const rule of [...SPEC_RULES, ...NETWORK_RULES]) {
    test(`${label}: ${rule.name}`, () => {
      const o = make();
      rule.break(specOf(o));
      const p = label === 'VMI' ? 'spec' : 'spec.template.spec';
      const expected = rule.errors(p);
      if (expected.length === 0) assert.deepEqual(validate(o, rule.opts).warnings, []);
      else assertRejected(o, expected, rule.opts);
    });
  }
}

test('spec warnings: evictionStrategy and nodeSelector are accepted with a warning', () => {
  const o = vmi();
  o.spec.evictionStrategy = 'LiveMigrate';
  o.spec.nodeSelector = { 'kubernetes.io/hostname': 'node01' };
  assert.deepEqual(validate(o).warnings, [
    'spec.evictionStrategy: accepted but has no effect yet: virtnode does not migrate or evict VMIs',
    'spec.nodeSelector is ignored: a standalone node runs every VMI it accepts',
  ]);
  assert.deepEqual(validate(o, { standalone: false }).warnings, ['spec.evictionStrategy: accepted but has no effect yet: virtnode does not migrate or evict VMIs']);
});

// ---- metadata and top level --------------------------------------------------

interface ObjRule {
  name: string;
  make: () => Json;
  break: (o: Json) => void;
  errors: FieldError[];
}

const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

const OBJECT_RULES: ObjRule[] = [
  { name: 'name is required', make: vmi, break: (o) => delete o.metadata.name, errors: [{ path: 'metadata.name', message: 'Required value' }] },
  { name: 'metadata is required', make: vm, break: (o) => delete o.metadata, errors: [{ path: 'metadata.name', message: 'Required value' }] },
  { name: 'metadata is an object', make: vm, break: (o) => (o.metadata = 'testvm'), errors: [{ path: 'metadata', message: 'must be an object (got "testvm")' }] },
  { name: 'name is a DNS-1123 subdomain', make: vmi, break: (o) => (o.metadata.name = 'My_VM'), errors: [{ path: 'metadata.name', message: `Invalid value: "My_VM": ${SUBDOMAIN_MSG}` }] },
  {
    name: 'name at most 253 characters',
    make: vm,
    break: (o) => (o.metadata.name = 'a'.repeat(254)),
    errors: [{ path: 'metadata.name', message: `Invalid value: "${'a'.repeat(254)}": must be no more than 253 characters` }],
  },
  { name: 'namespace is a DNS-1123 label', make: vmi, break: (o) => (o.metadata.namespace = 'a.b'), errors: [{ path: 'metadata.namespace', message: 'Invalid value: "a.b": must not contain dots' }] },
  {
    name: 'label keys are qualified names',
    make: vmi,
    break: (o) => (o.metadata.labels = { 'example.com/': 'x' }),
    errors: [{ path: 'metadata.labels', message: 'Invalid value: "example.com/": name part must be non-empty' }, { path: 'metadata.labels', message: "Invalid value: \"example.com/\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')" }],
  },
  {
    name: 'label key prefixes are DNS subdomains',
    make: vmi,
    break: (o) => (o.metadata.labels = { 'Example.com/app': 'x' }),
    errors: [{ path: 'metadata.labels', message: `Invalid value: "Example.com/app": prefix part ${SUBDOMAIN_MSG}` }],
  },
  {
    name: 'label values at most 63 characters',
    make: vm,
    break: (o) => (o.metadata.labels = { app: 'v'.repeat(64) }),
    errors: [{ path: 'metadata.labels', message: `Invalid value: "${'v'.repeat(64)}": must be no more than 63 characters` }],
  },
  { name: 'label values are strings', make: vm, break: (o) => (o.metadata.labels = { replicas: 3 }), errors: [{ path: 'metadata.labels[replicas]', message: 'must be a string (got 3)' }] },
  {
    name: 'label value charset',
    make: vmi,
    break: (o) => (o.metadata.labels = { app: 'a b' }),
    errors: [{ path: 'metadata.labels', message: "Invalid value: \"a b\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')" }],
  },
  { name: 'annotation keys are qualified names', make: vmi, break: (o) => (o.metadata.annotations = { 'a/b/c': 'x' }), errors: [{ path: 'metadata.annotations', message: "Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')" }] },
  { name: 'annotations at most 256 KiB', make: vmi, break: (o) => (o.metadata.annotations = { big: 'x'.repeat(256 * 1024) }), errors: [{ path: 'metadata.annotations', message: 'Too long: must have at most 262144 bytes' }] },
  {
    name: "KubeVirt's reserved labels on a VMI",
    make: vmi,
    break: (o) => (o.metadata.labels = { 'kubevirt.io/nodeName': 'node01' }),
    errors: [{ path: 'metadata.labels', message: 'creation of the following reserved kubevirt.io/ labels on a VMI object is prohibited: kubevirt.io/nodeName' }],
  },
  {
    name: "KubeVirt's reserved labels on a VM template",
    make: vm,
    break: (o) => (o.spec.template.metadata.labels = { 'kubevirt.io/created-by': 'me' }),
    errors: [{ path: 'spec.template.metadata.labels', message: 'creation of the following reserved kubevirt.io/ labels on a VMI object is prohibited: kubevirt.io/created-by' }],
  },
  { name: 'finalizers are not supported yet', make: vmi, break: (o) => (o.metadata.finalizers = ['x']), errors: [{ path: 'metadata.finalizers', message: NOT_YET }] },
  { name: 'generateName is not supported yet', make: vm, break: (o) => (o.metadata.generateName = 'vm-'), errors: [{ path: 'metadata.generateName', message: NOT_YET }] },
  { name: 'ownerReferences are not supported yet', make: vmi, break: (o) => (o.metadata.ownerReferences = []), errors: [{ path: 'metadata.ownerReferences', message: NOT_YET }] },
  { name: 'a misspelt metadata field is unknown', make: vmi, break: (o) => (o.metadata.label = {}), errors: [{ path: 'metadata.label', message: 'unknown field' }] },
  { name: 'server-set metadata and status are ignored', make: vm, break: (o) => Object.assign(o, { status: { printableStatus: 'Running', anything: 1 } }, { metadata: { ...o.metadata, creationTimestamp: '2024-01-01T00:00:00Z', resourceVersion: '1', generation: 2, managedFields: [], uid: 'u' } }), errors: [] },
  { name: 'a top-level misspelling is unknown', make: vmi, break: (o) => (o.specs = {}), errors: [{ path: 'specs', message: 'unknown field' }] },
  { name: 'spec is required', make: vmi, break: (o) => delete o.spec, errors: [{ path: 'spec', message: 'Required value' }] },
  { name: 'spec is an object', make: vmi, break: (o) => (o.spec = []), errors: [{ path: 'spec', message: 'must be an object (got [])' }] },
  { name: 'apiVersion is required here', make: vmi, break: (o) => delete o.apiVersion, errors: [{ path: 'apiVersion', message: 'Required value' }] },
  { name: 'apiVersion is kubevirt.io/v1', make: vm, break: (o) => (o.apiVersion = 'kubevirt.io/v1alpha3'), errors: [{ path: 'apiVersion', message: 'Unsupported value: "kubevirt.io/v1alpha3": supported values: "kubevirt.io/v1"' }] },
  { name: 'kind is VM or VMI', make: vmi, break: (o) => (o.kind = 'Pod'), errors: [{ path: 'kind', message: 'Unsupported value: "Pod": supported values: "VirtualMachine", "VirtualMachineInstance"' }] },
  { name: 'kind is required', make: vmi, break: (o) => delete o.kind, errors: [{ path: 'kind', message: 'Required value' }] },

  // VirtualMachine spec
  {
    name: 'running and runStrategy are mutually exclusive',
    make: vm,
    break: (o) => (o.spec.running = true),
    errors: [{ path: 'spec.running', message: 'Running and RunStrategy are mutually exclusive. Note that Running is deprecated, please use RunStrategy instead' }],
  },
  { name: 'a run strategy is required', make: vm, break: (o) => delete o.spec.runStrategy, errors: [{ path: 'spec.runStrategy', message: 'RunStrategy must be specified' }] },
  { name: 'runStrategy enum', make: vm, break: (o) => (o.spec.runStrategy = 'Sometimes'), errors: [{ path: 'spec.runStrategy', message: 'Invalid RunStrategy (Sometimes)' }] },
  { name: 'WaitAsReceiver is not supported yet', make: vm, break: (o) => (o.spec.runStrategy = 'WaitAsReceiver'), errors: [{ path: 'spec.runStrategy', message: 'not supported yet: WaitAsReceiver (no decentralized live migration)' }] },
  { name: 'running is a boolean', make: vm, break: (o) => Object.assign(o.spec, { runStrategy: undefined, running: 'yes' }), errors: [{ path: 'spec.running', message: 'must be a boolean (got "yes")' }] },
  { name: 'template is required', make: vm, break: (o) => delete o.spec.template, errors: [{ path: 'spec.template', message: 'Required value' }] },
  { name: 'template spec is required', make: vm, break: (o) => delete o.spec.template.spec, errors: [{ path: 'spec.template.spec', message: 'Required value' }] },
  { name: 'template name is not supported yet', make: vm, break: (o) => (o.spec.template.metadata.name = 'x'), errors: [{ path: 'spec.template.metadata.name', message: NOT_YET }] },
  { name: 'template creationTimestamp: null is fine', make: vm, break: (o) => (o.spec.template.metadata.creationTimestamp = null), errors: [] },
  ...['dataVolumeTemplates', 'updateVolumesStrategy'].map(
    (f): ObjRule => ({ name: `spec.${f} is not supported yet`, make: vm, break: (o) => (o.spec[f] = {}), errors: [{ path: `spec.${f}`, message: NOT_YET }] }),
  ),
  { name: 'a VM spec misspelling is unknown', make: vm, break: (o) => (o.spec.runstrategy = 'Always'), errors: [{ path: 'spec.runstrategy', message: 'unknown field' }] },
];

for (const rule of OBJECT_RULES) {
  test(`${rule.make === vm ? 'VM' : 'VMI'}: ${rule.name}`, () => {
    const o = rule.make();
    rule.break(o);
    if (rule.errors.length === 0) assert.deepEqual(validate(o).warnings, []);
    else assertRejected(o, rule.errors);
  });
}

test('the deprecated running field is accepted with KubeVirt warning', () => {
  for (const running of [true, false]) {
    const o = vm();
    delete o.spec.runStrategy;
    o.spec.running = running;
    assert.deepEqual(validate(o).warnings, ['spec.running is deprecated, please use spec.runStrategy instead.']);
  }
  for (const s of ['Always', 'RerunOnFailure', 'Manual', 'Halted', 'Once']) {
    const o = vm();
    o.spec.runStrategy = s;
    assert.deepEqual(validate(o).warnings, []);
  }
});

test('a non-object is refused', () => {
  assertRejected('kind: VirtualMachine', [{ path: '<root>', message: 'must be an object (got "kind: VirtualMachine")' }]);
  assertRejected(null, [{ path: '<root>', message: 'must be an object (got null)' }]);
});

test('every error is collected and the message lists them all', () => {
  const o = vm();
  delete o.spec.runStrategy;
  o.metadata.name = 'Bad';
  const s = o.spec.template.spec;
  s.domain.resources.requests.memory = '64X';
  s.domain.devices.disks[0].disk.bus = 'floppy';
  s.domain.devices.watchdog = {};
  s.volumes[0].containerDisk.image = '';
  s.wat = 1;
  const err = assertRejected(o, [
    { path: 'metadata.name', message: `Invalid value: "Bad": ${SUBDOMAIN_MSG}` },
    { path: 'spec.runStrategy', message: 'RunStrategy must be specified' },
    { path: 'spec.template.spec.domain.resources.requests.memory', message: '"64X" is not a quantity' },
    { path: 'spec.template.spec.domain.devices.disks[0].disk.bus', message: 'unrecognized bus floppy, must be one of: [virtio sata scsi usb]' },
    { path: 'spec.template.spec.domain.devices.watchdog', message: NOT_YET },
    { path: 'spec.template.spec.volumes[0].containerDisk.image', message: 'Required value' },
    { path: 'spec.template.spec.wat', message: 'unknown field' },
  ]);
  assert.match(err.message, /^[^;]+: [^;]+(; [^;]+: [^;]+){6}$/);
  assert.ok(err.message.includes('spec.template.spec.domain.devices.watchdog: not supported yet'));
});

test('validate does not modify its input', () => {
  const o = vm();
  o.status = { printableStatus: 'Stopped' };
  const before = structuredClone(o);
  validate(o);
  assert.deepEqual(o, before);
});

test('the root bus count: 21 more virtio disks fit exactly (22 without the hotplug controller, the VGA takes one); sata past six ports adds a controller', () => {
  const full = vmi();
  manyDisks(full.spec, 21, 'virtio');
  assert.deepEqual(validate(full), { warnings: [] });
  assert.equal(rootBusDevices(full.spec).reduce((n, [, c]) => n + c, 0), ROOT_BUS_FREE_SLOTS);
  // The virtio-scsi controller waits for hot-plugged disks unless disableHotplug: one more slot.
  addDisk(full.spec, { name: 'y0', disk: { bus: 'virtio' } }, emptyVol('y0'));
  assert.throws(() => validate(full), /needs 31 PCI slots \(virtio disks: 23, virtio-scsi controller: 1,.* VGA: 1,/);
  full.spec.domain.devices.disableHotplug = true;
  assert.deepEqual(validate(full), { warnings: [] });
  assert.ok(!rootBusDevices(full.spec).some(([kind]) => kind === 'virtio-scsi controller'));
  // A scsi disk needs the controller, hotplug or not.
  addDisk(full.spec, { name: 'y1', disk: { bus: 'scsi' } }, emptyVol('y1'));
  assert.ok(rootBusDevices(full.spec).some(([kind]) => kind === 'virtio-scsi controller'));
  const sata = vmi();
  manyDisks(sata.spec, 7, 'sata');
  assert.deepEqual(rootBusDevices(sata.spec).slice(0, 2), [['virtio disks', 1], ["SATA controllers past the machine's own", 1]]);
  // Six sd letters taken by scsi disks push the first sata disk to the second controller too.
  const mixed = vmi();
  manyDisks(mixed.spec, 6, 'scsi');
  manyDisks(mixed.spec, 1, 'sata');
  assert.deepEqual(rootBusDevices(mixed.spec).slice(0, 3), [['virtio disks', 1], ["SATA controllers past the machine's own", 1], ['virtio-scsi controller', 1]]);
});
