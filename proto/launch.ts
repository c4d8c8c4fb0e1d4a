// The handler ↔ launcher launch contract beside launcher.proto: what the handler
// prepares for one VMI (LaunchContext) in the shape both sides code against, its
// wire form (the LaunchContext message of Sync) with every field checked on
// arrival, and the facts both sides must agree on without saying them on the wire:
// the run directory's layout and the TCG translation cache the memory overhead
// budgets for.

import { join } from 'node:path';
import { VirtnodeError } from './errors.js';
import type { Accelerator } from './accelerator.js';
import type { LaunchContext as LaunchContextMessage, LaunchContext__Output } from './generated/virtnode/launcher/v1/LaunchContext.js';
import type { GuestLease__Output } from './generated/virtnode/launcher/v1/GuestLease.js';
import type { HostFile__Output } from './generated/virtnode/launcher/v1/HostFile.js';
import type { PreparedVolume as PreparedVolumeMessage, PreparedVolume__Output } from './generated/virtnode/launcher/v1/PreparedVolume.js';

export type DiskFormat = 'raw' | 'qcow2';
export const DISK_FORMATS: readonly DiskFormat[] = ['raw', 'qcow2'];

export interface LaunchContext {
  /** The VM's run directory: QEMU's sockets are made here (layout: runDirLayout). */
  runDir: string;
  accelerator: Accelerator;
  /** volume name → the image the disk of that name opens. */
  volumes: Record<string, PreparedVolume>;
  /**
   * The kernel and initrd of firmware.kernelBoot, extracted from its container image
   * (KubeVirt requires only one of kernelPath/initrdPath; QEMU needs the kernel).
   */
  kernelBoot?: { kernel?: string; initrd?: string };
  /** interface name → its tap (the handler's pod networking fills this in). */
  interfaces?: Record<string, PreparedInterface>;
  /**
   * The pod's network namespace (a path under /run/netns). A spare launcher is handed
   * its VM before the pod network exists, and enters it here, before the domain starts.
   */
  netns?: string;
  /** The node's SMBIOS system information (type 1); unset fields keep QEMU's. */
  smbios?: SmbiosConfig;
  /** Where the VM's device state lives (the VM's directory when persistent, else the VMI's). */
  deviceState?: DeviceState;
}

/** Device state on the node (KubeVirt's backend storage), for the devices the VMI has. */
export interface DeviceState {
  /** firmware.bootloader.efi: the OVMF variable store, copied from the firmware's template when missing. */
  nvram?: string;
  /** devices.tpm: swtpm's state directory. */
  tpmDir?: string;
}

/** KubeVirt's smbios configuration: SMBIOS type 1 fields every guest of the node shows. */
export interface SmbiosConfig {
  manufacturer?: string;
  product?: string;
  version?: string;
  sku?: string;
  family?: string;
}

/** KubeVirt's defaults (virt-config): what its guests read as sys_vendor, product_name, product_family. */
export const DEFAULT_SMBIOS: Readonly<Required<SmbiosConfig>> = Object.freeze({ manufacturer: 'KubeVirt', product: 'None', version: '', sku: '', family: 'KubeVirt' });

export interface PreparedVolume {
  path: string;
  format: DiskFormat;
  /** The read-only image under a qcow2 overlay (a containerDisk), opened explicitly. */
  backing?: { path: string; format: DiskFormat };
  /** The file's filesystem takes O_DIRECT (tmpfs does not): KubeVirt's default cache is "none" only then. */
  directIo?: boolean;
  /** A hostDisk: opened beneath `hostFile.root` by the launcher, and only if still that file. */
  hostFile?: HostFile;
}

/**
 * A file beneath a host disk root, by identity (dev and inode): what the handler
 * vetted. dev and ino are decimal strings: exact beyond 2^53, and JSON (the
 * sandbox's runtime record, logs) takes them as they are.
 */
export interface HostFile {
  root: string;
  /** Beneath `root`: relative, no '..'. */
  path: string;
  dev: string;
  ino: string;
}

export interface PreparedInterface {
  /** The persistent tap the handler made in the pod's network namespace; the launcher opens it by name. */
  tapName: string;
  multiQueue?: boolean;
  /** The MAC the guest NIC gets, normalised (lower case, colons); for the bridge binding, the pod's own. */
  mac?: string;
  vhost?: boolean;
  /** What the guest's DHCP client is told, by the launcher's DHCP server on `bridge`. */
  dhcp?: { bridge: string; serverIp: string; lease: GuestLease };
  /** The address the VMI status shows for this interface (the pod IP, as KubeVirt shows it). */
  statusIP?: string;
}

/** The one lease a VM's DHCP server hands out on one interface. */
export interface GuestLease {
  /** The guest NIC's MAC: the only client the server answers. */
  mac: string;
  ip: string;
  prefixLength: number;
  gateway?: string;
  dns: string[];
  searchDomains: string[];
  hostname?: string;
  mtu?: number;
  routes?: { dest: string; prefixLen: number; gateway: string }[];
}

/**
 * The most each part of a VM's serial console log holds (RUN_DIR_FILES.consoleLog
 * and its `.1`): the launcher rotates there, the handler reads no more than this.
 */
export const CONSOLE_LOG_BYTES = 1 << 20;

/** MiB of translated code TCG may keep (`-accel tcg,tb-size=`); the VM cgroup's overhead budgets exactly this. */
export const TCG_TB_SIZE_MIB = 128;

/**
 * The names in a VM's run directory: the handler makes the directory, both sides use
 * the names. QEMU's sockets are in a directory of their own, the only part of the run
 * directory QEMU sees and may write (launcher/domain/confine.ts).
 */
export const RUN_DIR_FILES = {
  /** The handler listens here for the launcher's session. */
  handlerSocket: 'handler.sock',
  /** The launcher relays the serial console here. */
  consoleSocket: 'console.sock',
  /**
   * The launcher serves the VNC display here, handing each connection to QEMU
   * (QMP add_client): QEMU itself listens nowhere (launcher/vnc.ts says why).
   */
  vncSocket: 'vnc.sock',
  /** The serial console log (devices.logSerialConsole) and its one rotated part, `.1`. */
  consoleLog: 'console.log',
  /** QEMU's own directory: the launcher makes it, owned by QEMU's uid. */
  qemuDir: 'qemu',
  /** QEMU listens here for QMP. */
  qmpSocket: 'qemu/qmp.sock',
  /** QEMU listens here for ttyS0. */
  serialSocket: 'qemu/serial0.sock',
  /** QEMU listens here for the guest agent's virtio-serial port. */
  agentSocket: 'qemu/agent.sock',
  /** QEMU writes its screendump here (the only place in its view it may write). */
  screendump: 'qemu/screendump.png',
  /** QEMU's root: a skeleton of mount points the launcher makes (and `qemu-root.fstab`, its mounts). */
  qemuRoot: 'qemu-root',
  /** swtpm's control socket (QEMU connects to it): beside QEMU's, the one directory both see. */
  tpmSocket: 'qemu/swtpm.sock',
  /** swtpm's root, made like QEMU's. */
  swtpmRoot: 'swtpm-root',
} as const;

export type RunDirLayout = { -readonly [K in keyof typeof RUN_DIR_FILES]: string };

export function runDirLayout(runDir: string): RunDirLayout {
  const out = {} as RunDirLayout;
  for (const [k, name] of Object.entries(RUN_DIR_FILES)) out[k as keyof RunDirLayout] = join(runDir, name);
  return out;
}

/** The wire form: unset optional fields are left out (the message's empty defaults). */
export function encodeLaunchContext(ctx: LaunchContext): LaunchContextMessage {
  const volumes: NonNullable<LaunchContextMessage['volumes']> = {};
  for (const [name, v] of Object.entries(ctx.volumes)) volumes[name] = encodePreparedVolume(v);
  const interfaces: NonNullable<LaunchContextMessage['interfaces']> = {};
  for (const [name, i] of Object.entries(ctx.interfaces ?? {})) {
    interfaces[name] = {
      tapName: i.tapName,
      multiQueue: i.multiQueue ?? false,
      mac: i.mac ?? '',
      vhost: i.vhost ?? false,
      statusIp: i.statusIP ?? '',
      dhcp: i.dhcp ? { bridge: i.dhcp.bridge, serverIp: i.dhcp.serverIp, lease: { ...i.dhcp.lease, gateway: i.dhcp.lease.gateway ?? '', hostname: i.dhcp.lease.hostname ?? '', mtu: i.dhcp.lease.mtu ?? 0, routes: i.dhcp.lease.routes ?? [] } } : null,
    };
  }
  return {
    runDir: ctx.runDir,
    accelerator: ctx.accelerator,
    volumes,
    kernelBoot: ctx.kernelBoot ? { kernel: ctx.kernelBoot.kernel ?? '', initrd: ctx.kernelBoot.initrd ?? '' } : null,
    interfaces,
    netns: ctx.netns ?? '',
    smbios: ctx.smbios ? { manufacturer: '', product: '', version: '', sku: '', family: '', ...ctx.smbios } : null,
    deviceState: ctx.deviceState ? { nvram: ctx.deviceState.nvram ?? '', tpmDir: ctx.deviceState.tpmDir ?? '' } : null,
  };
}

/** One prepared volume's wire form (in a Sync's context, or an AttachVolume). */
export function encodePreparedVolume(v: PreparedVolume): PreparedVolumeMessage {
  const hostFile = v.hostFile ? { ...v.hostFile } : null;
  return { path: v.path, format: v.format, backing: v.backing ?? null, directIo: v.directIo ?? false, hostFile };
}

/** One prepared volume, checked; `p` names it in errors. */
export function decodePreparedVolume(p: string, v: PreparedVolume__Output | null | undefined): PreparedVolume {
  if (!v) throw protocol(p, 'missing');
  return {
    path: abs(`${p}.path`, v.path),
    format: format(`${p}.format`, v.format),
    ...(v.backing ? { backing: { path: abs(`${p}.backing.path`, v.backing.path), format: format(`${p}.backing.format`, v.backing.format) } } : {}),
    ...(v.directIo ? { directIo: true } : {}),
    ...(v.hostFile ? { hostFile: decodeHostFile(`${p}.hostFile`, v.hostFile) } : {}),
  };
}

function abs(path: string, v: string): string {
  if (!v.startsWith('/')) throw protocol(path, `must be an absolute path, got ${JSON.stringify(v)}`);
  return v;
}

function format(path: string, v: string): DiskFormat {
  if (!(DISK_FORMATS as readonly string[]).includes(v)) throw protocol(path, `must be one of ${DISK_FORMATS.join(', ')}, got ${JSON.stringify(v)}`);
  return v as DiskFormat;
}

/**
 * The launch context of a Sync, checked: a field the launcher cannot use is an error
 * naming it (VN_PROTOCOL), never a guess. A handler of another build could send it.
 */
export function decodeLaunchContext(m: LaunchContext__Output | null | undefined): LaunchContext {
  if (!m) throw protocol('context', 'missing');
  if (m.accelerator !== 'kvm' && m.accelerator !== 'tcg') throw protocol('context.accelerator', `must be kvm or tcg, got ${JSON.stringify(m.accelerator)}`);
  const ctx: LaunchContext = { runDir: abs('context.runDir', m.runDir), accelerator: m.accelerator, volumes: {} };
  for (const [name, v] of Object.entries(m.volumes ?? {})) ctx.volumes[name] = decodePreparedVolume(`context.volumes[${name}]`, v);
  if (m.kernelBoot) {
    ctx.kernelBoot = {
      ...(m.kernelBoot.kernel ? { kernel: abs('context.kernelBoot.kernel', m.kernelBoot.kernel) } : {}),
      ...(m.kernelBoot.initrd ? { initrd: abs('context.kernelBoot.initrd', m.kernelBoot.initrd) } : {}),
    };
  }
  const interfaces = Object.entries(m.interfaces ?? {});
  if (interfaces.length) {
    ctx.interfaces = {};
    for (const [name, i] of interfaces) {
      const p = `context.interfaces[${name}]`;
      if (!i.tapName) throw protocol(`${p}.tapName`, 'missing');
      ctx.interfaces[name] = {
        tapName: i.tapName,
        ...(i.multiQueue ? { multiQueue: true } : {}),
        ...(i.mac ? { mac: i.mac } : {}),
        ...(i.vhost ? { vhost: true } : {}),
        ...(i.statusIp ? { statusIP: i.statusIp } : {}),
        ...(i.dhcp ? { dhcp: { bridge: i.dhcp.bridge, serverIp: i.dhcp.serverIp, lease: decodeLease(`${p}.dhcp.lease`, i.dhcp.lease) } } : {}),
      };
    }
  }
  if (m.netns) ctx.netns = abs('context.netns', m.netns);
  if (m.smbios) {
    const s: SmbiosConfig = {};
    for (const k of ['manufacturer', 'product', 'version', 'sku', 'family'] as const) if (m.smbios[k]) s[k] = m.smbios[k];
    ctx.smbios = s;
  }
  if (m.deviceState && (m.deviceState.nvram || m.deviceState.tpmDir)) {
    ctx.deviceState = {
      ...(m.deviceState.nvram ? { nvram: abs('context.deviceState.nvram', m.deviceState.nvram) } : {}),
      ...(m.deviceState.tpmDir ? { tpmDir: abs('context.deviceState.tpmDir', m.deviceState.tpmDir) } : {}),
    };
  }
  return ctx;
}

function decodeHostFile(path: string, f: HostFile__Output): HostFile {
  if (!f.root.startsWith('/')) throw protocol(`${path}.root`, `must be an absolute path, got ${JSON.stringify(f.root)}`);
  if (f.path === '' || f.path.startsWith('/') || f.path.split('/').includes('..')) throw protocol(`${path}.path`, `must be a path beneath the root without '..', got ${JSON.stringify(f.path)}`);
  const num = (field: 'dev' | 'ino'): string => {
    if (!/^(0|[1-9]\d{0,19})$/.test(f[field]) || BigInt(f[field]) >= 1n << 64n) throw protocol(`${path}.${field}`, `must be a decimal number below 2^64, got ${JSON.stringify(f[field])}`);
    return f[field];
  };
  return { root: f.root, path: f.path, dev: num('dev'), ino: num('ino') };
}

function decodeLease(path: string, l: GuestLease__Output | null): GuestLease {
  if (!l) throw protocol(path, 'missing');
  return {
    mac: l.mac,
    ip: l.ip,
    prefixLength: l.prefixLength,
    ...(l.gateway ? { gateway: l.gateway } : {}),
    dns: l.dns,
    searchDomains: l.searchDomains,
    ...(l.hostname ? { hostname: l.hostname } : {}),
    ...(l.mtu ? { mtu: l.mtu } : {}),
    ...(l.routes.length ? { routes: l.routes.map((r) => ({ dest: r.dest, prefixLen: r.prefixLen, gateway: r.gateway })) } : {}),
  };
}

function protocol(path: string, message: string): VirtnodeError {
  return new VirtnodeError('VN_PROTOCOL', `${path.startsWith('context') ? 'Sync ' : ''}${path}: ${message}`);
}
