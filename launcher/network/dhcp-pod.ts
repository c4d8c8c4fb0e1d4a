// What the pod tells the VM's DHCP server: its resolver configuration (KubeVirt hands
// the guest the pod's nameservers and search list) and the MTU of the pod interface.
import { readFileSync } from 'node:fs';
import { NotFoundError, VirtnodeError } from '../../proto/errors.js';
import { isIPv4 } from './dhcp-packet.js';

export interface ResolvConf {
  /** IPv4 nameservers in file order (DHCPv4 can carry no others), without repeats. */
  nameservers: string[];
  /** The search list, lower-cased as Kubernetes names are. */
  searches: string[];
}

/**
 * Reads resolv.conf(5) as glibc does: `#`/`;` comments, one `nameserver` per line,
 * and the last `search` or `domain` line wins. Defaults are left to the caller:
 * KubeVirt falls back to 8.8.8.8 and cluster.local, which only fit inside a cluster.
 */
export function readResolvConf(path = '/etc/resolv.conf'): ResolvConf {
  return parseResolvConf(readFileSync(path, 'utf8'));
}

export function parseResolvConf(text: string): ResolvConf {
  const nameservers: string[] = [];
  let searches: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [keyword, ...args] = line.split(/\s+/);
    if (keyword === 'nameserver' && args[0] !== undefined) {
      // glibc takes an address with an optional IPv6 scope; anything else on the line is ignored.
      const ip = args[0];
      if (isIPv4(ip) && !nameservers.includes(ip)) nameservers.push(ip);
    } else if (keyword === 'search') {
      searches = args.filter((a) => a !== '').map((a) => a.toLowerCase());
    } else if (keyword === 'domain' && args[0] !== undefined) {
      searches = [args[0].toLowerCase()];
    }
  }
  return { nameservers, searches };
}

/**
 * The MTU of `ifname` from sysfs. /sys/class/net shows the network namespace that
 * mounted /sys, not the caller's: right inside a pod (and under `ip netns exec`, which
 * remounts it), wrong for a process that only setns()'d into another namespace.
 */
export function mtuOf(ifname: string): number {
  if (!/^[^/\s:]{1,15}$/.test(ifname) || ifname === '.' || ifname === '..') throw new VirtnodeError('VN_INVALID_SPEC', `not an interface name: ${JSON.stringify(ifname)}`);
  let text: string;
  try {
    text = readFileSync(`/sys/class/net/${ifname}/mtu`, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`network interface ${JSON.stringify(ifname)}`);
    throw e;
  }
  const mtu = Number(text.trim());
  if (!Number.isInteger(mtu) || mtu <= 0) throw new VirtnodeError('VN_INTERNAL', `/sys/class/net/${ifname}/mtu holds ${JSON.stringify(text.trim())}`);
  return mtu;
}
