// The one lease a VM's DHCP server hands out, checked once and turned into the option
// set every OFFER/ACK carries. The choices follow KubeVirt's virt-launcher: a 999-day
// lease, DNS and search domains from the pod's resolv.conf, the longest search domain
// as the domain name (Windows resolves with it), the pod interface's MTU, and
// classless routes with the default route last.
import { InvalidSpecError, type FieldError } from '../../proto/errors.js';
import type { GuestLease } from '../../proto/launch.js';
import {
  Option, isIPv4, ipToNumber, prefixToMask, macToBytes, isSearchDomain,
  encodeIpList, encodeUint16, encodeUint32, encodeClasslessRoutes, encodeDomainSearch,
  type ClasslessRoute,
} from './dhcp-packet.js';

/** KubeVirt's "infinite" lease (999 days): long enough, and no client special-cases it as 0xffffffff. */
export const DEFAULT_LEASE_SECONDS = 999 * 24 * 3600;

/**
 * The lease the handler prepared (GuestLease: MAC, address, gateway → option 3 with
 * an on-link route when off-subnet, DNS, search list, hostname → option 12, MTU,
 * routes → option 121 with a default route via the gateway added when missing),
 * and what only this server chooses.
 */
export interface DhcpLease extends GuestLease {
  /** Option 15; by default the longest search domain, as KubeVirt does. */
  domainName?: string;
  leaseSeconds?: number;
  /** RFC 1035 name compression in option 119 (default true). */
  compressSearch?: boolean;
}

/** A checked lease: the guest's identity and the configuration options, in send order. */
export interface PreparedLease {
  mac: string;
  ip: string;
  serverIp: string;
  leaseSeconds: number;
  /** Options 1, 28, 3, 6, 12, 15, 119, 26, 121 as present; never 53/54/51/58/59. */
  options: Map<number, Buffer>;
  /** The option 121 routes sent, if any (also for logs). */
  routes: ClasslessRoute[] | undefined;
}

/** Checks `lease` and builds its options; every bad field is reported at once. */
export function prepareLease(serverIp: string, lease: DhcpLease): PreparedLease {
  const errors: FieldError[] = [];
  const bad = (path: string, message: string): void => { errors.push({ path, message }); };

  if (!isIPv4(serverIp)) bad('serverIp', `must be a dotted IPv4 address, got ${JSON.stringify(serverIp)}`);
  let macOk = false;
  try {
    const b = macToBytes(lease.mac);
    if (b[0]! & 1) bad('lease.mac', 'must be a unicast MAC (first octet even)');
    else macOk = true;
  } catch {
    bad('lease.mac', `must be six hex octets separated by ':', got ${JSON.stringify(lease.mac)}`);
  }
  const prefixOk = Number.isInteger(lease.prefixLength) && lease.prefixLength >= 1 && lease.prefixLength <= 32;
  if (!prefixOk) bad('lease.prefixLength', `must be an integer 1-32, got ${lease.prefixLength}`);
  const ipOk = isIPv4(lease.ip) && lease.ip !== '0.0.0.0' && lease.ip !== '255.255.255.255';
  if (!ipOk) bad('lease.ip', `must be a unicast IPv4 address, got ${JSON.stringify(lease.ip)}`);
  if (lease.gateway !== undefined && !isIPv4(lease.gateway)) bad('lease.gateway', `must be a dotted IPv4 address, got ${JSON.stringify(lease.gateway)}`);
  lease.dns.forEach((d, i) => { if (!isIPv4(d)) bad(`lease.dns[${i}]`, `must be an IPv4 address (DHCPv4 carries no others), got ${JSON.stringify(d)}`); });
  lease.searchDomains.forEach((d, i) => { if (!isSearchDomain(d)) bad(`lease.searchDomains[${i}]`, `not a valid DNS name: ${JSON.stringify(d)}`); });
  if (lease.domainName !== undefined && !isSearchDomain(lease.domainName)) bad('lease.domainName', `not a valid DNS name: ${JSON.stringify(lease.domainName)}`);
  if (lease.hostname !== undefined && (lease.hostname.length === 0 || Buffer.byteLength(lease.hostname) > 255 || /[\0-\x1f\x7f]/.test(lease.hostname))) bad('lease.hostname', 'must be 1-255 bytes without control characters');
  if (lease.mtu !== undefined && (!Number.isInteger(lease.mtu) || lease.mtu < 68 || lease.mtu > 65535)) bad('lease.mtu', `must be an integer 68-65535, got ${lease.mtu}`);
  const leaseSeconds = lease.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
  if (!Number.isInteger(leaseSeconds) || leaseSeconds < 1 || leaseSeconds > 0xffffffff) bad('lease.leaseSeconds', `must be an integer 1-4294967295, got ${leaseSeconds}`);
  lease.routes?.forEach((r, i) => {
    if (!isIPv4(r.dest)) bad(`lease.routes[${i}].dest`, `must be a dotted IPv4 address, got ${JSON.stringify(r.dest)}`);
    if (!isIPv4(r.gateway)) bad(`lease.routes[${i}].gateway`, `must be a dotted IPv4 address (0.0.0.0 for on-link), got ${JSON.stringify(r.gateway)}`);
    if (!Number.isInteger(r.prefixLen) || r.prefixLen < 0 || r.prefixLen > 32) bad(`lease.routes[${i}].prefixLen`, `must be an integer 0-32, got ${r.prefixLen}`);
    else if (isIPv4(r.dest) && (ipToNumber(r.dest) & ~prefixToMask(r.prefixLen)) !== 0) bad(`lease.routes[${i}].dest`, `${r.dest}/${r.prefixLen} has host bits set`);
  });
  if (errors.length > 0 || !macOk || !ipOk || !prefixOk) throw new InvalidSpecError(errors);

  const mask = prefixToMask(lease.prefixLength);
  const options = new Map<number, Buffer>();
  options.set(Option.SUBNET_MASK, encodeUint32(mask));
  // /31 and /32 have no broadcast address of their own (RFC 3021).
  if (lease.prefixLength <= 30) options.set(Option.BROADCAST, encodeUint32((ipToNumber(lease.ip) | ~mask) >>> 0));
  if (lease.gateway) options.set(Option.ROUTER, encodeIpList([lease.gateway]));
  if (lease.dns.length > 0) options.set(Option.DNS, encodeIpList(lease.dns));
  if (lease.hostname) options.set(Option.HOSTNAME, Buffer.from(lease.hostname, 'utf8'));
  const domainName = lease.domainName ?? longest(lease.searchDomains);
  if (domainName) options.set(Option.DOMAIN_NAME, Buffer.from(domainName.replace(/\.$/, ''), 'latin1'));
  if (lease.searchDomains.length > 0) options.set(Option.DOMAIN_SEARCH, encodeDomainSearch(lease.searchDomains, { compress: lease.compressSearch ?? true }));
  if (lease.mtu !== undefined) options.set(Option.INTERFACE_MTU, encodeUint16(lease.mtu));
  const routes = classlessRoutes(lease);
  if (routes) options.set(Option.CLASSLESS_ROUTES, encodeClasslessRoutes(routes));

  return { mac: lease.mac.toLowerCase(), ip: lease.ip, serverIp, leaseSeconds, options, routes };
}

/**
 * The option 121 list, or undefined when option 3 alone says it all. A gateway
 * outside the subnet (Calico's 169.254.1.1 beside a /32 pod address) is unreachable
 * through option 3 alone, so it gets an on-link host route first. Default routes go
 * last, as in KubeVirt: a client adding routes in order needs the gateway reachable
 * before the default route through it.
 */
export function classlessRoutes(lease: Pick<DhcpLease, 'ip' | 'prefixLength' | 'gateway' | 'routes'>): ClasslessRoute[] | undefined {
  const gateway = lease.gateway && lease.gateway !== '0.0.0.0' ? lease.gateway : undefined;
  const offLink = gateway !== undefined && !sameSubnet(gateway, lease.ip, lease.prefixLength);
  if (!lease.routes?.length && !offLink) return undefined;
  const routes = lease.routes ? lease.routes.map((r) => ({ ...r })) : [];
  if (offLink && !routes.some((r) => r.prefixLen > 0 && sameSubnet(gateway, r.dest, r.prefixLen))) {
    routes.unshift({ dest: gateway, prefixLen: 32, gateway: '0.0.0.0' });
  }
  if (gateway && !routes.some((r) => r.prefixLen === 0)) routes.push({ dest: '0.0.0.0', prefixLen: 0, gateway });
  return [...routes.filter((r) => r.prefixLen > 0), ...routes.filter((r) => r.prefixLen === 0)];
}

function sameSubnet(a: string, b: string, prefixLength: number): boolean {
  const mask = prefixToMask(prefixLength);
  return ((ipToNumber(a) & mask) >>> 0) === ((ipToNumber(b) & mask) >>> 0);
}

function longest(domains: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const d of domains) if (best === undefined || d.length > best.length) best = d;
  return best;
}
