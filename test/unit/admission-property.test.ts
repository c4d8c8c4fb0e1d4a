// Property: "what can fail at launch is checked at Apply". Thousands of VM and VMI
// manifests are drawn from a grammar of the fields admission knows (schema.ts), odd
// and wrong values included on purpose. Every one that Apply accepts (validate,
// applyDefaults, the pod network plan, as handler/api/admission.ts runs them) must
// then pass what the handler computes before it makes anything (cgroup limits, disk
// sizes), convert in the launcher (vmiToDomain, buildArgv) under TCG and KVM without
// a throw, and give QEMU nothing it refuses (qemuFacts, measured with QEMU 7.2).
//
// Deterministic: a seeded PRNG (mulberry32). PROP_SEED and PROP_COUNT override the
// seed and the count; a failure prints the seed, a shrunk manifest and the error.

import { test } from 'node:test';
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { InvalidSpecError, VirtnodeError } from '../../proto/errors.js';
import type { LaunchContext } from '../../proto/launch.js';
import { MACHINE_TYPES, MAX_TAP_QUEUES, NIC_MODELS, QEMU_CPU_MODELS, tapQueueCount } from '../../proto/vmi/devices.js';
import { applyDefaults, quantityToBytes, validate, vcpuCount, vmiFromVM } from '../../proto/vmi/index.js';
import type { VirtualMachine, VirtualMachineInstance } from '../../proto/vmi/types.js';
import { buildArgv } from '../../launcher/domain/argv.js';
import { vmiToDomain } from '../../launcher/domain/convert.js';
import type { Domain } from '../../launcher/domain/types.js';
import { planPodNetwork, podNetworkRequest, resolveNodeNetwork, type PlannedInterface } from '../../handler/network/index.js';
import { LOCAL_OUI, POD_TAP, QEMU_OUI, stableMac } from '../../handler/network/names.js';
import { limitWrites } from '../../handler/sandbox/cgroup-limits.js';
import { cgroupLimits } from '../../handler/controller/vmi-prepare.js';
import { deviceStateOf, VmStateDirs } from '../../handler/sandbox/device-state.js';

type Json = Record<string, any>;

const DEFAULT_SEED = 0x5eed2024;
const SEED = process.env.PROP_SEED !== undefined ? Number(process.env.PROP_SEED) : DEFAULT_SEED;
const COUNT = process.env.PROP_COUNT !== undefined ? Number(process.env.PROP_COUNT) : 3000;
const NETWORKING = { podNetworking: true } as const;
const NODE = resolveNodeNetwork();
const RUN_DIR = '/run/vn/p';
const DISK_DIR = '/var/lib/vn/disks/p';
const QCOW2_MAX_BYTES = 2 ** 51;

// ---- the PRNG and its helpers -------------------------------------------

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Gen {
  readonly #r: () => number;
  /** How often a field takes a value admission should refuse (per object). */
  wild = 0.05;
  constructor(seed: number) {
    this.#r = mulberry32(seed);
  }
  chance(p: number): boolean {
    return this.#r() < p;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.#r() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.#r() * xs.length)]!;
  }
  /** Mostly a value admission takes (odd ones included), else (rate `wild`) one it should refuse. */
  odd<T>(good: readonly T[], bad: readonly T[]): T {
    return bad.length > 0 && this.chance(this.wild) ? this.pick(bad) : this.pick(good);
  }
  /** `value()` with probability p, else undefined (the field left out). */
  maybe<T>(p: number, value: () => T): T | undefined {
    return this.chance(p) ? value() : undefined;
  }
}

/** Drops undefined members, so a left-out field is absent, not present as undefined. */
function compact(o: Json): Json {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

// ---- the grammar ---------------------------------------------------------

const UUIDS = ['0d2a2043-41c0-59c3-9b17-025022203668', '6F1F0A3E-5D0C-4A8E-9A51-1B2C3D4E5F60', ''];
const BAD_UUIDS = ['not-a-uuid', '{0d2a2043-41c0-59c3-9b17-025022203668}', '0d2a204341c059c39b17025022203668'];

const MEMORY = ['64M', '64Mi', '128Mi', '1G', '1Gi', '1e9', '0.5Gi', '1536Mi', 67108864, '2048Ki', '1.5G', '1M', '1Mi', '1.5e8', '1Ti', '1Pi', '4Pi'];
const BAD_MEMORY = ['0', '-64M', '64X', '', 'lots', '100m', '1k', '1', '999999', '7Pi', '8Pi', '1Ei', '7Ei', '9Ei', '1e30', 0.5, '64 M'];
const CPU_QTY = ['1', '2', '500m', '100m', '0.5', 2, '4', '1500m', '288'];
const BAD_CPU_QTY = ['0', '-1', '289', '1000', '1e3', '1e16', '1Ki', 'two', '1e19', '100Mi'];
const COUNTS = [1, 1, 1, 2, 2, 4];
const BAD_COUNTS = [0, -1, 3, 17, 96, 288, 289, 1.5, '2'];
const CPU_MODELS = ['host-model', 'host-passthrough', 'qemu64', 'Skylake-Client-v4', 'EPYC-IBPB', 'max', 'Haswell-noTSX-IBRS', 'kvm64', 'Cascadelake-Server-v2', 'Opteron_G5', '486', 'base'];
const BAD_CPU_MODELS = ['', 'Cascadelake-Server_v2', 'Skylake', 'EPYC-v9', 'Foo+bar', 'qemu64,+vmx', 'a b', '-x', '.x', 'x=y', 'ünï', 'qemu64,', 'host'];
const MACHINES = ['q35', 'pc-q35-7.2', 'pc-q35-2.4', 'pc-q35-2.12', 'pc-q35-6.2'];
const BAD_MACHINES = ['', 'pc-q35-8.0', 'pc-q35-4.0.1', 'pc-q35-1.0', 'pc-i440fx-7.2', 'pc', 'bogus', 'Q35', 'pc-q35-7.2,accel=kvm', 'pc-q35-rhel9.2.0', 'pc-q35-7', 'q35 ', 'microvm'];
const SERIALS = ['', 'ABC-123', 'x,uuid=00000000-0000-0000-0000-000000000000', 'with space', 'ünïcödé', 'a=b,c', 'x'.repeat(300), '"quoted"', "it's"];
const BAD_SERIALS = ['tab\there', 'nl\n', '\u007f'];
const IMAGES = ['quay.io/kubevirt/cirros-container-disk-demo', 'localhost:5000/vm/root@sha256:' + 'a'.repeat(64), 'registry:5000/x:latest', 'registry.example.com/a/b/c:v1.2'];
const BAD_IMAGES = ['UPPER/case', 'a b', '', 'x@sha256:short', ':tag'];
const IMAGE_PATHS = ['/boot/vmlinuz', '/disk/root.qcow2', '/a/b/', '/x'];
const BAD_IMAGE_PATHS = ['boot/vmlinuz', '/boot/../x', '/', '/a//b', '/./a', ''];
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];
const KERNEL_ARGS = ['console=ttyS0', 'console=ttyS0 root=/dev/vda rw  quiet,loglevel=3 vn.x="a,b c"', '', '-S -daemonize'];
const VOLUME_NAMES = ['containerdisk', 'root', 'data', 'scratch', 'd-1', '1abc', 'a'.repeat(63)];
const BAD_VOLUME_NAMES = ['Disk1', 'x_y', 'a'.repeat(64), 'a.b', '-a', ''];
const CAPACITIES = ['1Gi', '10M', 1048576, '512', '1', '100m', '1.5Gi', '1Ti', '1Pi'];
const BAD_CAPACITIES = ['0', '-1Gi', '7Ei', '9Ei', 'big', ''];
const BUSES = ['virtio', 'virtio', '', 'sata', 'scsi', 'usb'];
const BAD_BUSES = ['ide', 'bogus', 'VIRTIO'];
const CDROM_BUSES = ['sata', 'scsi', ''];
const BAD_CDROM_BUSES = ['virtio', 'usb', 'ide'];
const PCI_ADDRESSES = ['0000:00:0a.0', '0000:00:01.0', '0000:00:1e.0', '0000:00:0A.0'];
const BAD_PCI_ADDRESSES = ['0000:81:01.0', '0000:00:1f.0', '0000:00:00.0', '0000:00:0a.1', '0000:00:20.0', 'bogus', '00:0a.0'];
const ERROR_POLICIES = ['stop', 'ignore', 'report', 'enospace', ''];
const BAD_ERROR_POLICIES = ['retry', 'Stop'];
const BLOCK_SIZES = [512, 512, 4096, 1024, 2097152];
const BAD_BLOCK_SIZES = [0, 256, 3000, 4194304, -512];
const GRANULARITIES = [0, 512, 4096, 8192];
const BAD_GRANULARITIES = [1536, 2 ** 32, -1];
const DISK_SERIALS = ['', 'root_1', 'S-N.1+2', 'x'.repeat(256), 'abc'];
const BAD_DISK_SERIALS = ['S,N=1', 'with space', 'x'.repeat(257), 'ünï', '"q"'];
const CACHES = ['none', 'writethrough', 'writeback', ''];
const BAD_CACHES = ['unsafe', 'directsync', 'bogus', 'None'];
const IFACE_NAMES = ['default', 'Net_1', 'eth0', 'a-b', 'UPPER', '9x', '_x', '-', 'n'.repeat(70)];
const BAD_IFACE_NAMES = ['x.y', 'with space', '', 'ünï', 'a/b'];
const MODELS = [...Object.keys(NIC_MODELS).filter((m) => m !== 'igb'), '', 'virtio'];
const BAD_MODELS = ['igb', 'bogus', 'VIRTIO', 'e1000E', 'virtio-net-pci', 'toString', '__proto__'];
const MACS = ['de:ad:00:00:be:af', 'DE:AD:00:00:BE:AF', 'aa-bb-cc-dd-ee-ff', 'aabb.ccdd.eeff', '52:54:00:12:34:56', '02:00:00:00:00:01', ''];
const BAD_MACS = ['01:00:5e:00:00:01', 'ff:ff:ff:ff:ff:ff', '00:00:00:00:00:00', '0000.0000.0000', '02:00:00:00:00:00', '02-00-00-00-00-00', '0200.0000.0000', 'de:ad:be:ef', 'zz:zz:zz:zz:zz:zz', '00:11:22:33:44:55:66:77', 'aa:bb:cc:dd:ee:ff:', 'aabbccddeeff', 'aa:bb-cc:dd-ee:ff'];
const CIDRS = ['10.0.2.0/24', '10.1.0.0/16', '192.168.5.1/24', '10.0.2.0/30', '172.16.0.0/12'];
const BAD_CIDRS = ['10.244.0.0/16', '10.0.2.0/31', '10.0.2.0/32', 'bogus', '10.0.2.0', '300.1.1.1/24', '10.0.2.0/24/1', 'fd00::/64'];
const NAMES = ['vm-1', 'a.b', 'x', 'vm-cirros', 'a'.repeat(63) + '.' + 'b'.repeat(60)];
const BAD_NAMES = ['Bad_Name', '', 'a'.repeat(254), '-x'];
const HOSTNAMES = ['vm-1', 'h', 'a'.repeat(63), ''];
const BAD_HOSTNAMES = ['Bad_Host', 'a'.repeat(64), 'a.b'];

function quantityField(g: Gen, good: readonly unknown[], bad: readonly unknown[]): unknown {
  return g.odd(good, bad);
}

function genResources(g: Gen): Json | undefined {
  if (!g.chance(0.85)) return undefined;
  const requests = compact({
    memory: g.maybe(0.75, () => quantityField(g, MEMORY, BAD_MEMORY)),
    cpu: g.maybe(0.3, () => quantityField(g, CPU_QTY, BAD_CPU_QTY)),
  });
  const limits = compact({
    memory: g.maybe(0.2, () => quantityField(g, MEMORY, BAD_MEMORY)),
    cpu: g.maybe(0.2, () => quantityField(g, CPU_QTY, BAD_CPU_QTY)),
  });
  return compact({
    requests: Object.keys(requests).length || g.chance(0.1) ? requests : undefined,
    limits: Object.keys(limits).length ? limits : undefined,
    overcommitGuestOverhead: g.maybe(0.05, () => g.chance(0.5)),
  });
}

function genCpu(g: Gen): Json | undefined {
  if (!g.chance(0.5)) return undefined;
  return compact({
    sockets: g.maybe(0.5, () => g.odd(COUNTS, BAD_COUNTS)),
    cores: g.maybe(0.5, () => g.odd(COUNTS, BAD_COUNTS)),
    threads: g.maybe(0.4, () => g.odd(COUNTS, BAD_COUNTS)),
    model: g.maybe(0.5, () => g.odd(CPU_MODELS, BAD_CPU_MODELS)),
  });
}

function genFirmware(g: Gen): Json | undefined {
  if (!g.chance(0.45)) return undefined;
  const kernelBoot = g.maybe(0.35, () => {
    const container = g.maybe(0.9, () =>
      compact({
        image: g.odd(IMAGES, BAD_IMAGES),
        imagePullPolicy: g.maybe(0.3, () => g.odd(PULL_POLICIES, ['Sometimes', ''])),
        kernelPath: g.maybe(0.8, () => g.odd(IMAGE_PATHS, BAD_IMAGE_PATHS)),
        initrdPath: g.maybe(0.5, () => g.odd(['/boot/initrd.img', '/initramfs'], BAD_IMAGE_PATHS)),
      }),
    );
    return compact({ container, kernelArgs: g.maybe(0.6, () => g.pick(KERNEL_ARGS)) });
  });
  return compact({
    uuid: g.maybe(0.4, () => g.odd(UUIDS, BAD_UUIDS)),
    serial: g.maybe(0.3, () => g.odd(SERIALS, BAD_SERIALS)),
    bootloader: g.maybe(0.2, () =>
      g.chance(1 - g.wild)
        ? g.pick([{ bios: {} }, { bios: { useSerial: g.chance(0.5) } }, { efi: { secureBoot: false } }, { efi: { secureBoot: false, persistent: true } }])
        : g.pick([{ efi: {} }, { bios: {}, efi: {} }, {}, { efi: { secureBoot: true, persistent: g.chance(0.5) } }]),
    ),
    kernelBoot,
  });
}

interface Storage {
  volumes: Json[] | undefined;
  disks: Json[] | undefined;
}

function genStorage(g: Gen): Storage {
  const n = g.pick([0, 1, 1, 1, 2, 2, 3]);
  const volumes: Json[] = [];
  const used = new Set<string>();
  for (let i = 0; i < n; i++) {
    let name = g.odd(VOLUME_NAMES, BAD_VOLUME_NAMES);
    if (used.has(name) && g.chance(1 - g.wild)) name = `${name.slice(0, 58)}-v${i}`;
    used.add(name);
    const kind = g.chance(g.wild) ? g.pick(['both', 'none']) : g.pick(['containerDisk', 'containerDisk', 'emptyDisk', 'emptyDisk', 'cloudInitNoCloud']);
    const containerDisk = () =>
      compact({
        image: g.odd(IMAGES, BAD_IMAGES),
        imagePullPolicy: g.maybe(0.3, () => g.odd(PULL_POLICIES, ['Sometimes'])),
        path: g.maybe(0.3, () => g.odd(IMAGE_PATHS, BAD_IMAGE_PATHS)),
      });
    const emptyDisk = () => compact({ capacity: g.maybe(0.97, () => g.odd(CAPACITIES, BAD_CAPACITIES)) });
    volumes.push(
      compact({
        name,
        containerDisk: kind === 'containerDisk' || kind === 'both' ? containerDisk() : undefined,
        emptyDisk: kind === 'emptyDisk' || kind === 'both' ? emptyDisk() : undefined,
        cloudInitNoCloud: kind === 'cloudInitNoCloud' ? { userData: '#!/bin/sh\necho hi' } : undefined,
      }),
    );
  }
  // Disks for some volumes (the rest get one by default), in any order, sometimes one without a volume.
  const disks: Json[] = [];
  for (const v of volumes) {
    if (!g.chance(0.75)) continue;
    disks.push(genDisk(g, v.name));
  }
  if (g.chance(g.wild)) disks.push(genDisk(g, g.pick(['orphan', ...VOLUME_NAMES])));
  if (disks.length > 1 && g.chance(0.3)) disks.reverse();
  return { volumes: volumes.length || g.chance(0.05) ? volumes : undefined, disks: disks.length || g.chance(0.05) ? disks : undefined };
}

function genDisk(g: Gen, name: string): Json {
  const target = g.chance(g.wild) ? g.pick(['lun', 'both']) : g.pick(['disk', 'disk', 'disk', 'none', 'cdrom']);
  const blockSize = (): Json =>
    g.chance(0.6)
      ? {
          custom: ((logical, physical) =>
            compact({
              // Mostly a pair KubeVirt takes (logical <= physical), sometimes either way round.
              logical: g.maybe(1 - g.wild, () => (g.chance(0.8) ? Math.min(logical, physical) : logical)),
              physical: g.maybe(1 - g.wild, () => (g.chance(0.8) ? Math.max(logical, physical) : physical)),
              discardGranularity: g.maybe(0.4, () => g.odd(GRANULARITIES, BAD_GRANULARITIES)),
            }))(g.odd(BLOCK_SIZES, BAD_BLOCK_SIZES), g.odd(BLOCK_SIZES, BAD_BLOCK_SIZES)),
          ...(g.chance(g.wild) ? { matchVolume: {} } : {}),
        }
      : { matchVolume: compact({ enabled: g.maybe(0.5, () => g.chance(0.7)) }) };
  const bus = g.maybe(0.6, () => g.odd(BUSES, BAD_BUSES));
  // Options KubeVirt allows on virtio only, mostly where they are allowed.
  const virtio = target === 'disk' && (bus === undefined || bus === '' || bus === 'virtio');
  const virtioOnly = (p: number): boolean => g.chance(p) && (virtio || g.chance(g.wild));
  return compact({
    name,
    disk: target === 'disk' || target === 'both'
      ? compact({
          bus,
          readonly: g.maybe(bus === 'sata' ? g.wild : 0.2, () => g.chance(0.5)),
          pciAddress: virtioOnly(0.1) ? g.odd(PCI_ADDRESSES, BAD_PCI_ADDRESSES) : undefined,
        })
      : undefined,
    cdrom: target === 'cdrom' || target === 'both'
      ? compact({
          bus: g.maybe(0.7, () => g.odd(CDROM_BUSES, BAD_CDROM_BUSES)),
          readonly: g.maybe(0.2, () => g.chance(0.5)),
          tray: g.maybe(0.3, () => g.odd(['closed'], ['open', 'ajar'])),
        })
      : undefined,
    lun: target === 'lun' ? compact({ bus: g.maybe(0.5, () => g.pick(['scsi', 'sata'])) }) : undefined,
    bootOrder: g.maybe(0.3, () => g.odd([1, 2, 3, 10, 2 ** 31 - 1], [0, -1, 1.5, 2 ** 31, 2 ** 53 - 1])),
    serial: g.maybe(0.25, () => g.odd(DISK_SERIALS, BAD_DISK_SERIALS)),
    cache: g.maybe(0.25, () => g.odd(CACHES, BAD_CACHES)),
    io: g.maybe(0.15, () => g.odd(['native', 'threads', ''], ['io_uring'])),
    dedicatedIOThread: virtioOnly(0.15) ? g.chance(0.6) : undefined,
    shareable: g.maybe(0.1, () => g.chance(0.6)),
    errorPolicy: g.maybe(0.15, () => g.odd(ERROR_POLICIES, BAD_ERROR_POLICIES)),
    tag: g.maybe(0.05, () => 'role'),
    blockSize: g.maybe(0.1, blockSize),
  });
}

interface Networking {
  interfaces: Json[] | undefined;
  networks: Json[] | undefined;
}

function genNetworking(g: Gen): Networking {
  const n = g.odd([0, 1, 1, 1], [2, 3]);
  const interfaces: Json[] = [];
  const networks: Json[] = [];
  for (let i = 0; i < n; i++) {
    const name = g.odd(IFACE_NAMES, BAD_IFACE_NAMES);
    const binding = g.chance(g.wild) ? g.pick(['both', 'none', 'sriov', 'slirp']) : g.pick(['masquerade', 'masquerade', 'bridge']);
    const ports = g.maybe(0.25, () =>
      Array.from({ length: g.int(1, 3) }, () =>
        compact({
          name: g.maybe(0.5, () => g.odd(['http', 'ssh', 'p-1'], ['Bad_Name', 'x'.repeat(16), '1234'])),
          port: g.odd([22, 80, 8080, 65535, 1], [0, 65536, -1, 70000, 1.5]),
          protocol: g.maybe(0.5, () => g.odd(['TCP', 'UDP', ''], ['SCTP', 'tcp'])),
        }),
      ),
    );
    interfaces.push(
      compact({
        name,
        model: g.maybe(0.5, () => g.odd(MODELS, BAD_MODELS)),
        macAddress: g.maybe(0.4, () => g.odd(MACS, BAD_MACS)),
        masquerade: binding === 'masquerade' || binding === 'both' ? {} : undefined,
        bridge: binding === 'bridge' || binding === 'both' ? {} : undefined,
        sriov: binding === 'sriov' ? {} : undefined,
        slirp: binding === 'slirp' ? {} : undefined,
        ports,
        bootOrder: g.chance(g.wild) ? g.pick([1, 5]) : undefined,
      }),
    );
    const netName = g.chance(g.wild) ? g.pick(['other', name + 'x']) : name;
    const pod = g.maybe(0.97, () => compact({ vmNetworkCIDR: g.maybe(0.3, () => g.odd(CIDRS, BAD_CIDRS)) }));
    networks.push(compact({ name: netName, pod, multus: g.chance(g.wild / 2) ? { networkName: 'x' } : undefined }));
  }
  if (g.chance(g.wild / 2)) networks.push({ name: 'extra', pod: {} });
  return { interfaces: interfaces.length || g.chance(0.05) ? interfaces : undefined, networks: networks.length || g.chance(0.05) ? networks : undefined };
}

function genIOThreads(g: Gen): Json {
  const policy = g.maybe(0.15, () => g.odd(['shared', 'auto', 'supplementalPool', 'supplementalPool'], ['dedicated']));
  const pool = policy === 'supplementalPool' ? g.chance(1 - g.wild) : g.chance(0.05);
  return compact({ ioThreadsPolicy: policy, ioThreads: pool ? compact({ supplementalPoolThreadCount: g.maybe(1 - g.wild, () => g.odd([1, 2, 4], [0, -1, 5000])) }) : undefined });
}

function genVMISpec(g: Gen): Json {
  const storage = genStorage(g);
  const net = genNetworking(g);
  const devices = compact({
    disks: storage.disks,
    interfaces: net.interfaces,
    rng: g.maybe(0.3, () => ({})),
    tpm: g.maybe(0.15, () => compact({ enabled: g.maybe(0.3, () => g.chance(0.7)), persistent: g.maybe(0.4, () => g.chance(0.5)) })),
    autoattachPodInterface: g.maybe(0.2, () => g.chance(0.5)),
    autoattachGraphicsDevice: g.maybe(0.15, () => g.chance(1 - g.wild * 3) ? false : true),
    autoattachSerialConsole: g.maybe(0.2, () => g.chance(0.5)),
    autoattachMemBalloon: g.maybe(0.2, () => g.chance(0.5)),
    networkInterfaceMultiqueue: g.maybe(0.25, () => g.chance(0.6)),
    blockMultiQueue: g.maybe(0.15, () => g.chance(0.6)),
  });
  const domain = compact({
    resources: genResources(g),
    memory: g.maybe(0.3, () => compact({ guest: g.maybe(0.95, () => quantityField(g, MEMORY, BAD_MEMORY)) })),
    cpu: genCpu(g),
    machine: g.maybe(0.4, () => compact({ type: g.maybe(0.95, () => g.odd(MACHINES, BAD_MACHINES)) })),
    firmware: genFirmware(g),
    features: g.maybe(0.25, () =>
      g.chance(0.8) ? compact({ acpi: compact({ enabled: g.maybe(0.8, () => g.chance(0.5)) }), smm: g.maybe(0.4, () => compact({ enabled: g.maybe(0.3, () => g.chance(0.5)) })) }) : {},
    ),
    ...genIOThreads(g),
    devices: g.chance(1 - g.wild / 2) ? devices : undefined,
  });
  // Memory somewhere, unless this object is meant to be wrong.
  if (!domain.resources?.requests?.memory && !domain.resources?.limits?.memory && !domain.memory?.guest && !g.chance(g.wild)) {
    domain.resources = { ...domain.resources, requests: { ...domain.resources?.requests, memory: g.pick(MEMORY) } };
  }
  return compact({
    domain,
    volumes: storage.volumes,
    networks: net.networks,
    hostname: g.maybe(0.15, () => g.odd(HOSTNAMES, BAD_HOSTNAMES)),
    subdomain: g.maybe(0.05, () => g.odd(['sub', 'a.b'], ['Bad_Sub'])),
    terminationGracePeriodSeconds: g.maybe(0.3, () => g.odd([0, 30, 3600], [-1, 1.5])),
    architecture: g.maybe(0.05, () => g.odd(['amd64', ''], ['arm64', 'riscv'])),
    evictionStrategy: g.maybe(0.05, () => g.odd(['None', 'LiveMigrate'], ['Sometimes'])),
  });
}

function genMeta(g: Gen, vmi: boolean): Json {
  return compact({
    name: g.odd(NAMES, BAD_NAMES),
    namespace: g.maybe(0.4, () => g.odd(['default', 'ns-1'], ['Bad_NS'])),
    // A uid on input is the store's to replace; a VMI saved with `get -o yaml` carries one.
    uid: g.maybe(0.1, () => g.pick([...UUIDS, 'x'])),
    labels: g.maybe(0.2, () => (vmi && g.chance(g.wild) ? { 'kubevirt.io/nodeName': 'n' } : { 'kubevirt.io/vm': 'vm-1' })),
    annotations: g.maybe(0.1, () => ({ 'example.com/note': 'anything: {}' })),
  });
}

/** JSON null is "unset" for any optional field: some members become null. */
function sprinkleNulls(g: Gen, o: Json, p: number): void {
  for (const [k, v] of Object.entries(o)) {
    if (k === 'name' || k === 'kind' || k === 'apiVersion') continue;
    if (g.chance(p)) o[k] = null;
    else if (Array.isArray(v)) v.forEach((item) => typeof item === 'object' && item !== null && sprinkleNulls(g, item, p));
    else if (typeof v === 'object' && v !== null) sprinkleNulls(g, v, p);
  }
}

function genObject(g: Gen): Json {
  g.wild = g.pick([0, 0, 0.02, 0.05, 0.1, 0.2]);
  const o = genKind(g);
  if (g.chance(0.15)) sprinkleNulls(g, o, 0.04);
  return o;
}

function genKind(g: Gen): Json {
  if (g.chance(0.6)) {
    return { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance', metadata: genMeta(g, true), spec: genVMISpec(g) };
  }
  const strategy = g.chance(g.wild) ? g.pick(['WaitAsReceiver', 'bogus', 'both', 'none']) : g.pick(['Always', 'Halted', 'Manual', 'RerunOnFailure', 'Once', 'running']);
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: genMeta(g, false),
    spec: compact({
      runStrategy: strategy === 'running' || strategy === 'none' ? undefined : strategy === 'both' ? 'Always' : strategy,
      running: strategy === 'running' || strategy === 'both' ? g.chance(0.5) : undefined,
      template: compact({ metadata: g.maybe(0.5, () => compact({ labels: { 'kubevirt.io/vm': 'vm-1' } })), spec: genVMISpec(g) }),
    }),
  };
}

// ---- the handler and the launcher, as they would run ---------------------

/** Where a launch-path step threw, and what. */
interface Failure {
  stage: string;
  error: unknown;
  /** The VMI's "<namespace>_<name>", which messages may carry. */
  domain: string;
}

let uidCounter = 0;
function newUid(): string {
  uidCounter++;
  return `00000000-0000-4000-8000-${uidCounter.toString(16).padStart(12, '0')}`;
}

/**
 * Apply (handler/api/node-server.ts): validate, default, plan the pod network.
 * Refused with field errors is a good outcome; any other throw is a failure.
 */
function admit(o: Json): { obj: Json } | { failure: Failure } | { refused: InvalidSpecError } {
  try {
    validate(o, NETWORKING);
    const obj = applyDefaults(o as any, NETWORKING) as Json;
    const uid = obj.metadata.uid ?? '00000000-0000-0000-0000-000000000000';
    const planned = { ...obj, metadata: { ...obj.metadata, uid } };
    const vmi = obj.kind === 'VirtualMachine' ? vmiFromVM(planned as VirtualMachine, uid) : (planned as VirtualMachineInstance);
    planPodNetwork(podNetworkRequest(vmi, '/'), NODE);
    return { obj };
  } catch (error) {
    if (error instanceof InvalidSpecError) return { refused: error };
    return { failure: { stage: 'Apply', error, domain: `${o.metadata?.namespace ?? 'default'}_${o.metadata?.name}` } };
  }
}

/** The VMIs the handler would run for an admitted object, each under a label. */
function vmisOf(obj: Json): [string, VirtualMachineInstance][] {
  if (obj.kind === 'VirtualMachineInstance') {
    // store.create gives every stored object a new uid, whatever it said.
    const vmi = structuredClone(obj) as VirtualMachineInstance;
    vmi.metadata.uid = newUid();
    return [['VMI', vmi]];
  }
  const vm = structuredClone(obj) as VirtualMachine;
  vm.metadata.uid = newUid();
  // The VM controller makes the VMI with the networking defaults, as a VMI applied
  // directly is defaulted.
  return [['VM→VMI', vmiFromVM(vm, newUid(), NETWORKING)]];
}

/**
 * What the handler computes from the spec before it makes anything: the VM cgroup's
 * limits (cgroupLimits in handler/controller/vmi-prepare.ts, checked by limitWrites
 * when the sandbox is made) and the size of each empty disk.
 */
function prepare(vmi: VirtualMachineInstance): void {
  // The handler's own computation, as prepareVmi makes the sandbox with it.
  const limits = cgroupLimits(vmi, { accelerator: 'tcg', softwareEmulation: true });
  limitWrites(1, limits);
  limitWrites(2, limits);
  for (const v of vmi.spec.volumes ?? []) {
    if (!v.emptyDisk) continue;
    // createEmptyDisk (handler/images/overlay.ts) takes a positive safe integer.
    const size = Number(quantityToBytes(v.emptyDisk.capacity, `spec.volumes[${v.name}].emptyDisk.capacity`));
    if (!Number.isSafeInteger(size) || size <= 0) throw new VirtnodeError('VN_INVALID_SPEC', `empty disk size ${size} must be a positive whole number of bytes`);
    // qemu-img 7.2 makes qcow2 images of at most 2 PiB (64 KiB clusters): "The image size is too large for file format 'qcow2'".
    if (size > QCOW2_MAX_BYTES) throw new Error(`qemu-img create -f qcow2 of ${size} bytes: the image size is too large for file format 'qcow2'`);
  }
}

/** The LaunchContext prepareVmi would send, from the pod network plan. */
function launchContext(g: Gen, vmi: VirtualMachineInstance, plan: PlannedInterface[], accelerator: 'tcg' | 'kvm'): LaunchContext {
  const volumes: LaunchContext['volumes'] = {};
  for (const v of vmi.spec.volumes ?? []) {
    if (v.cloudInitNoCloud || v.cloudInitConfigDrive) {
      // vmi-prepare.ts writes the ISO: a raw file.
      volumes[v.name] = { path: `${DISK_DIR}/${v.name}.iso`, format: 'raw' };
      continue;
    }
    if (!v.containerDisk && !v.emptyDisk) continue;
    volumes[v.name] = {
      path: `${DISK_DIR}/${v.name}.qcow2`,
      format: 'qcow2',
      // Not sent by today's handler, but in the contract: the launcher must take both.
      ...(v.containerDisk && g.chance(0.3) ? { backing: { path: `/var/lib/vn/images/${v.name}.img`, format: g.pick(['raw', 'qcow2'] as const) } } : {}),
      ...(g.chance(0.3) ? { directIo: true } : {}),
    };
  }
  // prepareKernel: pullKernelBoot gives a kernel only for kernelPath, an initrd only for initrdPath.
  const c = vmi.spec.domain.firmware?.kernelBoot?.container;
  const kernelBoot = c ? { kernel: c.kernelPath ? '/var/lib/vn/images/blobs/kernel' : undefined, initrd: c.initrdPath ? '/var/lib/vn/images/blobs/initrd' : undefined } : undefined;
  const interfaces: NonNullable<LaunchContext['interfaces']> = {};
  for (const p of plan) {
    // pod-network.ts: the spec's MAC, else a stable one (masquerade) or the pod's (bridge).
    const mac = p.macAddress ?? (p.binding === 'masquerade' ? stableMac(`${vmi.metadata.uid}/${p.name}`, QEMU_OUI) : stableMac(`${vmi.metadata.uid}/eth0`, LOCAL_OUI));
    interfaces[p.name] = { tapName: POD_TAP, multiQueue: p.multiQueue, mac };
  }
  // prepareVmi: where the NVRAM and TPM state live (deviceStateOf).
  const deviceState = deviceStateOf(vmi, DISK_DIR, new VmStateDirs('/var/lib/vn'));
  return { runDir: RUN_DIR, accelerator, volumes, ...(kernelBoot ? { kernelBoot } : {}), interfaces, netns: '/run/netns/vn-000000000001', ...(deviceState ? { deviceState } : {}) };
}

/**
 * openInterfaceTaps (launcher/domain/manager.ts): fds from 3, tapQueueCount queues
 * for a multi-queue tap. The kernel's tun driver opens at most MAX_TAP_QUEUES queues
 * of one tap (TUNSETIFF fails with EINVAL beyond).
 */
function tapFds(vmi: VirtualMachineInstance, ctx: LaunchContext): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  let next = 3;
  for (const [name, p] of Object.entries(ctx.interfaces ?? {})) {
    const queues = tapQueueCount(p.multiQueue ?? false, vcpuCount(vmi.spec));
    if (queues > MAX_TAP_QUEUES) throw new Error(`interface ${JSON.stringify(name)}: ${queues} tap queues, more than the kernel's ${MAX_TAP_QUEUES}`);
    out[name] = Array.from({ length: queues }, () => next++);
  }
  return out;
}

/** What the installed QEMU lists for `-machine help` or `-cpu help`, or undefined without one. */
function qemuHelp(what: '-machine' | '-cpu'): string[] | undefined {
  try {
    const out = execFileSync('qemu-system-x86_64', [what, 'help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return what === '-machine' ? out.split('\n').map((l) => l.split(/\s+/)[0]!) : out.split('\n').filter((l) => l.startsWith('x86 ')).map((l) => l.split(/\s+/)[1]!);
  } catch {
    return undefined;
  }
}
const QEMU_MACHINES = qemuHelp('-machine')?.filter((t) => /^(q35|pc-q35-)/.test(t));
const QEMU_CPUS = qemuHelp('-cpu');

/**
 * What QEMU 7.2 makes of a Domain the launcher built without a throw, where it fails
 * or quietly does otherwise (measured with its -machine help and qom-get): q35 takes
 * at most 288 vCPUs, a machine type and a CPU model must be ones it has ("host" under
 * KVM only), a bootindex is an int32, a
 * multicast NIC MAC is kept (and the guest driver refuses it) and 00:00:00:00:00:00
 * is replaced by its own.
 */
function qemuFacts(d: Domain): void {
  const vcpus = d.cpu.sockets * d.cpu.cores * d.cpu.threads;
  if (vcpus > 288) throw new Error(`-smp ${vcpus}: q35 takes at most 288 vCPUs`);
  if (QEMU_MACHINES && !QEMU_MACHINES.includes(d.machine.type)) throw new Error(`-machine ${JSON.stringify(d.machine.type)}: unsupported machine type`);
  if (QEMU_CPUS && !QEMU_CPUS.includes(d.cpu.model)) throw new Error(`-cpu ${JSON.stringify(d.cpu.model)}: unable to find CPU model`);
  if (d.cpu.model === 'host' && d.accelerator !== 'kvm') throw new Error(`-cpu host: CPU model 'host' requires KVM`);
  for (const dev of [...d.disks, ...d.interfaces]) {
    if (dev.bootIndex !== undefined && dev.bootIndex > 2 ** 31 - 1) throw new Error(`${JSON.stringify(dev.name)}: Parameter 'bootindex' expects int32_t`);
  }
  // Disks, as QEMU 7.2 takes them (its -device help and refusals, measured).
  const slots = new Set<number>();
  for (const k of d.disks) {
    const at = `disk ${JSON.stringify(k.name)}`;
    const a = k.address;
    if (k.io === 'native' && k.cache !== 'none') throw new Error(`${at}: aio=native was specified, but it requires cache.direct=on`);
    if (k.device === 'cdrom' && a.bus !== 'sata' && a.bus !== 'scsi') throw new Error(`${at}: no ${a.bus} CD-ROM device`);
    if (k.device === 'lun' && (a.bus !== 'scsi' || !k.blockDevice)) throw new Error(`${at}: scsi-block needs a SCSI bus and a host block device`);
    if (a.bus === 'sata' && k.device === 'disk' && k.readonly) throw new Error(`${at}: ide-hd: Can't use a read-only drive`);
    if (a.bus === 'usb' && (a.port < 1 || a.port > 15)) throw new Error(`${at}: qemu-xhci p2=15,p3=15 has no USB port ${a.port}`);
    if (a.bus === 'virtio' && a.pciSlot !== undefined) {
      if (a.pciSlot === 0 || a.pciSlot >= 0x1f || slots.has(a.pciSlot)) throw new Error(`${at}: PCI: slot ${a.pciSlot} function 0 not available`);
      slots.add(a.pciSlot);
    }
    if (k.queues !== undefined && (k.queues < 1 || k.queues > 1024)) throw new Error(`${at}: num-queues ${k.queues}`);
    const b = k.blockIO;
    if (b) {
      for (const size of [b.logical, b.physical]) {
        if (size < 512 || size > 2 ** 21 || (size & (size - 1)) !== 0) throw new Error(`${at}: block size ${size}: a power of two between 512 B and 2 MiB`);
      }
      if (b.logical > b.physical) throw new Error(`${at}: logical_block_size > physical_block_size not supported`);
      if (a.bus === 'sata' && b.logical !== 512) throw new Error(`${at}: logical_block_size must be 512 for IDE`);
      if (a.bus === 'sata' && b.discardGranularity !== undefined && b.discardGranularity !== 512) throw new Error(`${at}: discard_granularity must be 512 for ide`);
      if (b.discardGranularity !== undefined && b.discardGranularity >= 2 ** 32 - 1) throw new Error(`${at}: discard_granularity ${b.discardGranularity} is not a 32-bit size`);
    }
  }
  if (d.ioThreads.length > 1024) throw new Error(`${d.ioThreads.length} iothreads: more host threads than the VM's pids limit leaves`);
  for (const n of d.interfaces) {
    if (n.mac === undefined) continue;
    if (parseInt(n.mac.slice(0, 2), 16) & 1) throw new Error(`NIC ${JSON.stringify(n.name)}: multicast MAC ${n.mac}, which the guest driver refuses`);
    if (n.mac === '00:00:00:00:00:00') throw new Error(`NIC ${JSON.stringify(n.name)}: QEMU replaces the MAC ${n.mac} with its own`);
  }
}

/** Runs everything after Apply; returns the first failure, or undefined. */
function launch(g: Gen, obj: Json): Failure | undefined {
  for (const [label, vmi] of vmisOf(obj)) {
    let step = `${label}: handler prepare`;
    try {
      const plan = planPodNetwork(podNetworkRequest(vmi, RUN_DIR), NODE);
      prepare(vmi);
      for (const accelerator of ['tcg', 'kvm'] as const) {
        step = `${label}: launcher opens taps (${accelerator})`;
        const ctx = launchContext(g, vmi, plan, accelerator);
        const fds = tapFds(vmi, ctx);
        step = `${label}: launcher (${accelerator})`;
        const domain = vmiToDomain(vmi, ctx, fds);
        buildArgv(domain);
        step = `${label}: QEMU (${accelerator})`;
        qemuFacts(domain);
      }
    } catch (error) {
      return { stage: step, error, domain: `${vmi.metadata.namespace}_${vmi.metadata.name}` };
    }
  }
  return undefined;
}

function explain(e: unknown): string {
  if (e instanceof VirtnodeError) return `${e.code}: ${e.message}`;
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** One (stage, error) per kind of failure: the error text without the quoted values that vary. */
function signature(f: Failure): string {
  const text = explain(f.error).replaceAll(f.domain, '<name>').replace(/\b(VirtualMachine|VirtualMachineInstance|VMI) \S+/g, '$1 <name>');
  return `${f.stage.replace(/^[^:]*: /, '')} | ${text.replace(/"[^"]*"|'[^']*'|\d+/g, '…')}`;
}

/**
 * Drops members of a failing manifest, one at a time, while Apply still accepts it and
 * it still fails the same way: what is left names the cause.
 */
function shrink(o: Json, sig: string): Json {
  let cur = structuredClone(o);
  const fails = (c: Json): boolean => {
    const admitted = admit(c);
    if ('refused' in admitted) return false;
    const f = 'failure' in admitted ? admitted.failure : launch(new Gen(1), admitted.obj);
    return f !== undefined && signature(f) === sig;
  };
  for (let changed = true; changed; ) {
    changed = false;
    const all = paths(cur);
    // An interface and its network go together, or neither goes.
    const pairs = all.filter((p) => p[p.length - 1] === 'interfaces' || p[p.length - 1] === 'networks');
    for (const removal of [pairs, ...all.map((p) => [p])]) {
      if (removal.length === 0) continue;
      const next = structuredClone(cur);
      for (const path of [...removal].reverse()) removeAt(next, path);
      if (fails(next)) {
        cur = next;
        changed = true;
        break;
      }
    }
  }
  return cur;
}

function paths(o: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof o !== 'object' || o === null) return [];
  const out: (string | number)[][] = [];
  for (const [k, v] of Object.entries(o)) {
    const key = Array.isArray(o) ? Number(k) : k;
    if (prefix.length === 0 && (k === 'kind' || k === 'apiVersion')) continue;
    out.push([...prefix, key], ...paths(v, [...prefix, key]));
  }
  return out;
}

function removeAt(o: Json, path: (string | number)[]): void {
  let cur: any = o;
  for (const k of path.slice(0, -1)) cur = cur[k];
  const last = path[path.length - 1]!;
  if (Array.isArray(cur)) cur.splice(last as number, 1);
  else delete cur[last];
}

interface Found {
  manifest: Json;
  failure: Failure;
  count: number;
}

interface Run {
  vms: number;
  accepted: number;
  acceptedVms: number;
  ms: number;
  failures: Map<string, Found>;
  /** Field errors of refused objects, by field: what the grammar exercises. */
  refusals: Map<string, number>;
}

let run: Run | undefined;
function runOnce(): Run {
  if (run) return run;
  const g = new Gen(SEED);
  const t0 = performance.now();
  const r: Run = { vms: 0, accepted: 0, acceptedVms: 0, ms: 0, failures: new Map(), refusals: new Map() };
  for (let i = 0; i < COUNT; i++) {
    const o = genObject(g);
    if (o.kind === 'VirtualMachine') r.vms++;
    const admitted = admit(o);
    if ('refused' in admitted) {
      for (const f of admitted.refused.fields) {
        const field = f.path.replace(/\[\d+\]/g, '[]').replace(/^spec\.template\./, '');
        r.refusals.set(field, (r.refusals.get(field) ?? 0) + 1);
      }
      continue;
    }
    r.accepted++;
    if (o.kind === 'VirtualMachine') r.acceptedVms++;
    const f = 'failure' in admitted ? admitted.failure : launch(g, admitted.obj);
    if (!f) continue;
    const sig = signature(f);
    const seen = r.failures.get(sig);
    if (seen) seen.count++;
    else r.failures.set(sig, { manifest: o, failure: f, count: 1 });
  }
  r.ms = Math.round(performance.now() - t0);
  const top = [...r.refusals].sort((a, b) => b[1] - a[1]).slice(0, 12);
  console.log(`seed ${SEED}: ${COUNT} objects (${r.vms} VMs), ${r.accepted} accepted by Apply (${r.acceptedVms} VMs), ${r.failures.size} kinds of launch failure, ${r.ms} ms`);
  console.log(`refused most often at: ${top.map(([f, n]) => `${f} ${n}`).join(', ')}`);
  return (run = r);
}

function report(found: [string, Found][]): string {
  return found
    .map(([sig, { manifest, failure, count }]) => {
      return `\n--- ${failure.stage} (${count}×): ${explain(failure.error)}\n${JSON.stringify(shrink(manifest, sig), null, 1)}`;
    })
    .join('\n');
}

test(`admission and the launcher agree: every object Apply accepts converts (seed ${SEED})`, () => {
  const r = runOnce();
  const found = [...r.failures.entries()];
  assert.equal(found.length, 0, `seed ${SEED} (PROP_SEED=${SEED} to repeat): ${found.length} kinds of object pass Apply and fail at launch:${report(found)}`);
  // Not vacuous: a good share of what is drawn gets through Apply, VMs and VMIs both.
  assert.ok(r.accepted >= COUNT * 0.3, `only ${r.accepted} of ${COUNT} objects were accepted`);
  assert.ok(r.acceptedVms >= r.vms * 0.2, `only ${r.acceptedVms} of ${r.vms} VMs were accepted`);
});

test("admission's machine types and CPU models are the installed QEMU's", { skip: QEMU_MACHINES && QEMU_CPUS ? false : 'no qemu-system-x86_64 here' }, () => {
  // pc-q35-4.0.1 is left out on purpose (devices.ts).
  const versioned = QEMU_MACHINES!.filter((t) => t !== 'q35' && /^pc-q35-\d+\.\d+$/.test(t)).sort();
  assert.deepEqual([...MACHINE_TYPES].filter((t) => t !== 'q35').sort(), versioned);
  assert.ok(QEMU_MACHINES!.includes('q35'));
  assert.deepEqual([...QEMU_CPU_MODELS].sort(), QEMU_CPUS!.filter((m) => m !== 'host').sort());
});
