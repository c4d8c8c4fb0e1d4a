// IPv4 addresses and CIDRs as 32-bit numbers: enough arithmetic for a node's pod
// CIDR, a VM's vmNetworkCIDR and the overlap checks between them.

import { isIPv4 } from 'node:net';

export interface Cidr {
  /** The network address (host bits cleared). */
  network: number;
  prefixLength: number;
}

export function parseIPv4(s: string): number | undefined {
  if (!isIPv4(s)) return undefined;
  return s.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function mask(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

/** "10.244.0.0/24" → its network; undefined for anything else (host bits set included, as Go's strict callers do). */
export function parseCidr(s: string): Cidr | undefined {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(s);
  if (!m) return undefined;
  const addr = parseIPv4(m[1]!);
  const prefixLength = Number(m[2]);
  if (addr === undefined || prefixLength > 32) return undefined;
  const network = (addr & mask(prefixLength)) >>> 0;
  if (network !== addr) return undefined;
  return { network, prefixLength };
}

/** Like parseCidr, but an address with host bits ("10.0.2.1/24") names its network, as KubeVirt's net.ParseCIDR does. */
export function parseCidrLoose(s: string): Cidr | undefined {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(s);
  if (!m) return undefined;
  const addr = parseIPv4(m[1]!);
  const prefixLength = Number(m[2]);
  if (addr === undefined || prefixLength > 32) return undefined;
  return { network: (addr & mask(prefixLength)) >>> 0, prefixLength };
}

export function formatCidr(c: Cidr): string {
  return `${formatIPv4(c.network)}/${c.prefixLength}`;
}

export function cidrSize(c: Cidr): number {
  return 2 ** (32 - c.prefixLength);
}

export function broadcast(c: Cidr): number {
  return (c.network + cidrSize(c) - 1) >>> 0;
}

export function contains(c: Cidr, addr: number): boolean {
  return ((addr & mask(c.prefixLength)) >>> 0) === c.network;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return contains(a, b.network) || contains(b, a.network);
}

/** The n-th address of the CIDR (1 = the first host address). */
export function nthAddress(c: Cidr, n: number): number {
  return (c.network + n) >>> 0;
}
