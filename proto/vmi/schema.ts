// virtnode's side of the kubevirt.io/v1 field names: per object type, each field
// marked with what virtnode does with it. The shape walker (shape.ts) reads this
// table beside KubeVirt's own schema (kubevirt-openapi.ts, derived from its
// swagger.json): a name listed here is checked as marked; a name not listed is
// "not supported yet" when KubeVirt's type has it and "unknown field" (kubectl's
// strict decoding words) when it does not. So a field virtnode does not implement
// needs no entry, unless its refusal says more (no('...')). Supporting a field
// later is an entry here plus its rule in a validate-*.ts module.
// test/unit/vmi-schema.test.ts checks every name here against KubeVirt's schema.
//
// Only the types virtnode descends into are listed: below a field not implemented
// nothing is read.

import { kubevirtFields } from './kubevirt-schema.js';

/** Options the walker consults for gated fields. */
export interface GateOptions {
  podNetworking: boolean;
}

export type Leaf = 'string' | 'bool' | 'int' | 'quantity' | 'stringMap' | 'resourceList';

export type FieldKind =
  | { leaf: Leaf }
  | { obj: string }
  | { list: string; gate?: keyof GateOptions }
  /** Known to kubevirt.io/v1, not implemented by virtnode yet, refused with a reason. */
  | { no: true; why: string }
  /** Set by the server (or a reader's `get -o yaml`): dropped on input, never an error. */
  | { ignored: true }
  /** Removed from KubeVirt; refused with KubeVirt's own words. */
  | { gone: string };

const S: FieldKind = { leaf: 'string' };
const B: FieldKind = { leaf: 'bool' };
const I: FieldKind = { leaf: 'int' };
const Q: FieldKind = { leaf: 'quantity' };
const MAP: FieldKind = { leaf: 'stringMap' };
const RES: FieldKind = { leaf: 'resourceList' };
const IGN: FieldKind = { ignored: true };
const obj = (t: string): FieldKind => ({ obj: t });
const list = (t: string, gate?: keyof GateOptions): FieldKind => (gate ? { list: t, gate } : { list: t });
const no = (why: string): FieldKind => ({ no: true, why });

/** Messages of the gates, keyed like GateOptions. */
export const GATE_MESSAGES: Record<keyof GateOptions, string> = {
  podNetworking: 'not supported on this node: it provides no pod network',
};

/** cloudInitNoCloud and cloudInitConfigDrive take the same fields. */
const CLOUD_INIT_SOURCE: Record<string, FieldKind> = {
  userData: S,
  userDataBase64: S,
  networkData: S,
  networkDataBase64: S,
  secretRef: no('not supported yet: standalone virtnode has no Secrets yet; give the user data inline (userData or userDataBase64)'),
  networkDataSecretRef: no('not supported yet: standalone virtnode has no Secrets yet; give the network data inline (networkData or networkDataBase64)'),
};

const serverSetMeta = {
  creationTimestamp: IGN,
  resourceVersion: IGN,
  generation: IGN,
  managedFields: IGN,
  selfLink: IGN,
  deletionTimestamp: IGN,
  deletionGracePeriodSeconds: IGN,
};

export const SCHEMA: Record<string, Record<string, FieldKind>> = {
  VirtualMachine: { apiVersion: S, kind: S, metadata: obj('ObjectMeta'), spec: obj('VirtualMachineSpec'), status: IGN },
  VirtualMachineInstance: { apiVersion: S, kind: S, metadata: obj('ObjectMeta'), spec: obj('VirtualMachineInstanceSpec'), status: IGN },

  ObjectMeta: {
    name: S,
    namespace: S,
    labels: MAP,
    annotations: MAP,
    // The handler's store assigns uids; one given on input is accepted and replaced there.
    uid: S,
    ...serverSetMeta,
  },
  // spec.template.metadata: the VMI takes its name, namespace and uid from the VM.
  TemplateMeta: { labels: MAP, annotations: MAP, ...serverSetMeta },

  VirtualMachineSpec: {
    runStrategy: S,
    running: B,
    template: obj('VirtualMachineInstanceTemplateSpec'),
    instancetype: obj('InstancetypeMatcher'),
    preference: obj('PreferenceMatcher'),
  },
  // Judged by proto/instancetype/matcher.ts, and expanded by the handler before the template is.
  InstancetypeMatcher: { name: S, kind: S, revisionName: S, inferFromVolume: S, inferFromVolumeFailurePolicy: S },
  PreferenceMatcher: { name: S, kind: S, revisionName: S, inferFromVolume: S, inferFromVolumeFailurePolicy: S },
  VirtualMachineInstanceTemplateSpec: { metadata: obj('TemplateMeta'), spec: obj('VirtualMachineInstanceSpec') },

  VirtualMachineInstanceSpec: {
    domain: obj('DomainSpec'),
    volumes: list('Volume'),
    networks: list('Network', 'podNetworking'),
    terminationGracePeriodSeconds: I,
    hostname: S,
    subdomain: S,
    nodeSelector: MAP,
    evictionStrategy: S,
    architecture: S,
  },

  DomainSpec: {
    resources: obj('ResourceRequirements'),
    cpu: obj('CPU'),
    memory: obj('Memory'),
    machine: obj('Machine'),
    firmware: obj('Firmware'),
    features: obj('Features'),
    clock: obj('Clock'),
    chassis: obj('Chassis'),
    devices: obj('Devices'),
    ioThreadsPolicy: S,
    ioThreads: obj('DiskIOThreads'),
  },
  DiskIOThreads: { supplementalPoolThreadCount: I },
  ResourceRequirements: { requests: RES, limits: RES, overcommitGuestOverhead: B },
  CPU: { cores: I, sockets: I, threads: I, model: S, features: list('CPUFeature') },
  CPUFeature: { name: S, policy: S },
  Memory: { guest: Q },
  Machine: { type: S },
  Firmware: {
    uuid: S,
    serial: S,
    bootloader: obj('Bootloader'),
    kernelBoot: obj('KernelBoot'),
    acpi: no('not supported yet: SLIC and MSDM tables come from a Secret volume, which standalone virtnode does not have yet'),
  },
  Bootloader: { bios: obj('BIOS'), efi: obj('EFI') },
  BIOS: { useSerial: B },
  EFI: { secureBoot: B, persistent: B },
  KernelBoot: { container: obj('KernelBootContainer'), kernelArgs: S },
  KernelBootContainer: { image: S, imagePullPolicy: S, kernelPath: S, initrdPath: S },
  Features: { acpi: obj('FeatureState'), apic: obj('FeatureAPIC'), kvm: obj('FeatureKVM'), pvspinlock: obj('FeatureState'), hyperv: obj('FeatureHyperv'), hypervPassthrough: obj('HyperVPassthrough'), smm: obj('FeatureState') },
  FeatureState: { enabled: B },
  FeatureAPIC: { enabled: B, endOfInterrupt: B },
  FeatureKVM: { hidden: B },
  HyperVPassthrough: { enabled: B },
  FeatureHyperv: {
    relaxed: obj('FeatureState'), vapic: obj('FeatureState'), spinlocks: obj('FeatureSpinlocks'), vpindex: obj('FeatureState'),
    runtime: obj('FeatureState'), synic: obj('FeatureState'), synictimer: obj('SyNICTimer'), reset: obj('FeatureState'),
    vendorid: obj('FeatureVendorID'), frequencies: obj('FeatureState'), reenlightenment: obj('FeatureState'),
    tlbflush: obj('TLBFlush'), ipi: obj('FeatureState'), evmcs: obj('FeatureState'),
  },
  FeatureSpinlocks: { enabled: B, spinlocks: I },
  FeatureVendorID: { enabled: B, vendorid: S },
  SyNICTimer: { enabled: B, direct: obj('FeatureState') },
  TLBFlush: { enabled: B, direct: obj('FeatureState'), extended: obj('FeatureState') },
  Clock: { utc: obj('ClockOffsetUTC'), timezone: S, timer: obj('Timer') },
  ClockOffsetUTC: { offsetSeconds: I },
  Timer: { hpet: obj('HPETTimer'), pit: obj('PITTimer'), rtc: obj('RTCTimer'), kvm: obj('KVMTimer'), hyperv: obj('HypervTimer') },
  HPETTimer: { present: B, tickPolicy: S },
  PITTimer: { present: B, tickPolicy: S },
  RTCTimer: { present: B, tickPolicy: S, track: S },
  KVMTimer: { present: B },
  HypervTimer: { present: B },
  Chassis: { manufacturer: S, version: S, serial: S, asset: S, sku: S },

  Devices: {
    disks: list('Disk'),
    interfaces: list('Interface', 'podNetworking'),
    rng: obj('Rng'),
    autoattachPodInterface: B,
    autoattachGraphicsDevice: B,
    autoattachSerialConsole: B,
    logSerialConsole: B,
    autoattachMemBalloon: B,
    networkInterfaceMultiqueue: B,
    blockMultiQueue: B,
    disableHotplug: B,
    tpm: obj('TPMDevice'),
  },
  TPMDevice: { enabled: B, persistent: B },
  Disk: {
    name: S,
    disk: obj('DiskTarget'),
    cdrom: obj('CDRomTarget'),
    lun: obj('LunTarget'),
    bootOrder: I,
    serial: S,
    dedicatedIOThread: B,
    cache: S,
    io: S,
    tag: S,
    blockSize: obj('BlockSize'),
    shareable: B,
    errorPolicy: S,
  },
  DiskTarget: { bus: S, readonly: B, pciAddress: S },
  CDRomTarget: { bus: S, readonly: B, tray: S },
  LunTarget: { bus: S, readonly: B, reservation: B },
  BlockSize: { custom: obj('CustomBlockSize'), matchVolume: obj('FeatureState') },
  CustomBlockSize: { logical: I, physical: I, discardGranularity: I },
  Rng: {},

  Interface: {
    name: S,
    model: S,
    macAddress: S,
    masquerade: obj('Empty'),
    bridge: obj('Empty'),
    ports: list('Port'),
    slirp: { gone: 'Slirp interface support has been discontinued since v1.3' },
    passt: { gone: 'Passt network binding has been discontinued since v1.3' },
    macvtap: { gone: 'Macvtap network binding has been discontinued since v1.3' },
  },
  Port: { name: S, port: I, protocol: S },
  Network: { name: S, pod: obj('PodNetwork') },
  PodNetwork: { vmNetworkCIDR: S, vmIPv6NetworkCIDR: no('not supported yet: virtnode pod networks are IPv4 only') },
  Empty: {},

  Volume: {
    name: S,
    containerDisk: obj('ContainerDiskSource'),
    emptyDisk: obj('EmptyDiskSource'),
    cloudInitNoCloud: obj('CloudInitNoCloudSource'),
    cloudInitConfigDrive: obj('CloudInitConfigDriveSource'),
    hostDisk: obj('HostDisk'),
    persistentVolumeClaim: obj('PersistentVolumeClaimVolumeSource'),
  },
  PersistentVolumeClaimVolumeSource: { claimName: S, readOnly: B, hotpluggable: no('not supported yet: a claim is attached at start (hot-plug takes hostDisk volumes)') },
  ContainerDiskSource: { image: S, imagePullPolicy: S, path: S },
  EmptyDiskSource: { capacity: Q },
  HostDisk: { path: S, type: S, capacity: Q, shared: B },
  CloudInitNoCloudSource: CLOUD_INIT_SOURCE,
  CloudInitConfigDriveSource: CLOUD_INIT_SOURCE,
};

/** Every volume source kubevirt.io/v1 knows: a volume must set exactly one. */
export const VOLUME_SOURCES = Object.keys(kubevirtFields('v1.Volume')).filter((k) => k !== 'name');

/** Resource names virtnode reads from requests/limits; others are real but not implemented. */
export const RESOURCE_NAMES = ['cpu', 'memory'] as const;
