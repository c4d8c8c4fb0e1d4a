// What the handler asks of the pod network and what it gets back. The request speaks
// kubevirt.io/v1 (the VMI's own interfaces and networks), so its validation and its
// field paths are the admission webhook's; the result is plain data the launcher
// needs: where the pod's network lives, which tap each NIC uses, and what its DHCP
// server tells the guest.

import type { Interface, Network } from '../../proto/vmi/types.js';

export type PodBinding = 'masquerade' | 'bridge';

export interface PodNetworkRequest {
  uid: string;
  namespace: string;
  name: string;
  /** spec.domain.devices.interfaces, after defaults (KubeVirt's default is one masquerade "default"). */
  interfaces?: Interface[];
  /** spec.networks. */
  networks?: Network[];
  /** spec.domain.devices.networkInterfaceMultiqueue: taps get IFF_MULTI_QUEUE (virtio NICs only). */
  multiQueue?: boolean;
  /** The VM's run directory (it must exist): resolv.conf is written there. */
  runDir: string;
  /** The guest's hostname over DHCP; default the VMI name. */
  hostname?: string;
}

export interface GuestRoute {
  /** CIDR, "0.0.0.0/0" for the default route. */
  destination: string;
  gateway: string;
}

/** What the launcher's DHCP server offers the guest on one interface. */
export interface GuestNetworkConfig {
  ip: string;
  prefixLength: number;
  gateway: string;
  /** The MAC the guest NIC must have for this lease (QEMU -device mac=). */
  mac: string;
  /** The address the DHCP server answers from (its server identifier). */
  dhcpServerIP: string;
  dns: string[];
  searchDomains: string[];
  hostname: string;
  mtu: number;
  /** Routes besides the default one via `gateway`; empty today. */
  routes: GuestRoute[];
}

export interface PodInterface {
  /** The VMI interface (and network) name. */
  name: string;
  binding: PodBinding;
  /** Persistent tap in the pod's netns; the launcher opens it by name there (TUNSETIFF), `multiQueue` must match. */
  tapName: string;
  multiQueue: boolean;
  /** In-pod bridge joining the tap to the pod's eth0 (bridge) or to the pod's routing (masquerade). */
  bridgeName: string;
  guest: GuestNetworkConfig;
}

export interface PodNetwork {
  uid: string;
  namespace: string;
  name: string;
  netnsName: string;
  /** /run/netns/<name>: setns(2) or `nsenter --net=` this to run the launcher inside. */
  netnsPath: string;
  /** The node end of the pod's veth. */
  hostVeth: string;
  podIP: string;
  podPrefixLength: number;
  podGateway: string;
  /** eth0's MAC as the pod network made it (the guest's under the bridge binding). */
  podMac: string;
  mtu: number;
  resolvConfPath: string;
  interfaces: PodInterface[];
}

/** One entry of listPodNetworks: a record on disk and what of it the kernel still has. */
export interface PodNetworkEntry {
  /** Undefined for a leftover with no record (found by name only). */
  uid: string | undefined;
  id: string;
  netnsName: string;
  hostVeth: string;
  /** `creating`: a create that never finished (handler crash); `ready`: complete; `leftover`: kernel objects or a lease without a record. */
  state: 'creating' | 'ready' | 'leftover';
  podIP?: string;
  netnsExists: boolean;
  hostVethExists: boolean;
  namespace?: string;
  name?: string;
}
