// What qemu-ga answers, turned into kubevirt.io/v1's words: the replies' shapes are
// QEMU 7.2's qga/qapi-schema.json, the results are the API types virt-handler fills
// (VirtualMachineInstanceGuestOSInfo, ...GuestAgentInfo, ...FileSystemList,
// ...GuestOSUserList) and status.interfaces merged as KubeVirt's netstat merges them.
// Pure functions: the agent's replies are untrusted guest data, so every field is
// checked for its type and lists are bounded.

import type { GuestOSInfo, VMIInterfaceStatus } from '../../proto/vmi/types.js';

/** What virtnode uses of the agent (KubeVirt's requiredGuestAgentCommands): without them, AgentVersionNotSupported. */
export const REQUIRED_COMMANDS = [
  'guest-ping',
  'guest-get-time',
  'guest-info',
  'guest-shutdown',
  'guest-network-get-interfaces',
  'guest-get-fsinfo',
  'guest-get-host-name',
  'guest-get-users',
  'guest-get-timezone',
  'guest-get-osinfo',
] as const;

/** Guest-only interfaces shown at most (KubeVirt's guestOnlyInterfaceLimit). */
export const GUEST_ONLY_INTERFACE_LIMIT = 10;
/** Entries of any list taken from the guest (filesystems, users, addresses). */
const MAX_ITEMS = 256;
/** Characters of any string taken from the guest. */
const MAX_STRING = 1024;

export type { GuestOSInfo };

export interface AgentInfo {
  version: string;
  supportedCommands: { name: string; enabled?: boolean }[];
}

export interface FileSystem {
  diskName: string;
  mountPoint: string;
  fileSystemType: string;
  usedBytes: number;
  totalBytes: number;
  disk?: { serial?: string; busType: string }[];
}

export interface GuestUser {
  userName: string;
  domain?: string;
  loginTime?: number;
}

function rec(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v.slice(0, MAX_ITEMS) : [];
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v.slice(0, MAX_STRING) : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** guest-info: the agent's version and which commands it has enabled. */
export function parseAgentInfo(reply: unknown): AgentInfo {
  const r = rec(reply);
  const supportedCommands = list(r.supported_commands).flatMap((c) => {
    const x = rec(c);
    const name = str(x.name);
    return name ? [{ name, enabled: x.enabled === true }] : [];
  });
  return { version: str(r.version) ?? '', supportedCommands };
}

/** The required commands this agent lacks or has disabled. */
export function missingCommands(info: AgentInfo): string[] {
  const enabled = new Set(info.supportedCommands.filter((c) => c.enabled).map((c) => c.name));
  return REQUIRED_COMMANDS.filter((c) => !enabled.has(c));
}

/** guest-get-osinfo as VirtualMachineInstanceGuestOSInfo. */
export function parseOSInfo(reply: unknown): GuestOSInfo {
  const r = rec(reply);
  return compact({
    name: str(r.name),
    kernelRelease: str(r['kernel-release']),
    version: str(r.version),
    prettyName: str(r['pretty-name']),
    versionId: str(r['version-id']),
    kernelVersion: str(r['kernel-version']),
    machine: str(r.machine),
    id: str(r.id),
  });
}

/** guest-get-fsinfo as VirtualMachineInstanceFileSystem items. */
export function parseFsInfo(reply: unknown): FileSystem[] {
  return list(reply).map((f) => {
    const x = rec(f);
    const disks = list(x.disk).map((d) => {
      const y = rec(d);
      return compact({ serial: str(y.serial), busType: str(y['bus-type']) ?? '' });
    });
    return compact({
      diskName: str(x.name) ?? '',
      mountPoint: str(x.mountpoint) ?? '',
      fileSystemType: str(x.type) ?? '',
      usedBytes: num(x['used-bytes']) ?? 0,
      totalBytes: num(x['total-bytes']) ?? 0,
      disk: disks.length ? disks : undefined,
    });
  });
}

/** guest-get-users as VirtualMachineInstanceGuestOSUser items. */
export function parseUsers(reply: unknown): GuestUser[] {
  return list(reply).flatMap((u) => {
    const x = rec(u);
    const userName = str(x.user);
    return userName ? [compact({ userName, domain: str(x.domain), loginTime: num(x['login-time']) })] : [];
  });
}

/** guest-get-timezone as KubeVirt shows it: "<zone>, <offset seconds>". */
export function formatTimezone(reply: unknown): string | undefined {
  const r = rec(reply);
  const offset = num(r.offset);
  if (offset === undefined) return undefined;
  return `${str(r.zone) ?? ''}, ${offset}`;
}

/** One interface as the agent reports it. */
export interface GuestInterface {
  name: string;
  mac: string;
  ips: string[];
}

/** guest-network-get-interfaces: every interface with a hardware address (not loopback), IPv4 before IPv6. */
export function parseGuestInterfaces(reply: unknown): GuestInterface[] {
  return list(reply).flatMap((i) => {
    const x = rec(i);
    const name = str(x.name);
    const mac = str(x['hardware-address'])?.toLowerCase();
    if (!name || !mac || mac === '00:00:00:00:00:00') return [];
    const addrs = list(x['ip-addresses']).map(rec);
    const of = (family: string): string[] => addrs.filter((a) => a['ip-address-type'] === family).flatMap((a) => str(a['ip-address']) ?? []);
    return [{ name, mac, ips: [...of('ipv4'), ...of('ipv6')] }];
  });
}

const isV6 = (ip: string): boolean => ip.includes(':');

/**
 * status.interfaces with the agent's view merged in, as KubeVirt's netstat does: an
 * interface of the domain found by MAC gets the guest's name for it, and the agent's
 * addresses of a family the domain knew none of (the pod IP stays where there is
 * one: for masquerade it is the address that reaches the guest); the guest's link-
 * local IPv6 addresses are dropped for masquerade, which cannot reach them. Guest
 * interfaces the domain does not have follow (at most GUEST_ONLY_INTERFACE_LIMIT).
 */
export function mergeInterfaces(domain: VMIInterfaceStatus[], guest: GuestInterface[] | undefined, masquerade: ReadonlySet<string> = new Set()): VMIInterfaceStatus[] {
  const out = domain.map((d) => ({ ...d }));
  if (!guest) return out;
  let guestOnly = 0;
  for (const g of guest) {
    const d = out.find((x) => x.mac !== undefined && x.mac.toLowerCase() === g.mac);
    if (!d) {
      if (guestOnly++ >= GUEST_ONLY_INTERFACE_LIMIT) continue;
      out.push(compact({ interfaceName: g.name, mac: g.mac, ipAddress: g.ips[0], ipAddresses: g.ips.length ? g.ips : undefined, infoSource: 'guest-agent' }));
      continue;
    }
    const ips = d.name && masquerade.has(d.name) ? g.ips.filter((ip) => !/^fe[89ab]/i.test(ip)) : g.ips;
    const had = d.ipAddresses ?? (d.ipAddress ? [d.ipAddress] : []);
    const v4 = had.filter((ip) => !isV6(ip)).length && ips.some((ip) => !isV6(ip)) ? had.filter((ip) => !isV6(ip)) : ips.filter((ip) => !isV6(ip));
    const v6 = had.filter(isV6).length && ips.some(isV6) ? had.filter(isV6) : ips.filter(isV6);
    const merged = [...v4, ...v6];
    d.interfaceName = g.name;
    delete d.ipAddress;
    delete d.ipAddresses;
    if (merged.length) {
      d.ipAddress = merged[0];
      d.ipAddresses = merged;
    }
    d.infoSource = 'domain, guest-agent';
  }
  return out;
}
