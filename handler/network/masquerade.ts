// The masquerade binding inside the pod (virt-handler's masquerade configurator): the
// guest lives behind the in-pod bridge k6t-eth0 on vmNetworkCIDR (10.0.2.2, gateway
// 10.0.2.1) and the pod's netns NATs between it and the pod's eth0: out with the pod
// IP, in to the guest for the interface's ports (or everything when it lists none).
// The guest's address never changes whatever pod it runs in: KubeVirt's reason for
// making this the default (live migration keeps it).

import type { Port } from '../../proto/vmi/types.js';
import { ipBatch, podNft } from './exec.js';
import { POD_BRIDGE, POD_IFACE, POD_TAP } from './names.js';
import { setNetnsSysctls } from './sysctl.js';
import { createPersistentTap } from './tap.js';

/** KubeVirt's StaticMasqueradeBridgeMAC: the guest's gateway MAC is the same in every pod. */
export const MASQUERADE_BRIDGE_MAC = '02:00:00:00:00:00';
/** The one nft table virtnode makes inside a pod's netns. */
export const POD_NFT_TABLE = 'virtnode';

export interface MasqueradeSetup {
  netns: string;
  netnsPath: string;
  mtu: number;
  gateway: string;
  guest: string;
  prefixLength: number;
  ports: Port[];
  multiQueue: boolean;
}

export async function setupMasquerade(s: MasqueradeSetup): Promise<void> {
  await ipBatch([
    `link add ${POD_BRIDGE} address ${MASQUERADE_BRIDGE_MAC} mtu ${s.mtu} type bridge`,
    `addr add ${s.gateway}/${s.prefixLength} dev ${POD_BRIDGE}`,
    `link set ${POD_BRIDGE} up`,
  ], s.netns);
  createPersistentTap(s.netnsPath, POD_TAP, s.multiQueue);
  await ipBatch([`link set ${POD_TAP} master ${POD_BRIDGE} mtu ${s.mtu} up`], s.netns);
  setNetnsSysctls(s.netnsPath, {
    'net/ipv4/ip_forward': '1',
    // Lets the output-chain DNAT of 127.0.0.1 (probes from inside the pod) leave through the bridge.
    [`net/ipv4/conf/${POD_BRIDGE}/route_localnet`]: '1',
  });
  await podNft(s.netnsPath, masqueradeRules(s));
}

/**
 * The pod's NAT, KubeVirt's chains in one inet table: prerouting DNATs what arrives
 * on eth0 (so the guest's own traffic, arriving on k6t-eth0, is never DNATed);
 * postrouting masquerades the guest going out; the output/postinbound pair makes
 * 127.0.0.1:<port> inside the pod reach the guest, as kubelet's probes do in KubeVirt.
 * With no ports, everything inbound goes to the guest, ICMP included, as in KubeVirt.
 */
export function masqueradeRules(s: Pick<MasqueradeSetup, 'gateway' | 'guest' | 'ports'>): string {
  const t = `inet ${POD_NFT_TABLE}`;
  const byProto = new Map<string, number[]>();
  for (const p of s.ports) {
    const proto = (p.protocol ?? 'TCP').toLowerCase();
    byProto.set(proto, [...(byProto.get(proto) ?? []), p.port]);
  }
  const match = (proto: string, ports: number[]): string => `${proto} dport { ${[...new Set(ports)].join(', ')} }`;
  const selectors = s.ports.length === 0 ? [''] : [...byProto].map(([proto, ports]) => `${match(proto, ports)} `);
  return [
    `table ${t}`,
    `delete table ${t}`,
    `table ${t} {`,
    `  chain prerouting {`,
    `    type nat hook prerouting priority dstnat; policy accept;`,
    `    iifname "${POD_IFACE}" counter jump inbound`,
    `  }`,
    `  chain inbound {`,
    ...selectors.map((sel) => `    ${sel}counter dnat ip to ${s.guest}`),
    `  }`,
    `  chain output {`,
    `    type nat hook output priority -100; policy accept;`,
    ...selectors.map((sel) => `    ip daddr 127.0.0.1 ${sel}counter dnat ip to ${s.guest}`),
    `  }`,
    `  chain postrouting {`,
    `    type nat hook postrouting priority srcnat; policy accept;`,
    `    ip saddr ${s.guest} counter masquerade`,
    `    oifname "${POD_BRIDGE}" counter jump postinbound`,
    `  }`,
    `  chain postinbound {`,
    ...selectors.map((sel) => `    ${sel}ip saddr 127.0.0.1 counter snat ip to ${s.gateway}`),
    `  }`,
    `}`,
    '',
  ].join('\n');
}
