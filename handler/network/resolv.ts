// A pod's resolv.conf, as kubelet writes one: the node's nameservers (or configured
// ones) and a search list for the pod's namespace. The launcher hands the same
// servers and domains to the guest over DHCP.

import { promises as fs } from 'node:fs';
import { isIPv4 } from 'node:net';
import type { DnsConfig } from './config.js';
import { DEFAULT_SEARCH_DOMAINS } from './config.js';

export interface PodDns {
  nameservers: string[];
  searchDomains: string[];
  options: string[];
}

export interface HostResolvConf {
  nameservers: string[];
  search: string[];
}

export function parseResolvConf(text: string): HostResolvConf {
  const nameservers: string[] = [];
  let search: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [key, ...rest] = line.split(/\s+/);
    if (key === 'nameserver' && rest[0]) nameservers.push(rest[0]);
    // The last search/domain line wins, as in glibc.
    else if (key === 'search' || key === 'domain') search = rest;
  }
  return { nameservers, search };
}

const isLoopback = (a: string): boolean => a.startsWith('127.') || a === '::1';

/**
 * The node's upstream nameservers as a pod can reach them: IPv4 only (pods have no
 * IPv6 yet), and never a loopback stub (127.0.0.53 is the node's, not the pod's);
 * with systemd-resolved, its real upstreams, as kubelet does.
 */
export async function hostNameservers(files = ['/etc/resolv.conf', '/run/systemd/resolve/resolv.conf']): Promise<string[]> {
  for (const f of files) {
    let text: string;
    try {
      text = await fs.readFile(f, 'utf8');
    } catch {
      continue;
    }
    const usable = parseResolvConf(text).nameservers.filter((a) => isIPv4(a) && !isLoopback(a));
    if (usable.length > 0) return usable.slice(0, 3);
  }
  return [];
}

export async function podDns(cfg: DnsConfig, namespace: string): Promise<PodDns> {
  return {
    nameservers: cfg.nameservers ?? (await hostNameservers()),
    searchDomains: (cfg.searchDomains ?? DEFAULT_SEARCH_DOMAINS).map((d) => d.replaceAll('{namespace}', namespace)),
    options: cfg.options ?? [],
  };
}

export function renderResolvConf(dns: PodDns): string {
  const lines = dns.nameservers.map((n) => `nameserver ${n}`);
  if (dns.searchDomains.length > 0) lines.push(`search ${dns.searchDomains.join(' ')}`);
  if (dns.options.length > 0) lines.push(`options ${dns.options.join(' ')}`);
  return lines.join('\n') + '\n';
}
