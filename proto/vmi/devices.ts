// The device vocabulary admission (validate-*.ts) and the launcher's device modules
// share, one table per fact: what admission accepts is exactly what the launcher can
// build, so a VMI never passes Apply only to fail at Sync after its sandbox exists.

/**
 * KubeVirt's interface models and the QEMU device behind each; a model KubeVirt knows
 * that this QEMU lacks maps to the reason it is refused at admission.
 */
export const NIC_MODELS: Readonly<Record<string, { device: string } | { unsupported: string }>> = {
  virtio: { device: 'virtio-net-pci' },
  e1000: { device: 'e1000' },
  e1000e: { device: 'e1000e' },
  ne2k_pci: { device: 'ne2k_pci' },
  pcnet: { device: 'pcnet' },
  rtl8139: { device: 'rtl8139' },
  igb: { unsupported: 'not supported yet: model "igb" needs QEMU 8.0' },
};

export const DEFAULT_NIC_MODEL = 'virtio';

/** The QEMU device of an interface model admission accepted, or undefined for one it refuses. */
export function nicDevice(model: string | undefined): string | undefined {
  const m = NIC_MODELS[model || DEFAULT_NIC_MODEL];
  return m && 'device' in m ? m.device : undefined;
}

/** KubeVirt's interface names (pkg/network/admitter): letters, digits, '-' and '_'. */
export const INTERFACE_NAME = /^[A-Za-z0-9_-]+$/;

/**
 * The one name KubeVirt takes that virtnode cannot: an interface's tap, MAC and
 * lease travel from the handler to the launcher in maps keyed by its name (the
 * LaunchContext, and protobufjs's decoding of it), where "__proto__" sets the
 * map's prototype instead of a member: the tap is lost and the VMI passes Apply
 * only to fail at start.
 */
export const RESERVED_INTERFACE_NAMES: ReadonlySet<string> = new Set(['__proto__']);

/** Go's net.ParseMAC forms of a 6-byte address: aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff, aabb.ccdd.eeff. */
export const MAC_ADDRESS = /^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$|^([0-9A-Fa-f]{4}\.){2}[0-9A-Fa-f]{4}$/;
/** net.ParseMAC's longer forms (EUI-64, InfiniBand), which a NIC cannot have. */
export const LONG_MAC_ADDRESS = /^([0-9A-Fa-f]{2}[:-]){7,}[0-9A-Fa-f]{2}$|^([0-9A-Fa-f]{4}\.){3,}[0-9A-Fa-f]{4}$/;

/** A MAC in any form MAC_ADDRESS accepts, as QEMU and the kernel write it: lower case, colons. */
export function normalizeMac(mac: string): string {
  if (!MAC_ADDRESS.test(mac)) throw new Error(`${JSON.stringify(mac)} is not a MAC address`);
  const hex = mac.replace(/[-:.]/g, '').toLowerCase();
  return hex.match(/../g)!.join(':');
}

/** Disk buses KubeVirt knows (and virtnode builds), in KubeVirt's order for its messages. */
export const DISK_BUSES = ['virtio', 'sata', 'scsi', 'usb'] as const;
export type DiskBusName = (typeof DISK_BUSES)[number];

/**
 * Default buses (applyDefaults). KubeVirt on amd64 defaults every target to sata;
 * virtnode keeps virtio for a disk, which it built before it had sata, so a spec
 * that names no bus keeps its guest device names (vda, not sda) and its speed. A
 * cdrom cannot be virtio: sata, as KubeVirt. A lun works only on scsi (scsi-block):
 * KubeVirt's sata default would be refused by libvirt at launch.
 */
export const DEFAULT_DISK_BUS: DiskBusName = 'virtio';
export const DEFAULT_CDROM_BUS: DiskBusName = 'sata';
export const DEFAULT_LUN_BUS: DiskBusName = 'scsi';

/** What a VMI disk is to the guest: a hard disk, a CD-ROM, or a SCSI LUN passed through. */
export const DISK_DEVICES = ['disk', 'cdrom', 'lun'] as const;
export type DiskDeviceKind = (typeof DISK_DEVICES)[number];

/**
 * The guest device name prefix of a bus, as KubeVirt names targets for libvirt
 * (getPrefixFromBus): sata, scsi and usb disks share "sd", numbered together.
 */
export const DISK_TARGET_PREFIX: Readonly<Record<DiskBusName, string>> = { virtio: 'vd', sata: 'sd', scsi: 'sd', usb: 'sd' };

/** Ports of one ICH9 AHCI controller: libvirt puts sdN on controller N/6, port N%6. */
export const SATA_PORTS = 6;
/** USB ports of the qemu-xhci controller, as libvirt makes it (p2=15, p3=15). */
export const USB_PORTS = 15;

export const DISK_CACHE_MODES = ['none', 'writethrough', 'writeback'] as const;
export type DiskCacheMode = (typeof DISK_CACHE_MODES)[number];

export const DISK_IO_MODES = ['native', 'threads'] as const;

/** KubeVirt's disk error policies; libvirt turns each into QEMU's werror/rerror. */
export const DISK_ERROR_POLICIES = ['stop', 'ignore', 'report', 'enospace'] as const;
export type DiskErrorPolicyName = (typeof DISK_ERROR_POLICIES)[number];
/** KubeVirt's converter default when a disk names none. */
export const DEFAULT_DISK_ERROR_POLICY: DiskErrorPolicyName = 'stop';

export const CDROM_TRAY_STATES = ['open', 'closed'] as const;

export const IO_THREADS_POLICIES = ['shared', 'auto', 'supplementalPool'] as const;
export type IOThreadsPolicyName = (typeof IO_THREADS_POLICIES)[number];
/**
 * At most this many supplemental iothreads: each is a host thread of QEMU, counted
 * with the vCPUs and QEMU's own against the VM cgroup's pids limit (4096).
 */
export const MAX_SUPPLEMENTAL_IO_THREADS = 1024;

/** KubeVirt's custom block sizes (storage admitters): powers of 2 from 512 B to 2 MiB, as QEMU takes them. */
export const MIN_BLOCK_SIZE = 512;
export const MAX_BLOCK_SIZE = 2 * 1024 * 1024;
/** QEMU's discard_granularity is a 32-bit size whose all-ones value means "the default". */
export const MAX_DISCARD_GRANULARITY = 2 ** 32 - 2;

/** KubeVirt's PCI address form (hwutil.ParsePciAddress): domain:bus:slot.function in hex. */
export const PCI_ADDRESS = /^([\da-fA-F]{4}):([\da-fA-F]{2}):([\da-fA-F]{2})\.([0-7])$/;
/**
 * q35's root bus slots QEMU's machine takes itself: 00 (the host bridge) and 1f (the
 * ICH9 LPC bridge, SATA controller and SMBus). Every other slot of bus 00 is free for
 * a device placed by address; devices without one are placed after those that have one.
 */
export const RESERVED_PCI_SLOTS: readonly number[] = [0x00, 0x1f];
export const MAX_PCI_SLOT = 0x1f;

/** A disk's PCI address as the launcher builds it: a slot of q35's root bus (pcie.0), function 0. */
export function pciSlot(address: string): number | undefined {
  const m = PCI_ADDRESS.exec(address);
  if (!m || Number.parseInt(m[1]!, 16) !== 0 || Number.parseInt(m[2]!, 16) !== 0 || m[4] !== '0') return undefined;
  const slot = Number.parseInt(m[3]!, 16);
  return slot <= MAX_PCI_SLOT && !RESERVED_PCI_SLOTS.includes(slot) ? slot : undefined;
}

/** The bus a VMI disk is on, whichever target it has (KubeVirt's getDiskBus); undefined when unset. */
export function diskBusOf(disk: { disk?: { bus?: string }; cdrom?: { bus?: string }; lun?: { bus?: string } }): string | undefined {
  return disk.disk ? disk.disk.bus : disk.lun ? disk.lun.bus : disk.cdrom ? disk.cdrom.bus : undefined;
}

/**
 * KubeVirt aligns every disk image it creates down to 1 MiB (emptyDisk, hostDisk,
 * blank DataVolumes): "1G" (10⁹ bytes) is a 999,292,928-byte disk. Anything smaller
 * than the alignment would be an empty disk.
 */
export const IMAGE_ALIGNMENT_BYTES = 1n << 20n;

export function alignedImageBytes(bytes: bigint): bigint {
  return (bytes / IMAGE_ALIGNMENT_BYTES) * IMAGE_ALIGNMENT_BYTES;
}

/**
 * Queues of one multi-queue tap: one per vCPU, at most MAX_TAP_QUEUES (the kernel's
 * tun driver, MAX_TAP_QUEUES in drivers/net/tun.c), as KubeVirt caps them
 * (CalculateNetworkQueues). Without multi-queue, one.
 */
export const MAX_TAP_QUEUES = 256;
export function tapQueueCount(multiQueue: boolean, vcpus: number): number {
  return multiQueue ? Math.min(Math.max(1, vcpus), MAX_TAP_QUEUES) : 1;
}

/**
 * The machine types virtnode runs: q35 and the versioned pc-q35-X.Y machines of the
 * node's QEMU 7.2 (`qemu-system-x86_64 -machine help`; the property test compares
 * them with the binary when it is installed). A version QEMU lacks fails at launch.
 * QEMU's pc-q35-4.0.1 is left out: the launcher's machine type rule takes X.Y only.
 */
export const MACHINE_TYPES: readonly string[] = [
  'q35',
  ...['2.4', '2.5', '2.6', '2.7', '2.8', '2.9', '2.10', '2.11', '2.12', '3.0', '3.1', '4.0', '4.1', '4.2', '5.0', '5.1', '5.2', '6.0', '6.1', '6.2', '7.0', '7.1', '7.2'].map((v) => `pc-q35-${v}`),
];

/**
 * The CPU models of the node's QEMU 7.2 (`qemu-system-x86_64 -cpu help`, less "host",
 * which runs only under KVM; the property test compares them with the binary when it
 * is installed). A model QEMU lacks fails at launch. KubeVirt's words for the host's
 * own CPU, host-model and host-passthrough, are not QEMU models.
 */
export const QEMU_CPU_MODELS: ReadonlySet<string> = new Set(
  `
  486 486-v1 Broadwell Broadwell-IBRS Broadwell-noTSX Broadwell-noTSX-IBRS Broadwell-v1
  Broadwell-v2 Broadwell-v3 Broadwell-v4 Cascadelake-Server Cascadelake-Server-noTSX
  Cascadelake-Server-v1 Cascadelake-Server-v2 Cascadelake-Server-v3 Cascadelake-Server-v4
  Cascadelake-Server-v5 Conroe Conroe-v1 Cooperlake Cooperlake-v1 Cooperlake-v2 Denverton
  Denverton-v1 Denverton-v2 Denverton-v3 Dhyana Dhyana-v1 Dhyana-v2 EPYC EPYC-IBPB EPYC-Milan
  EPYC-Milan-v1 EPYC-Rome EPYC-Rome-v1 EPYC-Rome-v2 EPYC-v1 EPYC-v2 EPYC-v3 Haswell Haswell-IBRS
  Haswell-noTSX Haswell-noTSX-IBRS Haswell-v1 Haswell-v2 Haswell-v3 Haswell-v4 Icelake-Server
  Icelake-Server-noTSX Icelake-Server-v1 Icelake-Server-v2 Icelake-Server-v3 Icelake-Server-v4
  Icelake-Server-v5 Icelake-Server-v6 IvyBridge IvyBridge-IBRS IvyBridge-v1 IvyBridge-v2
  KnightsMill KnightsMill-v1 Nehalem Nehalem-IBRS Nehalem-v1 Nehalem-v2 Opteron_G1 Opteron_G1-v1
  Opteron_G2 Opteron_G2-v1 Opteron_G3 Opteron_G3-v1 Opteron_G4 Opteron_G4-v1 Opteron_G5
  Opteron_G5-v1 Penryn Penryn-v1 SandyBridge SandyBridge-IBRS SandyBridge-v1 SandyBridge-v2
  Skylake-Client Skylake-Client-IBRS Skylake-Client-noTSX-IBRS Skylake-Client-v1
  Skylake-Client-v2 Skylake-Client-v3 Skylake-Client-v4 Skylake-Server Skylake-Server-IBRS
  Skylake-Server-noTSX-IBRS Skylake-Server-v1 Skylake-Server-v2 Skylake-Server-v3
  Skylake-Server-v4 Skylake-Server-v5 Snowridge Snowridge-v1 Snowridge-v2 Snowridge-v3
  Snowridge-v4 Westmere Westmere-IBRS Westmere-v1 Westmere-v2 athlon athlon-v1 core2duo
  core2duo-v1 coreduo coreduo-v1 kvm32 kvm32-v1 kvm64 kvm64-v1 n270 n270-v1 pentium pentium-v1
  pentium2 pentium2-v1 pentium3 pentium3-v1 phenom phenom-v1 qemu32 qemu32-v1 qemu64 qemu64-v1
  base max
  `.trim().split(/\s+/),
);

/**
 * A QEMU -cpu model name (qemu64, Skylake-Client-v4, EPYC-IBPB): no ',' (QEMU's
 * option separator), no '+' or '=' (its feature syntax). host-model and
 * host-passthrough are KubeVirt's words for the host's CPU and match too.
 */
export const CPU_MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Empty pcie-root-ports every domain carries for NICs hot-plugged while it runs. */
export const HOTPLUG_PORTS = 2;

/** q35's root bus: 32 slots, less the two the machine takes itself (RESERVED_PCI_SLOTS). */
export const ROOT_BUS_FREE_SLOTS = MAX_PCI_SLOT + 1 - RESERVED_PCI_SLOTS.length;

/** The parts of a VMI spec that decide what sits on the root bus (typed loosely: admission reads it before defaults). */
interface RootBusSpec {
  domain?: {
    devices?: {
      disks?: readonly { disk?: { bus?: string }; cdrom?: { bus?: string }; lun?: { bus?: string } }[];
      interfaces?: readonly unknown[];
      rng?: unknown;
      autoattachMemBalloon?: boolean;
      autoattachPodInterface?: boolean;
      autoattachGraphicsDevice?: boolean;
      disableHotplug?: boolean;
    };
  };
  networks?: readonly unknown[];
}

/**
 * Whether the domain gets the virtio-scsi controller: for its scsi disks, and, as
 * KubeVirt's converter does (requiresSCSIController), always unless disableHotplug,
 * so disks hot-plugged later have a bus to go on (the root bus takes none).
 */
export function needsScsiController(devices: { disks?: readonly { disk?: { bus?: string }; cdrom?: { bus?: string }; lun?: { bus?: string } }[]; disableHotplug?: boolean }): boolean {
  if (devices.disableHotplug !== true) return true;
  return (devices.disks ?? []).some((d) => (diskBusOf(d) ?? (d.cdrom ? DEFAULT_CDROM_BUS : d.lun ? DEFAULT_LUN_BUS : DEFAULT_DISK_BUS)) === 'scsi');
}

/** The bus hot-plugged disks go on: a LUN of the virtio-scsi controller. */
export const HOTPLUG_DISK_BUSES: readonly DiskBusName[] = ['scsi'];

/**
 * Every device the launcher puts on q35's root bus for this spec, by kind, with how
 * many: each its own slot (QEMU places them; -nodefaults adds none of its own). The
 * launcher's domain (launcher/domain/convert.ts) builds exactly these; a test holds
 * the two together. Admission refuses a spec that needs more than ROOT_BUS_FREE_SLOTS,
 * where QEMU would fail with "PCI: no slot/function available" after the sandbox exists.
 */
export function rootBusDevices(spec: RootBusSpec): [kind: string, count: number][] {
  const devices = spec.domain?.devices ?? {};
  const disks = devices.disks ?? [];
  let virtio = 0;
  let sd = 0;
  let sataControllers = 0;
  let usb = false;
  for (const d of disks) {
    const bus = diskBusOf(d) ?? (d.cdrom ? DEFAULT_CDROM_BUS : d.lun ? DEFAULT_LUN_BUS : DEFAULT_DISK_BUS);
    if (bus === 'virtio') {
      virtio++;
      continue;
    }
    // sata, scsi and usb share the sd letters; a sata disk's controller is its letter / 6.
    if (bus === 'sata') sataControllers = Math.max(sataControllers, Math.floor(sd / SATA_PORTS));
    if (bus === 'usb') usb = true;
    sd++;
  }
  const podDefault = devices.autoattachPodInterface !== false && !devices.interfaces?.length && !spec.networks?.length;
  const nics = podDefault ? 1 : (devices.interfaces?.length ?? 0);
  const all: [string, number][] = [
    ['virtio disks', virtio],
    ['SATA controllers past the machine\'s own', sataControllers],
    ['virtio-scsi controller', needsScsiController(devices) ? 1 : 0],
    ['USB controller', usb ? 1 : 0],
    ['network interfaces', nics],
    ['rng', devices.rng ? 1 : 0],
    ['memory balloon', devices.autoattachMemBalloon === false ? 0 : 1],
    ['VGA', devices.autoattachGraphicsDevice === false ? 0 : 1],
    ['guest agent channel', 1],
    ['panic device', 1],
    ['hotplug ports', HOTPLUG_PORTS],
  ];
  return all.filter(([, n]) => n > 0);
}
