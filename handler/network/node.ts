// The node half of the pod network (a CNI bridge plugin's job, done once per node):
// the bridge with the pod CIDR's gateway address, IP forwarding, and the one nft
// table virtnode owns, which masquerades pod traffic leaving the node. Idempotent:
// the handler runs it on every start, and it converges whatever it finds.

import { writeFileSync, readFileSync } from 'node:fs';
import { InvalidSpecError } from '../../proto/errors.js';
import type { ResolvedNodeNetwork } from './config.js';
import { ip, ipJson, nodeNft, NetworkError } from './exec.js';
import { formatCidr, overlaps, parseCidrLoose } from './ipv4.js';

export interface NodeNetworkStatus {
  bridge: string;
  gateway: string;
  podCIDR: string;
  mtu: number;
}

interface JsonLink {
  ifname: string;
  mtu: number;
  linkinfo?: { info_kind?: string };
  addr_info?: Array<{ family: string; local: string; prefixlen: number }>;
}

const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';

export async function ensureNode(node: ResolvedNodeNetwork): Promise<NodeNetworkStatus> {
  await checkHostAddresses(node);
  const mtu = node.mtu ?? (await defaultRouteMtu()) ?? 1500;

  const [existing] = await ipJson<JsonLink>(['-d', 'addr', 'show', 'dev', node.bridge], undefined, { okIf: (e) => /does not exist/.test(e) });
  if (existing && existing.linkinfo?.info_kind !== 'bridge') {
    throw new NetworkError(`${node.bridge} exists and is not a bridge (${existing.linkinfo?.info_kind ?? 'a physical link'}): choose another network.bridge`);
  }
  if (!existing) await ip(['link', 'add', node.bridge, 'type', 'bridge']);
  const want = `${node.gateway}/${node.podCIDR.prefixLength}`;
  const have = (existing?.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`);
  // The bridge is ours: an address left from an earlier pod CIDR goes.
  for (const stale of have.filter((a) => a !== want)) await ip(['addr', 'del', stale, 'dev', node.bridge]);
  if (!have.includes(want)) await ip(['addr', 'add', want, 'dev', node.bridge]);
  await ip(['link', 'set', node.bridge, 'mtu', String(mtu), 'up']);

  if (readFileSync(IP_FORWARD, 'utf8').trim() !== '1') writeFileSync(IP_FORWARD, '1');
  await nodeNft(nodeRules(node));
  return { bridge: node.bridge, gateway: node.gateway, podCIDR: node.podCIDRText, mtu };
}

/** Removes the bridge and the nft table (uninstall, tests). Leaves ip_forward alone: others may rely on it. */
export async function removeNode(node: ResolvedNodeNetwork): Promise<void> {
  await ip(['link', 'del', node.bridge], undefined, { okIf: (e) => /cannot find device/i.test(e) });
  await nodeNft(`table inet ${node.nftTable}\ndelete table inet ${node.nftTable}\n`);
}

/**
 * The node's table, replaced whole in one nft transaction. Pod-to-pod traffic keeps
 * its addresses (pods see each other's real IPs, as Kubernetes requires); anything
 * else from a pod leaves with the node's address.
 */
export function nodeRules(node: ResolvedNodeNetwork): string {
  const t = `inet ${node.nftTable}`;
  const cidr = formatCidr(node.podCIDR);
  return [
    `table ${t}`,
    `delete table ${t}`,
    `table ${t} {`,
    `  chain postrouting {`,
    `    type nat hook postrouting priority srcnat; policy accept;`,
    `    ip saddr ${cidr} ip daddr != ${cidr} counter masquerade comment "virtnode pods leaving the node"`,
    `  }`,
    `}`,
    '',
  ].join('\n');
}

/** The pod CIDR must be the bridge's alone: an overlap with another link's address breaks routing on the node. */
async function checkHostAddresses(node: ResolvedNodeNetwork): Promise<void> {
  const links = await ipJson<JsonLink>(['addr', 'show']);
  for (const l of links) {
    if (l.ifname === node.bridge) continue;
    for (const a of l.addr_info ?? []) {
      if (a.family !== 'inet') continue;
      const c = parseCidrLoose(`${a.local}/${a.prefixlen}`);
      if (c && overlaps(c, node.podCIDR)) {
        throw new InvalidSpecError([{ path: 'network.podCIDR', message: `${node.podCIDRText} overlaps ${a.local}/${a.prefixlen} on the node's ${l.ifname}` }]);
      }
    }
  }
}

async function defaultRouteMtu(): Promise<number | undefined> {
  const [route] = await ipJson<{ dev?: string }>(['route', 'show', 'default']);
  if (!route?.dev) return undefined;
  const [link] = await ipJson<JsonLink>(['link', 'show', 'dev', route.dev]);
  return link?.mtu;
}
