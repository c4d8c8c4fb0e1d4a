// The Domain: virtnode's own libvirt-domain-like description of one VM, between the
// VMI (what the user asked for) and QEMU's argv (how QEMU is told). convert.ts makes
// it from a VMI and a LaunchContext; argv.ts turns it into a command line. Everything
// in it is resolved: paths are absolute, defaults are applied, ids are chosen, so the
// argv builder decides nothing and a test can pin a Domain to an argv exactly.

import type { Accelerator } from '../../proto/accelerator.js';
import type { DiskFormat } from '../../proto/launch.js';
import type { Chassis } from '../../proto/vmi/types.js';
import type { DomainClock } from './devices/clock.js';

export type { Accelerator, DiskFormat };

export interface Domain {
  /** QEMU's guest name: "<namespace>_<name>", the libvirt domain name KubeVirt uses. */
  name: string;
  /** SMBIOS system UUID (firmware.uuid, else the VMI uid). */
  uuid: string;
  machine: DomainMachine;
  accelerator: Accelerator;
  cpu: DomainCpu;
  memory: { bytes: number };
  boot: DomainBoot;
  /** SMBIOS type 1: the node's fields and the VMI's firmware.serial. */
  smbios?: DomainSmbios;
  /** SMBIOS type 3, spec.domain.chassis. */
  chassis?: Chassis;
  clock?: DomainClock;
  disks: DomainDisk[];
  diskControllers: DomainDiskControllers;
  /** iothread objects (ids) the virtio-blk disks use: KubeVirt's ioThreadsPolicy and dedicatedIOThread. */
  ioThreads: string[];
  interfaces: DomainInterface[];
  rng?: DomainRng;
  balloon?: DomainBalloon;
  /** QEMU listens here for QMP. */
  qmpSocket: string;
  /** QEMU listens here for the serial console (ttyS0); absent: no serial port at all. */
  serialSocket?: string;
  /** A VGA device and a VNC display (autoattachGraphicsDevice); absent: neither. */
  graphics?: DomainGraphics;
  /** The qemu-guest-agent channel (virtio-serial port org.qemu.guest_agent.0); QEMU listens here. */
  guestAgent?: { socket: string };
  panic?: DomainPanic;
  /** A TPM 2.0, emulated by an swtpm the launcher starts beside QEMU. */
  tpm?: DomainTpm;
  lifecycle: DomainLifecycle;
  /** Empty PCIe root ports for devices hot-plugged later (their ids). */
  hotplugPorts: string[];
}

export interface DomainGraphics {
  vgaMemoryMiB: number;
  /** Where QEMU writes a screendump: in its own directory, the one place it may write. */
  screendump: string;
}

export interface DomainSmbios {
  manufacturer?: string;
  product?: string;
  version?: string;
  sku?: string;
  family?: string;
  serial?: string;
}

export interface DomainMachine {
  /** A q35 machine type: "q35" or a versioned "pc-q35-7.2". */
  type: string;
  acpi: boolean;
  /** System Management Mode (features.smm); undefined: QEMU's default. */
  smm?: boolean;
}

export interface DomainCpu {
  /** A QEMU -cpu model: "host" under KVM, "qemu64" under TCG, or a named model. */
  model: string;
  /** QEMU -cpu properties, each "name=on", "name=off" or "name=value" (devices/cpu-features.ts). */
  features: string[];
  sockets: number;
  cores: number;
  threads: number;
}

export interface DomainBoot {
  /** SeaBIOS (QEMU's own) or OVMF from two pflash chips. */
  firmware: 'bios' | 'efi';
  /** SeaBIOS writes to the serial console through sgabios (bios.useSerial). */
  biosSerial?: boolean;
  efi?: DomainEfi;
  /** Direct kernel boot: QEMU loads these instead of booting a disk. */
  kernel?: { path: string; initrd?: string; cmdline?: string };
}

export interface DomainEfi {
  /** OVMF's code, read-only (the node's file, under /usr). */
  code: string;
  /** The variable store (NVRAM) QEMU writes: the VM's own copy of `varsTemplate`. */
  vars: string;
  /** What `vars` is copied from when it does not exist yet. */
  varsTemplate: string;
  /** The Secure Boot build: its pflash writes only from SMM (cfi.pflash01 secure=on). */
  secureBoot: boolean;
}

export interface DomainTpm {
  /** tpm-tis, or tpm-crb when the state persists (KubeVirt's choice). */
  model: 'tpm-tis' | 'tpm-crb';
  /** swtpm's control socket, in QEMU's socket directory. */
  socket: string;
  /** swtpm's state directory. */
  stateDir: string;
}

export interface DiskImage {
  path: string;
  format: DiskFormat;
  /**
   * An fd QEMU inherits (a hostDisk, opened by the launcher): put in fdset `set` by
   * `-add-fd`, and opened by QEMU as /dev/fdset/<set>, never by `path`.
   */
  fdset?: { fd: number; set: number };
}

export type DiskCache = 'none' | 'writethrough' | 'writeback';
export type DiskBus = 'virtio' | 'sata' | 'scsi' | 'usb';
export type DiskErrorPolicy = 'stop' | 'ignore' | 'report' | 'enospace';

/** Where a disk's device sits on its bus: fixed here, so the argv decides nothing. */
export type DiskAddress =
  /** virtio-blk: a slot of q35's root bus when pciAddress asked for one, else QEMU's choice. */
  | { bus: 'virtio'; pciSlot?: number }
  /** An AHCI port: controller 0 is q35's own (buses ide.0-5), others are added ich9-ahci. */
  | { bus: 'sata'; controller: number; port: number }
  /** A LUN of target 0 on the virtio-scsi controller scsi0, as libvirt addresses KubeVirt's units. */
  | { bus: 'scsi'; lun: number }
  /** A port of the qemu-xhci controller (1-based). */
  | { bus: 'usb'; port: number };

export interface DomainDisk {
  /** The VMI disk (and volume) name. */
  name: string;
  /** The guest device's id: "ua-<name>", KubeVirt's user alias. */
  deviceId: string;
  /** Node name of the format layer the device uses; its file layer is "<nodeName>-file". */
  nodeName: string;
  /** A hard disk, a CD-ROM, or a host SCSI device passed through. */
  device: 'disk' | 'cdrom' | 'lun';
  image: DiskImage;
  /** The image is a host block device (QEMU's host_device driver, not file). */
  blockDevice?: boolean;
  /**
   * A qcow2 image's backing file, opened explicitly (read-only, format given) rather
   * than by QEMU reading the overlay's header and probing.
   */
  backing?: DiskImage;
  address: DiskAddress;
  /** The guest device name libvirt would give it (vda, sda, ...): KubeVirt's VolumeStatus.target. */
  target: string;
  readonly: boolean;
  cache: DiskCache;
  io?: 'native' | 'threads';
  errorPolicy: DiskErrorPolicy;
  /** Other VMs may write the same image (share-rw). */
  shareable: boolean;
  serial?: string;
  bootIndex?: number;
  /** Block sizes the guest sees; unset: QEMU's (512 for an image file). */
  blockIO?: { logical: number; physical: number; discardGranularity?: number };
  /** virtio-blk: the iothread object serving it. */
  ioThread?: string;
  /** virtio-blk: its queue count (blockMultiQueue: one per vCPU); unset: QEMU's default. */
  queues?: number;
}

/** The controllers the disks need beyond q35's own AHCI. */
export interface DomainDiskControllers {
  /** Ids of added ich9-ahci controllers: sata1, sata2, ... */
  sata: string[];
  /** The virtio-scsi controller, "scsi0", when a disk is on scsi. */
  scsi?: string;
  /** The qemu-xhci controller, "usb", when a disk is on usb. */
  usb?: string;
}

export interface DomainInterface {
  /** The VMI interface name. */
  name: string;
  /** "ua-<name>". */
  deviceId: string;
  netdevId: string;
  /** The QEMU NIC device: virtio-net-pci, e1000e, ... */
  model: string;
  mac?: string;
  /** The tap: fd numbers QEMU inherits (one per queue), or the name of one handed over with getfd. */
  tap: { fds: number[] } | { fdName: string };
  vhost: boolean;
  bootIndex?: number;
}

export interface DomainRng {
  /** Host entropy source. */
  source: string;
}

export interface DomainBalloon {
  freePageReporting: boolean;
}

export interface DomainPanic {
  /** pvpanic-pci: the guest kernel (pvpanic_pci) reports panics to QEMU as GUEST_PANICKED. */
  model: 'pvpanic-pci';
}

/** What QEMU does when the guest panics, shuts down or reboots (-action). */
export interface DomainLifecycle {
  panic: 'pause' | 'shutdown' | 'exit-failure' | 'none';
  shutdown: 'poweroff' | 'pause';
  reboot: 'reset' | 'shutdown';
}
