// The node's pod network, as a CNI's config would describe it: the bridge, the pod
// CIDR its addresses come from, the nft table virtnode owns, and the DNS pods get.
// Validated once, with every bad field named.

import { InvalidSpecError, type FieldError } from '../../proto/errors.js';
import { formatIPv4, nthAddress, overlaps, parseCidr, parseCidrLoose, parseIPv4, type Cidr } from './ipv4.js';

/** KubeVirt's default vmNetworkCIDR (api.DefaultVMCIDR): the masquerade guest side. */
export const DEFAULT_VM_NETWORK_CIDR = '10.0.2.0/24';
/** KubeVirt's search list for a pod in `{namespace}` (kubelet's ClusterFirst DNS policy). */
export const DEFAULT_SEARCH_DOMAINS = ['{namespace}.svc.cluster.local', 'svc.cluster.local', 'cluster.local'];

export interface DnsConfig {
  /** Default: the host's nameservers (/etc/resolv.conf; systemd-resolved's upstreams when that names a stub on loopback). */
  nameservers?: string[];
  /** `{namespace}` is replaced by the VMI's namespace. Default DEFAULT_SEARCH_DOMAINS. */
  searchDomains?: string[];
  /** resolv.conf `options` (e.g. "ndots:5"). Default none. */
  options?: string[];
}

export interface NodeNetworkConfig {
  /** The node bridge every pod's veth is attached to. Default vn-br0. */
  bridge?: string;
  /** Pod addresses; the first host address goes to the bridge and is every pod's gateway. Default 10.244.0.0/24. */
  podCIDR?: string;
  /** MTU of the bridge and the pods' veths. Default: the MTU of the node's default-route link, else 1500. */
  mtu?: number;
  /** The one nft table virtnode owns on the node (family inet). Default virtnode. */
  nftTable?: string;
  /** 1-3 lowercase letters in front of per-VM names (netns `<prefix>-<id>`, veth `<prefix><id>`). Default vn. */
  namePrefix?: string;
  dns?: DnsConfig;
}

export interface ResolvedNodeNetwork {
  bridge: string;
  podCIDR: Cidr;
  podCIDRText: string;
  /** The bridge's address: the pods' default gateway. */
  gateway: string;
  mtu: number | undefined;
  nftTable: string;
  namePrefix: string;
  dns: DnsConfig;
}

export const DEFAULT_NODE_NETWORK: Readonly<Required<Omit<NodeNetworkConfig, 'mtu' | 'dns'>>> = Object.freeze({
  bridge: 'vn-br0',
  podCIDR: '10.244.0.0/24',
  nftTable: 'virtnode',
  namePrefix: 'vn',
});

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
const NFT_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/** Validates `cfg` (fields reported under `path`, e.g. "network.podCIDR") and fills in defaults. */
export function resolveNodeNetwork(cfg: NodeNetworkConfig = {}, path = 'network'): ResolvedNodeNetwork {
  const errors: FieldError[] = [];
  const fail = (field: string, message: string): void => void errors.push({ path: `${path}.${field}`, message });

  const bridge = cfg.bridge ?? DEFAULT_NODE_NETWORK.bridge;
  if (!IFNAME.test(bridge)) fail('bridge', `${JSON.stringify(bridge)} is not an interface name (1-15 of A-Z a-z 0-9 _ . -)`);

  const podCIDRText = cfg.podCIDR ?? DEFAULT_NODE_NETWORK.podCIDR;
  const podCIDR = parseCidr(podCIDRText);
  if (!podCIDR) {
    fail('podCIDR', `${JSON.stringify(podCIDRText)} is not an IPv4 CIDR with its host bits clear (e.g. 10.244.0.0/24)`);
  } else if (podCIDR.prefixLength > 30) {
    fail('podCIDR', `${podCIDRText} is too small: a bridge address and at least one pod need a /30 or larger`);
  } else {
    const vm = parseCidr(DEFAULT_VM_NETWORK_CIDR)!;
    if (overlaps(podCIDR, vm)) {
      fail('podCIDR', `${podCIDRText} overlaps the default vmNetworkCIDR ${DEFAULT_VM_NETWORK_CIDR} that masquerade guests live in`);
    }
  }

  if (cfg.mtu !== undefined && (!Number.isInteger(cfg.mtu) || cfg.mtu < 576 || cfg.mtu > 65535)) {
    fail('mtu', `${cfg.mtu} is not an MTU between 576 and 65535`);
  }
  const nftTable = cfg.nftTable ?? DEFAULT_NODE_NETWORK.nftTable;
  if (!NFT_NAME.test(nftTable)) fail('nftTable', `${JSON.stringify(nftTable)} is not an nft table name`);
  const namePrefix = cfg.namePrefix ?? DEFAULT_NODE_NETWORK.namePrefix;
  if (!/^[a-z]{1,3}$/.test(namePrefix)) fail('namePrefix', `${JSON.stringify(namePrefix)} must be 1-3 lowercase letters (interface names have 15 bytes)`);

  const dns = cfg.dns ?? {};
  (dns.nameservers ?? []).forEach((ns, i) => {
    if (parseIPv4(ns) === undefined) fail(`dns.nameservers[${i}]`, `${JSON.stringify(ns)} is not an IPv4 address`);
  });
  (dns.searchDomains ?? []).forEach((d, i) => {
    if (!/^[A-Za-z0-9{}_.-]{1,253}$/.test(d)) fail(`dns.searchDomains[${i}]`, `${JSON.stringify(d)} is not a domain name`);
  });
  (dns.options ?? []).forEach((o, i) => {
    if (!/^[A-Za-z0-9_:.-]+$/.test(o)) fail(`dns.options[${i}]`, `${JSON.stringify(o)} is not a resolv.conf option`);
  });

  if (errors.length > 0) throw new InvalidSpecError(errors);
  return {
    bridge,
    podCIDR: podCIDR!,
    podCIDRText,
    gateway: formatIPv4(nthAddress(podCIDR!, 1)),
    mtu: cfg.mtu,
    nftTable,
    namePrefix,
    dns,
  };
}

/**
 * A VMI's vmNetworkCIDR (spec.networks[i].pod.vmNetworkCIDR, KubeVirt accepts
 * host bits) → its gateway (first host) and guest (second host) addresses. Fails
 * with the field path when it is too small or overlaps the node's pod CIDR (the pod
 * would then route its own pods' addresses to the guest).
 */
export function vmNetwork(text: string | undefined, node: ResolvedNodeNetwork, path: string): { cidr: Cidr; gateway: string; guest: string } {
  const t = text || DEFAULT_VM_NETWORK_CIDR;
  const cidr = parseCidrLoose(t);
  const fail = (message: string): never => {
    throw new InvalidSpecError([{ path, message }]);
  };
  if (!cidr) fail(`${JSON.stringify(t)} is not an IPv4 CIDR`);
  if (cidr!.prefixLength > 30) fail(`VM CIDR subnet is too small, at least 2 host addresses are required: ${t}`);
  if (overlaps(cidr!, node.podCIDR)) fail(`${t} overlaps the node's pod CIDR ${node.podCIDRText}`);
  return { cidr: cidr!, gateway: formatIPv4(nthAddress(cidr!, 1)), guest: formatIPv4(nthAddress(cidr!, 2)) };
}
