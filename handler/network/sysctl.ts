// Per-namespace sysctls. /proc/sys/net answers for the network namespace of the
// thread that opens it, so a write inside withNetns lands in the pod without
// spawning `ip netns exec sysctl`.

import { writeFileSync } from 'node:fs';
import { withNetns } from '../../native/index.js';

/** key → value, keys relative to /proc/sys (e.g. "net/ipv4/ip_forward"). */
export function setNetnsSysctls(netnsPath: string, values: Record<string, string>): void {
  withNetns(netnsPath, () => {
    for (const [key, value] of Object.entries(values)) writeFileSync(`/proc/sys/${key}`, value);
  });
}
