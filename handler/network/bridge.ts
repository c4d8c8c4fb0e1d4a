// The bridge binding inside the pod (virt-handler's bridge configurator): the guest
// takes the pod's place on the wire. eth0 gives up its address and joins k6t-eth0
// with the tap, so the guest, configured by the launcher's DHCP server, answers for
// the pod IP itself.
//
// MACs are swapped as KubeVirt does: the guest gets the MAC eth0 had (unless the
// spec names one), so whatever already knows the pod IP → MAC (the node's neighbour
// table) stays right, and eth0 takes another one. If eth0 kept it, the in-pod bridge
// would hold a local FDB entry for the guest's MAC and swallow frames meant for it.

import { ipBatch } from './exec.js';
import { POD_BRIDGE, POD_IFACE, POD_TAP } from './names.js';
import { setNetnsSysctls } from './sysctl.js';
import { createPersistentTap } from './tap.js';

/**
 * A link-local /32 on k6t-eth0, KubeVirt's "fake" bridge IP (169.254.75.1 + the
 * interface index): the launcher's DHCP server needs an IPv4 address on the bridge to
 * answer from, and it must be one the guest's subnet never uses.
 */
export const BRIDGE_FAKE_IP = '169.254.75.10';

export interface BridgeSetup {
  netns: string;
  netnsPath: string;
  mtu: number;
  /** The MAC eth0 takes once the guest has its original one. */
  podIfaceMac: string;
  multiQueue: boolean;
}

export async function setupBridge(s: BridgeSetup): Promise<void> {
  await ipBatch([
    `link add ${POD_BRIDGE} mtu ${s.mtu} type bridge`,
    `addr flush dev ${POD_IFACE}`,
    `link set ${POD_IFACE} down`,
    `link set ${POD_IFACE} address ${s.podIfaceMac}`,
    `link set ${POD_IFACE} master ${POD_BRIDGE}`,
    // KubeVirt turns learning off on the pod side port: the node's MACs are reached by flooding to eth0 only.
    `link set ${POD_IFACE} type bridge_slave learning off`,
    `link set ${POD_IFACE} up`,
    `addr add ${BRIDGE_FAKE_IP}/32 dev ${POD_BRIDGE}`,
    `link set ${POD_BRIDGE} up`,
  ], s.netns);
  createPersistentTap(s.netnsPath, POD_TAP, s.multiQueue);
  await ipBatch([`link set ${POD_TAP} master ${POD_BRIDGE} mtu ${s.mtu} up`], s.netns);
  // Answer ARP only for addresses on the link asked (KubeVirt's arp_ignore=1): the pod
  // must never answer for an address the guest owns.
  setNetnsSysctls(s.netnsPath, { 'net/ipv4/conf/all/arp_ignore': '1', [`net/ipv4/conf/${POD_BRIDGE}/arp_ignore`]: '1' });
}
