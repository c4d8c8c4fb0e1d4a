// Pod networking for standalone mode: the node bridge and NAT (CNI's part), and per
// VMI a network namespace with the masquerade or bridge binding (virt-handler's
// part). The handler makes one PodNetworking, calls ensureNode() at start, then
// createPodNetwork before a VMI's launcher starts and destroyPodNetwork after it ends.
export { PodNetworking, netnsArgv, type PodNetworkingOptions } from './pod-network.js';
export {
  resolveNodeNetwork,
  vmNetwork,
  DEFAULT_NODE_NETWORK,
  DEFAULT_VM_NETWORK_CIDR,
  DEFAULT_SEARCH_DOMAINS,
  type NodeNetworkConfig,
  type ResolvedNodeNetwork,
  type DnsConfig,
} from './config.js';
export { ensureNode, removeNode, nodeRules, type NodeNetworkStatus } from './node.js';
export { planPodNetwork, podNetworkRequest, type PlannedInterface } from './request.js';
export { masqueradeRules, MASQUERADE_BRIDGE_MAC, POD_NFT_TABLE } from './masquerade.js';
export { BRIDGE_FAKE_IP } from './bridge.js';
export { podNames, podId, POD_IFACE, POD_BRIDGE, POD_TAP, type PodNames } from './names.js';
export { NetworkError } from './exec.js';
export { Ipam, IpamError, type Lease } from './ipam.js';
export type { PodNetworkRequest, PodNetwork, PodInterface, GuestNetworkConfig, GuestRoute, PodNetworkEntry, PodBinding } from './types.js';
