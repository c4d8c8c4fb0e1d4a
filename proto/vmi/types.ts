// The kubevirt.io/v1 VirtualMachine and VirtualMachineInstance shapes virtnode reads
// and writes, named exactly as in KubeVirt's api/core/v1/types.go so a manifest
// written for KubeVirt means the same here. Only the fields virtnode knows are
// typed; validation (validate.ts) refuses the rest by path, never silently.

export const API_VERSION = 'kubevirt.io/v1';
export const KIND_VM = 'VirtualMachine';
export const KIND_VMI = 'VirtualMachineInstance';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

// ---- spec ---------------------------------------------------------------

/** A Kubernetes quantity as written ("64M", "1Gi", "500m", 2). */
export type Quantity = string | number;

export interface ResourceRequirements {
  requests?: { memory?: Quantity; cpu?: Quantity };
  limits?: { memory?: Quantity; cpu?: Quantity };
  overcommitGuestOverhead?: boolean;
}

export type CpuFeaturePolicy = 'force' | 'require' | 'optional' | 'disable' | 'forbid';

export interface CPUFeature {
  name: string;
  /** Empty or absent: require (KubeVirt's default). */
  policy?: CpuFeaturePolicy | '';
}

export interface CPU {
  cores?: number;
  sockets?: number;
  threads?: number;
  model?: string;
  features?: CPUFeature[];
}

export interface Memory {
  guest?: Quantity;
}

export interface Machine {
  type?: string;
}

export interface KernelBoot {
  kernelArgs?: string;
  container?: {
    image: string;
    imagePullPolicy?: PullPolicy;
    kernelPath?: string;
    initrdPath?: string;
  };
}

export interface Firmware {
  uuid?: string;
  serial?: string;
  bootloader?: Bootloader;
  kernelBoot?: KernelBoot;
}

export interface Bootloader {
  /** SeaBIOS; useSerial: its messages on the serial console (sgabios). */
  bios?: { useSerial?: boolean };
  /** OVMF. secureBoot unset means on (KubeVirt's amd64 rule); persistent keeps the NVRAM with the VM. */
  efi?: { secureBoot?: boolean; persistent?: boolean };
}

export interface FeatureState {
  enabled?: boolean;
}

export interface Features {
  acpi?: FeatureState;
  apic?: { enabled?: boolean; endOfInterrupt?: boolean };
  kvm?: { hidden?: boolean };
  pvspinlock?: FeatureState;
  hyperv?: FeatureHyperv;
  hypervPassthrough?: { enabled?: boolean };
  /** System Management Mode: -machine smm=on|off. */
  smm?: FeatureState;
}

/** KubeVirt's Hyper-V enlightenments; each maps to one hv-* CPU flag. */
export interface FeatureHyperv {
  relaxed?: FeatureState;
  vapic?: FeatureState;
  spinlocks?: { enabled?: boolean; spinlocks?: number };
  vpindex?: FeatureState;
  runtime?: FeatureState;
  synic?: FeatureState;
  synictimer?: { enabled?: boolean; direct?: FeatureState };
  reset?: FeatureState;
  vendorid?: { enabled?: boolean; vendorid?: string };
  frequencies?: FeatureState;
  reenlightenment?: FeatureState;
  tlbflush?: { enabled?: boolean; direct?: FeatureState; extended?: FeatureState };
  ipi?: FeatureState;
  evmcs?: FeatureState;
}

export type TickPolicy = 'delay' | 'catchup' | 'merge' | 'discard';

export interface Clock {
  utc?: { offsetSeconds?: number };
  timezone?: string;
  timer?: {
    hpet?: { present?: boolean; tickPolicy?: TickPolicy };
    pit?: { present?: boolean; tickPolicy?: TickPolicy };
    rtc?: { present?: boolean; tickPolicy?: TickPolicy; track?: 'guest' | 'wall' };
    kvm?: { present?: boolean };
    hyperv?: { present?: boolean };
  };
}

/** SMBIOS type 3. */
export interface Chassis {
  manufacturer?: string;
  version?: string;
  serial?: string;
  asset?: string;
  sku?: string;
}

/** A TPM 2.0 (swtpm); enabled unset means on, persistent keeps its state with the VM. */
export interface TPMDevice {
  enabled?: boolean;
  persistent?: boolean;
}

export type DiskBus = 'virtio' | 'sata' | 'scsi' | 'usb';

export interface Disk {
  name: string;
  disk?: { bus?: DiskBus; readonly?: boolean; pciAddress?: string };
  cdrom?: { bus?: DiskBus; readonly?: boolean; tray?: 'open' | 'closed' };
  lun?: { bus?: DiskBus; readonly?: boolean; reservation?: boolean };
  bootOrder?: number;
  serial?: string;
  dedicatedIOThread?: boolean;
  cache?: 'none' | 'writethrough' | 'writeback';
  io?: 'native' | 'threads';
  /** Device role tagging for the guest's config drive metadata (KubeVirt reads it for interfaces only). */
  tag?: string;
  blockSize?: BlockSize;
  shareable?: boolean;
  errorPolicy?: 'stop' | 'ignore' | 'report' | 'enospace';
}

export interface BlockSize {
  custom?: { logical?: number; physical?: number; discardGranularity?: number };
  matchVolume?: FeatureState;
}

export interface Interface {
  name: string;
  model?: string;
  macAddress?: string;
  masquerade?: Record<string, never>;
  bridge?: Record<string, never>;
  ports?: Port[];
  pciAddress?: string;
  bootOrder?: number;
}

export interface Port {
  name?: string;
  protocol?: 'TCP' | 'UDP';
  port: number;
}

export interface Devices {
  disks?: Disk[];
  interfaces?: Interface[];
  rng?: Record<string, never>;
  autoattachPodInterface?: boolean;
  /** A VGA device and a VNC display; unset means attached, as in KubeVirt. */
  autoattachGraphicsDevice?: boolean;
  autoattachSerialConsole?: boolean;
  /** The launcher keeps a bounded log of the serial console; unset means on (KubeVirt's cluster default). */
  logSerialConsole?: boolean;
  autoattachMemBalloon?: boolean;
  networkInterfaceMultiqueue?: boolean;
  /** One virtio-blk queue per vCPU. */
  blockMultiQueue?: boolean;
  /** No virtio-scsi controller waits for hot-plugged disks (KubeVirt's disableHotplug). */
  disableHotplug?: boolean;
  tpm?: TPMDevice;
}

export interface DomainSpec {
  resources?: ResourceRequirements;
  cpu?: CPU;
  memory?: Memory;
  machine?: Machine;
  firmware?: Firmware;
  features?: Features;
  clock?: Clock;
  chassis?: Chassis;
  devices: Devices;
  ioThreadsPolicy?: 'shared' | 'auto' | 'supplementalPool';
  ioThreads?: { supplementalPoolThreadCount?: number };
}

export type PullPolicy = 'Always' | 'IfNotPresent' | 'Never';

export interface ContainerDiskSource {
  image: string;
  imagePullPolicy?: PullPolicy;
  /** Path of the disk inside the image; default: the single file under /disk/. */
  path?: string;
}

export interface EmptyDiskSource {
  capacity: Quantity;
}

/** cloudInitNoCloud and cloudInitConfigDrive (KubeVirt's CloudInitNoCloudSource / CloudInitConfigDriveSource). */
export interface CloudInitSource {
  userData?: string;
  userDataBase64?: string;
  networkData?: string;
  networkDataBase64?: string;
  secretRef?: { name?: string };
  networkDataSecretRef?: { name?: string };
}

/** A file of the node (KubeVirt's HostDisk): one that exists (Disk), or one made once if missing (DiskOrCreate). */
export interface HostDisk {
  path: string;
  type: 'Disk' | 'DiskOrCreate';
  /** DiskOrCreate: the size of the file it makes (aligned down to 1 MiB). */
  capacity?: Quantity;
  /** Other VMIs may hold it writable too when they set shared as well. */
  shared?: boolean;
}

/** A claim of the VMI's namespace; its disk is the claim's disk.img (handler/storage/). */
export interface PersistentVolumeClaimVolumeSource {
  claimName: string;
  readOnly?: boolean;
}

export interface Volume {
  name: string;
  containerDisk?: ContainerDiskSource;
  emptyDisk?: EmptyDiskSource;
  hostDisk?: HostDisk;
  persistentVolumeClaim?: PersistentVolumeClaimVolumeSource;
  cloudInitNoCloud?: CloudInitSource;
  cloudInitConfigDrive?: CloudInitSource;
}

export interface Network {
  name: string;
  pod?: { vmNetworkCIDR?: string; vmIPv6NetworkCIDR?: string };
  multus?: Record<string, unknown>;
}

export interface VirtualMachineInstanceSpec {
  domain: DomainSpec;
  volumes?: Volume[];
  networks?: Network[];
  terminationGracePeriodSeconds?: number;
  hostname?: string;
  subdomain?: string;
  nodeSelector?: Record<string, string>;
  evictionStrategy?: string;
  /** amd64 only (validate-compute.ts); a preference may fill it. */
  architecture?: string;
}

// ---- status -------------------------------------------------------------

export type VMIPhase = 'Pending' | 'Scheduling' | 'Scheduled' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** Condition types virtnode sets, as KubeVirt names them. */
export type VMIConditionType = 'Ready' | 'Paused' | 'SoftwareEmulation' | 'AgentConnected' | 'AgentVersionNotSupported' | 'Provisioning' | 'Failure';

export interface Condition {
  type: VMIConditionType | string;
  status: ConditionStatus;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastProbeTime?: string | null;
}

export interface VMIInterfaceStatus {
  name?: string;
  /** The guest's name for it (from the guest agent). */
  interfaceName?: string;
  ipAddress?: string;
  ipAddresses?: string[];
  mac?: string;
  /** Where the entry came from, a comma list: "domain", "guest-agent", "domain, guest-agent". */
  infoSource?: string;
}

export interface VolumeStatus {
  name: string;
  /** The guest device: vda, vdb, ... (empty while a hot-plugged volume is not attached yet). */
  target?: string;
  /** Bytes. */
  size?: number;
  containerDiskVolume?: { checksum?: number };
  /** A hot-plugged volume's progress (KubeVirt's VolumePhase). */
  phase?: VolumePhase;
  reason?: string;
  message?: string;
  /** Set (empty: virtnode has no attachment pod) when the volume was hot-plugged. */
  hotplugVolume?: { attachPodName?: string; attachPodUID?: string };
}

/** KubeVirt's VolumePhase values a hot-plugged volume passes through here. */
export type VolumePhase = 'Pending' | 'Bound' | 'AttachedToNode' | 'MountedToPod' | 'Ready' | 'Detaching' | 'UnMountedFromPod';

export interface CpuTopologyStatus {
  sockets: number;
  cores: number;
  threads: number;
}

/** Quantities as KubeVirt writes them ("64M" stays "64M"; what QEMU reports is in bytes). */
export interface MemoryStatus {
  guestAtBoot?: string;
  guestCurrent?: string;
  guestRequested?: string;
}

export type QosClass = 'Guaranteed' | 'Burstable' | 'BestEffort';

export interface VirtualMachineInstanceStatus {
  phase: VMIPhase;
  reason?: string;
  conditions: Condition[];
  nodeName?: string;
  interfaces?: VMIInterfaceStatus[];
  volumeStatus?: VolumeStatus[];
  phaseTransitionTimestamps?: { phase: VMIPhase; phaseTransitionTimestamp: string }[];
  /** The machine type QEMU resolved ("q35" → "pc-q35-7.2"). */
  machine?: { type: string };
  currentCPUTopology?: CpuTopologyStatus;
  memory?: MemoryStatus;
  qosClass?: QosClass;
  /** DaemonSet mode: the launcher image the VMI runs with. */
  launcherContainerImageVersion?: string;
  /** What the guest agent reports of the guest OS. */
  guestOSInfo?: GuestOSInfo;
  /** "frozen" while a freeze (virtctl freeze) holds the guest's filesystems; absent otherwise. */
  fsFreezeStatus?: string;
}

/** kubevirt.io/v1 VirtualMachineInstanceGuestOSInfo. */
export interface GuestOSInfo {
  name?: string;
  kernelRelease?: string;
  version?: string;
  prettyName?: string;
  versionId?: string;
  kernelVersion?: string;
  machine?: string;
  id?: string;
}

export interface VirtualMachineInstance {
  apiVersion: string;
  kind: typeof KIND_VMI;
  metadata: ObjectMeta;
  spec: VirtualMachineInstanceSpec;
  status?: VirtualMachineInstanceStatus;
}

// ---- VirtualMachine -----------------------------------------------------

/** KubeVirt's InstancetypeMatcher / PreferenceMatcher. */
export interface Matcher {
  name?: string;
  kind?: string;
  revisionName?: string;
  inferFromVolume?: string;
  inferFromVolumeFailurePolicy?: 'Ignore' | 'Reject';
}

/** KubeVirt's InstancetypeStatusRef. */
export interface StatusRef {
  name?: string;
  kind?: string;
  controllerRevisionRef?: { name: string };
  inferFromVolume?: string;
  inferFromVolumeFailurePolicy?: 'Ignore' | 'Reject';
}

export type RunStrategy = 'Always' | 'RerunOnFailure' | 'Manual' | 'Halted' | 'Once';

export interface VirtualMachineInstanceTemplateSpec {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: VirtualMachineInstanceSpec;
}

export interface VirtualMachineSpec {
  runStrategy?: RunStrategy;
  /** An instance type (instancetype.kubevirt.io) that sizes the VMI; expanded when the VMI is made. */
  instancetype?: Matcher;
  /** A preference that fills what the template leaves unset; expanded when the VMI is made. */
  preference?: Matcher;
  /** Deprecated by KubeVirt in favour of runStrategy; mapped to Always/Halted. */
  running?: boolean;
  template: VirtualMachineInstanceTemplateSpec;
}

/** KubeVirt's printableStatus values shown by `virtnode get vms`. */
export type VMPrintableStatus =
  | 'Stopped'
  | 'Provisioning'
  | 'Starting'
  | 'Running'
  | 'Paused'
  | 'Stopping'
  | 'Terminating'
  | 'CrashLoopBackOff'
  | 'ErrorUnschedulable'
  | 'ErrImagePull'
  | 'ImagePullBackOff';

export interface VirtualMachineStatus {
  printableStatus: VMPrintableStatus;
  ready: boolean;
  created: boolean;
  conditions: Condition[];
  /** Why the VMI is wanted or not right now (start/stop requests as KubeVirt keeps them). */
  stateChangeRequests?: { action: 'Start' | 'Stop'; uid?: string }[];
  /** The runStrategy in force (spec.running mapped to Always/Halted). */
  runStrategy?: RunStrategy;
  /** metadata.generation of the VM, and the generation its running VMI was made from. */
  desiredGeneration?: number;
  observedGeneration?: number;
  /** A crash loop's back-off (KubeVirt's VirtualMachineStartFailure). */
  startFailure?: StartFailure;
  /** The instance type and preference the VM's VMI was made from, and their ControllerRevisions. */
  instancetypeRef?: StatusRef;
  preferenceRef?: StatusRef;
}

export interface StartFailure {
  consecutiveFailCount: number;
  retryAfterTimestamp: string;
  lastFailedVMIUID: string;
}

export interface VirtualMachine {
  apiVersion: string;
  kind: typeof KIND_VM;
  metadata: ObjectMeta;
  spec: VirtualMachineSpec;
  status?: VirtualMachineStatus;
}

export type KubeVirtObject = VirtualMachine | VirtualMachineInstance;
