// What the launcher gives up once QEMU runs. Until then it needs root's capabilities:
// joining the pod's network namespace, opening taps, binding the DHCP servers to
// port 67 on the bridge, making QEMU's view and starting it confined (sys_admin,
// net_admin, net_bind_service, net_raw, chown, mknod, setuid, setgid, setpcap...).
// Afterwards its work is QMP, the console, DHCP answers on sockets it already holds,
// the handler session and its events. It stays uid 0 (the handler admits only a root
// peer, and its run directory and sockets are root's) and keeps only:
//
//   kill   QEMU runs as 107: SIGKILL from uid 0 to it (kill, the shutdown grace
//          period, a panicked guest) needs CAP_KILL.
//
// Not kept, and why nothing breaks:
//   net_admin       a NIC hot-plug opens a tap the handler made: TUNSETIFF attaches to
//                   an existing tap without it unless the tap has an owner or group
//                   that is not the caller's (the handler's taps have none). Making a
//                   tap would need it; the launcher never does.
//   dac_override,   the launcher reaches root's files as their owner, and QEMU's
//   dac_read_search sockets by group (confine.ts: a set-gid root directory, umask 0007).
//   sys_admin       setns and the mounts of QEMU's view happen before.
//   net_bind_service, net_raw   the DHCP sockets are bound before QEMU runs; a
//                   hot-plugged NIC gets no DHCP server of its own.
//
// The bounding set is cut to the same, no_new_privs is set. Capabilities are per
// thread: the main thread and libuv's pool threads drop them (native/capabilities.ts);
// V8's platform threads, which run neither JS nor our I/O, cannot be reached and
// keep the original set.

import type { Logger } from 'pino';
import { errorMessage } from '../proto/errors.js';
import { capabilityMask, capabilityNames, limitPoolCapabilities, limitThreadCapabilities, type CapabilityName } from '../native/index.js';

export const KEPT_CAPABILITIES: readonly CapabilityName[] = ['kill'];

/** Drops every capability but KEPT_CAPABILITIES from this process's main and pool threads. */
export async function dropLauncherPrivileges(log: Logger): Promise<void> {
  try {
    const t0 = performance.now();
    const main = limitThreadCapabilities(capabilityMask(KEPT_CAPABILITIES));
    const pool = await limitPoolCapabilities();
    const fields = { kept: capabilityNames(main.permitted), threadsLimited: pool.limited.length, threadsKeeping: pool.others.length, rounds: pool.rounds, ms: Math.round(performance.now() - t0) };
    if (pool.complete) log.info(fields, 'QEMU runs: the launcher dropped its capabilities');
    else log.warn(fields, 'QEMU runs: the launcher dropped its capabilities, but not every pool thread was reached');
  } catch (e) {
    // Hardening, not function: the VM runs on, and the log says the launcher kept them.
    log.error({ err: errorMessage(e) }, 'dropping the launcher\'s capabilities failed');
  }
}
