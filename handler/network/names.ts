// Per-VM kernel names, derived from the VMI uid alone so that a restarted handler (or
// a destroy without any record) finds the same objects. Interface names have 15
// bytes: "<prefix><12 hex>" leaves room for a prefix of up to 3 letters.

import { createHash } from 'node:crypto';

/** The in-pod names KubeVirt uses for the pod network (pkg/network/link, namescheme). */
export const POD_IFACE = 'eth0';
export const POD_BRIDGE = 'k6t-eth0';
export const POD_TAP = 'tap0';

export const ID_LENGTH = 12;
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

export interface PodNames {
  /** 12 hex characters: the uid's first ones when it is a UUID (so `ip netns` reads like the uid), else a hash. */
  id: string;
  /** Named network namespace: /run/netns/<netns>. */
  netns: string;
  netnsPath: string;
  /** The node end of the pod's veth, on the node bridge. */
  hostVeth: string;
}

export function podId(uid: string): string {
  if (UUID.test(uid)) return uid.replaceAll('-', '').toLowerCase().slice(0, ID_LENGTH);
  return createHash('sha256').update(uid).digest('hex').slice(0, ID_LENGTH);
}

export function podNames(uid: string, prefix: string): PodNames {
  const id = podId(uid);
  const netns = `${prefix}-${id}`;
  return { id, netns, netnsPath: `/run/netns/${netns}`, hostVeth: `${prefix}${id}` };
}

/** Matches names podNames makes with this prefix; captures the id. */
export function netnsPattern(prefix: string): RegExp {
  return new RegExp(`^${prefix}-([0-9a-f]{${ID_LENGTH}})$`);
}

export function hostVethPattern(prefix: string): RegExp {
  return new RegExp(`^${prefix}([0-9a-f]{${ID_LENGTH}})$`);
}

/** QEMU's (and libvirt's) OUI for guest NICs. */
export const QEMU_OUI = [0x52, 0x54, 0x00] as const;
/** A locally administered, unicast first byte: for the pod's own links. */
export const LOCAL_OUI = [0x02] as const;

/**
 * A MAC that is the same for the same `seed` every time (libvirt picks guest MACs at
 * random; a stable one survives a handler restart and a re-created pod network).
 */
export function stableMac(seed: string, oui: readonly number[]): string {
  const h = createHash('sha256').update(seed).digest();
  const bytes = [...oui, ...h.subarray(0, 6 - oui.length)];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}
