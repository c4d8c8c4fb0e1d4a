// VMI → Domain: the KubeVirt rules the converter follows, and the errors it gives
// (field path and code) for specs it cannot run.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildArgv } from '../../launcher/domain/argv.js';
import { vmiToDomain } from '../../launcher/domain/convert.js';
import { quantityToBytes } from '../../launcher/domain/quantity.js';
import { InvalidSpecError, VirtnodeError } from '../../proto/errors.js';
import { applyDefaults, guestMemoryBytes, validate, vcpuCount } from '../../proto/vmi/index.js';
import { limitWrites } from '../../handler/sandbox/cgroup-limits.js';
import { memoryLimitBytes } from '../../handler/sandbox/overhead.js';
import { FIRMWARE_UUID, UID, context, gettingStarted, kernelBoot, twoDisks } from './domain-fixtures.js';

const RUN = '/run/virtnode/vms/x';
const DISK = { containerdisk: { path: '/d/containerdisk.qcow2', format: 'qcow2' as const } };

function rejects(fn: () => unknown, code: string, pathOrText: RegExp): void {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof VirtnodeError, String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pathOrText);
    return true;
  });
}

test('the getting-started VM as a Domain', () => {
  assert.deepEqual(vmiToDomain(gettingStarted(), context(RUN, DISK)), {
    name: 'default_vm-cirros',
    uuid: FIRMWARE_UUID,
    machine: { type: 'q35', acpi: true },
    accelerator: 'tcg',
    cpu: { model: 'qemu64', features: ['arat=on'], sockets: 1, cores: 1, threads: 1 },
    memory: { bytes: 64_000_000 },
    boot: { firmware: 'bios' },
    disks: [
      {
        name: 'containerdisk',
        deviceId: 'ua-containerdisk',
        nodeName: 'disk0',
        device: 'disk',
        image: { path: '/d/containerdisk.qcow2', format: 'qcow2' },
        address: { bus: 'virtio' },
        target: 'vda',
        readonly: false,
        cache: 'writethrough',
        // KubeVirt's converter default: the guest pauses on a disk error.
        errorPolicy: 'stop',
        shareable: false,
        bootIndex: 1,
      },
    ],
    diskControllers: { sata: [], scsi: 'scsi0' },
    ioThreads: [],
    interfaces: [],
    balloon: { freePageReporting: true },
    qmpSocket: `${RUN}/qemu/qmp.sock`,
    serialSocket: `${RUN}/qemu/serial0.sock`,
    guestAgent: { socket: `${RUN}/qemu/agent.sock` },
    panic: { model: 'pvpanic-pci' },
    lifecycle: { panic: 'pause', shutdown: 'poweroff', reboot: 'reset' },
    hotplugPorts: ['hotplug0', 'hotplug1'],
  });
});

test('guest memory: memory.guest, else requests.memory, else limits.memory; "64M" is 64×10⁶ bytes', () => {
  const v = gettingStarted();
  v.spec.domain.memory = { guest: '128Mi' };
  v.spec.domain.resources = { requests: { memory: '64M' } };
  assert.equal(vmiToDomain(v, context(RUN, DISK)).memory.bytes, 128 * 2 ** 20);
  v.spec.domain.memory = undefined;
  assert.equal(vmiToDomain(v, context(RUN, DISK)).memory.bytes, 64_000_000);
  v.spec.domain.resources = { limits: { memory: '0.5Gi' } };
  assert.equal(vmiToDomain(v, context(RUN, DISK)).memory.bytes, 2 ** 29);
  v.spec.domain.resources = {};
  rejects(() => vmiToDomain(v, context(RUN, DISK)), 'VN_INVALID_SPEC', /spec\.domain\.resources\.requests\.memory: no guest memory/);
  v.spec.domain.memory = { guest: 'lots' };
  rejects(() => vmiToDomain(v, context(RUN, DISK)), 'VN_INVALID_SPEC', /spec\.domain\.memory\.guest: "lots" is not a quantity/);
});

test('the local quantity helper follows Kubernetes (exact, rounded up)', () => {
  const cases: [string | number, bigint][] = [
    ['64M', 64_000_000n], ['1Gi', 1n << 30n], ['1.5Gi', 3n << 29n], ['500m', 1n], ['1e3', 1000n], ['1E3', 1000n],
    ['0.1', 1n], [1024, 1024n], ['12k', 12_000n], ['.5Ki', 512n], ['2Ei', 2n << 60n], ['+7', 7n],
  ];
  for (const [q, want] of cases) assert.equal(quantityToBytes(q), want, String(q));
  for (const bad of ['', 'M', '1 Gi', '1GB', '1.2.3', '0x10', 'Infinity', NaN]) {
    assert.throws(() => quantityToBytes(bad, 'p'), InvalidSpecError, String(bad));
  }
});

test('vCPUs: sockets × cores × threads; CPU model by accelerator', () => {
  const v = gettingStarted();
  v.spec.domain.cpu = { sockets: 2, cores: 3, threads: 2 };
  const tcg = vmiToDomain(v, context(RUN, DISK));
  assert.deepEqual(tcg.cpu, { model: 'qemu64', features: ['arat=on'], sockets: 2, cores: 3, threads: 2 });
  assert.equal(buildArgv(tcg)[buildArgv(tcg).indexOf('-smp') + 1], '12,sockets=2,cores=3,threads=2');
  v.spec.domain.cpu = { model: 'host-passthrough' };
  assert.deepEqual(vmiToDomain(v, { ...context(RUN, DISK), accelerator: 'kvm' }).cpu, { model: 'host', features: [], sockets: 1, cores: 1, threads: 1 });
  v.spec.domain.cpu = { model: 'Haswell,+vmx' };
  rejects(() => vmiToDomain(v, context(RUN, DISK)), 'VN_INVALID_SPEC', /spec\.domain\.cpu\.model/);
  v.spec.domain.cpu = { cores: 0 };
  rejects(() => vmiToDomain(v, context(RUN, DISK)), 'VN_INVALID_SPEC', /spec\.domain\.cpu\.cores/);
});

test('identity: firmware.uuid, else the VMI uid; firmware.serial to SMBIOS; ACPI off', () => {
  const v = gettingStarted();
  v.spec.domain.firmware = { serial: 'SN-1' };
  v.spec.domain.features = { acpi: { enabled: false } };
  const d = vmiToDomain(v, context(RUN, DISK));
  assert.equal(d.uuid, UID);
  assert.deepEqual(d.smbios, { serial: 'SN-1' });
  assert.deepEqual(d.machine, { type: 'q35', acpi: false });
  const argv = buildArgv(d);
  assert.equal(argv[argv.indexOf('-machine') + 1], 'q35,usb=off,vmport=off,dump-guest-core=off,acpi=off');
  v.spec.domain.firmware = { uuid: 'not-a-uuid' };
  rejects(() => vmiToDomain(v, context(RUN, DISK)), 'VN_INVALID_SPEC', /spec\.domain\.firmware\.uuid/);
});

test('features.smm: {} is -machine smm=on, enabled: false smm=off, unset leaves QEMU its default', () => {
  const v = gettingStarted();
  const machineOpt = (): string => {
    const argv = buildArgv(vmiToDomain(v, context(RUN, DISK)));
    return argv[argv.indexOf('-machine') + 1]!;
  };
  assert.equal(machineOpt(), 'q35,usb=off,vmport=off,dump-guest-core=off');
  v.spec.domain.features = { acpi: { enabled: true }, smm: {} };
  assert.equal(machineOpt(), 'q35,usb=off,vmport=off,dump-guest-core=off,smm=on');
  v.spec.domain.features = { acpi: { enabled: true }, smm: { enabled: false } };
  assert.equal(machineOpt(), 'q35,usb=off,vmport=off,dump-guest-core=off,smm=off');
});

test('what virtnode does not run yet is VN_UNSUPPORTED, naming the field', () => {
  let v = gettingStarted();
  v.spec.domain.machine = { type: 'pc-i440fx-7.2' };
  rejects(() => vmiToDomain(v, context(RUN, DISK)), 'VN_UNSUPPORTED', /spec\.domain\.machine\.type/);
  v = gettingStarted();
  v.spec.domain.machine = { type: 'pc-q35-7.2' };
  assert.equal(vmiToDomain(v, context(RUN, DISK)).machine.type, 'pc-q35-7.2');
  v = gettingStarted();
  v.spec.domain.devices.disks = [{ name: 'containerdisk', cdrom: { bus: 'virtio' } }];
  rejects(() => vmiToDomain(v, context(RUN, DISK)), 'VN_INVALID_SPEC', /spec\.domain\.devices\.disks\[0\]\.cdrom\.bus: a cdrom cannot be on bus "virtio"/);
  v = gettingStarted();
  v.spec.domain.devices.interfaces = [{ name: 'default', masquerade: {} }];
  rejects(() => vmiToDomain(v, context(RUN, DISK)), 'VN_UNSUPPORTED', /spec\.domain\.devices\.interfaces\[0\]: no network was prepared/);
});

test('an interface with a prepared tap: -netdev tap JSON with the inherited fd, NIC with its MAC', () => {
  const v = gettingStarted();
  v.spec.domain.devices.interfaces = [{ name: 'default', masquerade: {}, macAddress: '02:00:00:AA:BB:CC', bootOrder: 3 }];
  const d = vmiToDomain(v, context(RUN, DISK, { interfaces: { default: { tapName: 'tap0' } } }), { default: [5] });
  assert.deepEqual(d.interfaces, [{ name: 'default', deviceId: 'ua-default', netdevId: 'netdev0', model: 'virtio-net-pci', mac: '02:00:00:aa:bb:cc', tap: { fds: [5] }, vhost: false, bootIndex: 3 }]);
  // An interface has a bootOrder, the disk none: the disk gets no bootindex.
  assert.equal(d.disks[0]!.bootIndex, undefined);
  const argv = buildArgv(d);
  const i = argv.indexOf('-netdev');
  assert.deepEqual(argv.slice(i, i + 4), [
    '-netdev', '{"type":"tap","id":"netdev0","vhost":false,"fd":"5"}',
    '-device', '{"driver":"virtio-net-pci","id":"ua-default","netdev":"netdev0","mac":"02:00:00:aa:bb:cc","bootindex":3}',
  ]);
  // A tap the launcher did not open is an internal error, not a NIC without a backend.
  rejects(() => vmiToDomain(v, context(RUN, DISK, { interfaces: { default: { tapName: 'tap0' } } })), 'VN_INTERNAL', /tap tap0 .* was not opened/);
});

test('a multi-queue tap: one fd per queue, and the NIC gets mq and its vectors', () => {
  const v = gettingStarted();
  v.spec.domain.devices.interfaces = [{ name: 'default', masquerade: {} }];
  const argv = buildArgv(vmiToDomain(v, context(RUN, DISK, { interfaces: { default: { tapName: 'tap0', mac: '02:00:00:00:00:01' } } }), { default: [3, 4] }));
  const i = argv.indexOf('-netdev');
  assert.deepEqual(argv.slice(i, i + 4), [
    '-netdev', '{"type":"tap","id":"netdev0","vhost":false,"fds":"3:4"}',
    '-device', '{"driver":"virtio-net-pci","id":"ua-default","netdev":"netdev0","mac":"02:00:00:00:00:01","mq":true,"vectors":6}',
  ]);
});

test('disks: cache defaults by O_DIRECT support, explicit modes, readonly, io', () => {
  const v = gettingStarted();
  assert.equal(vmiToDomain(v, context(RUN, { containerdisk: { ...DISK.containerdisk, directIo: true } })).disks[0]!.cache, 'none');
  v.spec.domain.devices.disks = [{ name: 'containerdisk', disk: { bus: 'virtio', readonly: true }, cache: 'writeback', io: 'threads' }];
  const d = vmiToDomain(v, context(RUN, DISK)).disks[0]!;
  assert.equal(d.cache, 'writeback');
  assert.equal(d.readonly, true);
  const argv = buildArgv(vmiToDomain(v, context(RUN, DISK)));
  const nodes = argv.flatMap((a, i) => (argv[i - 1] === '-blockdev' ? [JSON.parse(a)] : []));
  assert.deepEqual(nodes.map((n) => [n['read-only'], n.cache.direct, n.aio]), [[true, false, 'threads'], [true, false, undefined]]);
  const dev = JSON.parse(argv[argv.findIndex((a) => a.includes('virtio-blk-pci'))]!);
  assert.equal(dev['write-cache'], 'on');
  // io native needs O_DIRECT: a disk that names no cache gets "none" (so does a shareable one).
  v.spec.domain.devices.disks = [{ name: 'containerdisk', disk: {}, io: 'native' }];
  assert.equal(vmiToDomain(v, context(RUN, DISK)).disks[0]!.cache, 'none');
  v.spec.domain.devices.disks = [{ name: 'containerdisk', disk: {}, shareable: true }];
  assert.equal(vmiToDomain(v, context(RUN, DISK)).disks[0]!.cache, 'none');
  v.spec.domain.devices.disks = [{ name: 'containerdisk', disk: {}, io: 'native', cache: 'writeback' }];
  rejects(() => vmiToDomain(v, context(RUN, DISK)), 'VN_INVALID_SPEC', /disks\[0\]\.io: native I\/O needs cache "none"/);
});

test('a disk whose volume the handler did not prepare is an internal error; one with no volume is a spec error', () => {
  rejects(() => vmiToDomain(twoDisks(), context(RUN, { root: { path: '/r', format: 'raw' } })), 'VN_INTERNAL', /disks\[0\]: the handler prepared no image for volume "data"/);
  const v = gettingStarted();
  v.spec.volumes = [];
  rejects(() => vmiToDomain(v, context(RUN, DISK)), 'VN_INVALID_SPEC', /disks\[0\]\.name: no volume named "containerdisk"/);
});

test('kernelBoot needs the kernel the handler pulled; kernelArgs become the command line', () => {
  rejects(() => vmiToDomain(kernelBoot(), context(RUN, DISK)), 'VN_INTERNAL', /kernelBoot/);
  rejects(() => vmiToDomain(kernelBoot(), context(RUN, DISK, { kernelBoot: { initrd: '/k/initrd' } })), 'VN_INVALID_SPEC', /kernelBoot\.container\.kernelPath: required/);
  const d = vmiToDomain(kernelBoot(), context(RUN, DISK, { kernelBoot: { kernel: '/k/vmlinuz' } }));
  assert.deepEqual(d.boot, { firmware: 'bios', kernel: { path: '/k/vmlinuz', cmdline: 'console=ttyS0 root=/dev/vda rw  quiet,loglevel=3 vn.x="a,b c"' } });
});

test('CPU models and machine types: what admission takes the launcher builds', () => {
  const models = ['host-model', 'host-passthrough', 'qemu64', 'Skylake-Client-v4', 'EPYC-IBPB', 'Opteron_G5', '486', 'Foo+bar', 'qemu64,+vmx', 'x=y', 'host'];
  const machines = ['q35', 'pc-q35-7.2', 'pc-q35-7', 'pc-i440fx-7.2', 'Q35'];
  for (const [model, type] of models.flatMap((m) => machines.map((t) => [m, t] as const))) {
    const v = gettingStarted();
    v.spec.domain.cpu = { ...v.spec.domain.cpu, model };
    v.spec.domain.machine = { type };
    let admitted = true;
    try {
      validate(v, { podNetworking: true });
    } catch (e) {
      assert.ok(e instanceof InvalidSpecError, String(e));
      admitted = false;
    }
    if (!admitted) continue;
    for (const accelerator of ['tcg', 'kvm'] as const) {
      assert.doesNotThrow(() => buildArgv(vmiToDomain(v, { ...context(RUN, DISK), accelerator })), `${model} on ${type} (${accelerator})`);
    }
  }
});

test("at admission's bounds (4Pi of memory, 288 CPUs) the launcher builds and the cgroup limits stay exact", () => {
  const o = { ...gettingStarted(), metadata: { name: 'big', uid: UID } };
  o.spec.domain = { devices: { disks: [{ name: 'containerdisk' }], autoattachPodInterface: false }, resources: { requests: { memory: '4Pi', cpu: '288' }, limits: { memory: '4Pi', cpu: '288' } } };
  assert.deepEqual(validate(o, { podNetworking: true }).warnings, []);
  const v = applyDefaults(o, { podNetworking: true });
  const argv = buildArgv(vmiToDomain(v, context(RUN, DISK)));
  assert.ok(argv.includes('288,sockets=288,cores=1,threads=1'));
  assert.ok(argv.includes(`size=${2 ** 52}b`));
  const memoryBytes = memoryLimitBytes({ guestBytes: Number(guestMemoryBytes(v.spec)), vcpus: vcpuCount(v.spec), accelerator: 'tcg', limitBytes: 2 ** 52 });
  assert.ok(Number.isSafeInteger(memoryBytes));
  assert.doesNotThrow(() => limitWrites(2, { memoryBytes, cpuRequestMillis: 288000, cpuLimitMillis: 288000 }));
});

test('a kernelBoot without a container boots from the disks, as KubeVirt does (admission takes it)', () => {
  const v = gettingStarted();
  v.spec.domain.firmware = { uuid: FIRMWARE_UUID, kernelBoot: {} };
  assert.deepEqual(validate(v, { podNetworking: true }).warnings, []);
  const d = vmiToDomain(v, context(RUN, DISK));
  assert.deepEqual(d.boot, { firmware: 'bios' });
  assert.equal(d.disks[0]!.bootIndex, 1);
  assert.ok(!buildArgv(d).includes('-kernel'));
});

test('a run directory too long for unix socket paths is refused before QEMU is started', () => {
  rejects(() => vmiToDomain(gettingStarted(), context(`/run/${'x'.repeat(100)}`, DISK)), 'VN_INTERNAL', /longer than a unix socket path may be/);
});

test("disk targets are libvirt's names: vda, vdb, ..., vdz, vdaa", async () => {
  const { diskTarget } = await import('../../launcher/domain/devices/disk.js');
  assert.deepEqual([0, 1, 25, 26, 27, 51, 52, 701, 702].map((i) => diskTarget('vd', i)), ['vda', 'vdb', 'vdz', 'vdaa', 'vdab', 'vdaz', 'vdba', 'vdzz', 'vdaaa']);
  assert.deepEqual(vmiToDomain(twoDisks(), context(RUN, { data: { path: '/a.qcow2', format: 'qcow2' }, root: { path: '/b.raw', format: 'raw' } })).disks.map((d) => [d.name, d.target]), [['data', 'vda'], ['root', 'vdb']]);
});
