// Capabilities, for a process that needs fewer of them once its work is set up (the
// launcher once QEMU runs). Linux keeps capabilities per thread, and capset(2) can
// only change the calling thread's: a Node process has a main thread (all JS, and
// every synchronous native call), libuv's pool threads (async fs, dns, koffi's async
// calls) and V8's platform threads (GC, compilation). limitThreadCapabilities drops on
// the calling thread; limitPoolCapabilities reaches the pool threads by running capset
// as koffi async calls, which run on them. V8's platform threads cannot be reached
// from JS: they keep what the process had, but run neither JS nor I/O of ours.

import { readdirSync, readFileSync } from 'node:fs';
import { check, libcFunction, type NativeFunction } from './libc.js';
import { NativeError } from './errors.js';

/** capability.h, by number. */
const NAMES = [
  'chown', 'dac_override', 'dac_read_search', 'fowner', 'fsetid', 'kill', 'setgid', 'setuid', 'setpcap',
  'linux_immutable', 'net_bind_service', 'net_broadcast', 'net_admin', 'net_raw', 'ipc_lock', 'ipc_owner',
  'sys_module', 'sys_rawio', 'sys_chroot', 'sys_ptrace', 'sys_pacct', 'sys_admin', 'sys_boot', 'sys_nice',
  'sys_resource', 'sys_time', 'sys_tty_config', 'mknod', 'lease', 'audit_write', 'audit_control', 'setfcap',
  'mac_override', 'mac_admin', 'syslog', 'wake_alarm', 'block_suspend', 'audit_read', 'perfmon', 'bpf',
  'checkpoint_restore',
] as const;

export type CapabilityName = (typeof NAMES)[number];

const _LINUX_CAPABILITY_VERSION_3 = 0x20080522;
const PR_CAPBSET_READ = 23;
const PR_CAPBSET_DROP = 24;
const PR_SET_NO_NEW_PRIVS = 38;
const PR_CAP_AMBIENT = 47;
const PR_CAP_AMBIENT_CLEAR_ALL = 4;

/** A set of capabilities as the kernel writes it (bit n = capability n). */
export function capabilityMask(names: readonly CapabilityName[]): bigint {
  let mask = 0n;
  for (const n of names) {
    const i = NAMES.indexOf(n);
    if (i < 0) throw new NativeError('capabilityMask', `unknown capability ${JSON.stringify(n)}`);
    mask |= 1n << BigInt(i);
  }
  return mask;
}

/** "kill,net_admin" for a mask; numbers for capabilities newer than this table. */
export function capabilityNames(mask: bigint): string[] {
  const out: string[] = [];
  for (let i = 0; mask >> BigInt(i) !== 0n; i++) if ((mask >> BigInt(i)) & 1n) out.push(NAMES[i] ?? `cap_${i}`);
  return out;
}

export interface ThreadCapabilities {
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
}

function header(): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32LE(_LINUX_CAPABILITY_VERSION_3, 0); // pid 0: the calling thread
  return h;
}

/** struct __user_cap_data_struct[2]: the low 32 capabilities, then the high ones. */
function data(c: ThreadCapabilities): Buffer {
  const d = Buffer.alloc(24);
  const fields = [c.effective, c.permitted, c.inheritable];
  for (let half = 0; half < 2; half++) {
    for (const [i, v] of fields.entries()) d.writeUInt32LE(Number((v >> BigInt(32 * half)) & 0xffffffffn), half * 12 + i * 4);
  }
  return d;
}

function capsetFn(call: string): NativeFunction {
  return libcFunction(call, 'int capset(void *hdrp, void *datap)');
}

function prctlRaw(call: string, option: number, arg2 = 0, arg3 = 0): number {
  const fn = libcFunction(call, 'int prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5)');
  return fn(option, arg2, arg3, 0, 0) as number;
}

function prctl(call: string, option: number, arg2 = 0, arg3 = 0): number {
  return check(call, prctlRaw(call, option, arg2, arg3));
}

/** The calling thread's capabilities. */
export function threadCapabilities(): ThreadCapabilities {
  const call = 'capget';
  const d = Buffer.alloc(24);
  check(call, libcFunction(call, 'int capget(void *hdrp, void *datap)')(header(), d));
  const at = (field: number): bigint => BigInt(d.readUInt32LE(field * 4)) | (BigInt(d.readUInt32LE(12 + field * 4)) << 32n);
  return { effective: at(0), permitted: at(1), inheritable: at(2) };
}

/** The highest capability number this kernel knows. */
export function lastCapability(): number {
  try {
    return Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
  } catch {
    // Without /proc: the bounding set answers for every capability the kernel knows.
    let i = 0;
    while (prctlRaw('prctl(PR_CAPBSET_READ)', PR_CAPBSET_READ, i + 1) >= 0) i++;
    return i;
  }
}

/**
 * Leaves the calling thread only `keep` (of what it has): permitted and effective cut
 * to it, nothing inheritable or ambient, the bounding set cut to it (what any program
 * it starts could ever get back), and no_new_privs (no set-uid or file capabilities
 * on exec). Irreversible for this thread. Returns what it now holds.
 */
export function limitThreadCapabilities(keep: bigint): ThreadCapabilities {
  prctl('prctl(PR_SET_NO_NEW_PRIVS)', PR_SET_NO_NEW_PRIVS, 1);
  // The bounding set first: dropping from it takes CAP_SETPCAP, which capset then gives up.
  const last = lastCapability();
  for (let i = 0; i <= last; i++) {
    if ((keep >> BigInt(i)) & 1n) continue;
    prctl(`prctl(PR_CAPBSET_DROP, ${NAMES[i] ?? i})`, PR_CAPBSET_DROP, i);
  }
  prctl('prctl(PR_CAP_AMBIENT_CLEAR_ALL)', PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL);
  const now = threadCapabilities();
  const target = { effective: now.permitted & keep, permitted: now.permitted & keep, inheritable: 0n };
  check('capset', capsetFn('capset')(header(), data(target)));
  return threadCapabilities();
}

/** libuv's pool size: UV_THREADPOOL_SIZE (1-1024), else 4. */
export function poolSize(): number {
  const n = Number(process.env.UV_THREADPOOL_SIZE);
  return Number.isInteger(n) && n >= 1 ? Math.min(n, 1024) : 4;
}

export interface PoolLimitResult {
  /** Threads of this process whose permitted set is now `permitted` (the caller's, the pool's, threads made since). */
  limited: number[];
  /** Threads that still hold more: V8's platform threads, and any pool thread not reached. */
  others: number[];
  /** Whether every pool thread was reached (limited counts the caller and `poolSize` more). */
  complete: boolean;
  rounds: number;
}

/** Permitted set of every thread of this process, by thread id. */
export function permittedByThread(): Map<number, bigint> {
  const out = new Map<number, bigint>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const m = /^CapPrm:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/self/task/${tid}/status`, 'utf8'));
      if (m) out.set(Number(tid), BigInt(`0x${m[1]}`));
    } catch {
      /* the thread ended meanwhile */
    }
  }
  return out;
}

/**
 * Cuts libuv's pool threads to what the calling thread holds now (call
 * limitThreadCapabilities first). Which pool thread runs an async call is not ours to
 * choose, so rounds of `poolSize` concurrent capset calls go out until as many threads
 * as the pool has, besides the caller, hold no more than it does (read back from
 * /proc/self/task); `maxRounds` bounds the tries.
 */
export async function limitPoolCapabilities(opts: { maxRounds?: number } = {}): Promise<PoolLimitResult> {
  const mine = threadCapabilities();
  if (mine.effective !== mine.permitted || mine.inheritable !== 0n) {
    throw new NativeError('limitPoolCapabilities', 'limit the calling thread first (limitThreadCapabilities)');
  }
  const fn = capsetFn('capset') as NativeFunction & { async(...args: unknown[]): void };
  const want = 1 + poolSize();
  const maxRounds = opts.maxRounds ?? 50;
  const count = (): { limited: number[]; others: number[] } => {
    const limited: number[] = [];
    const others: number[] = [];
    for (const [tid, prm] of permittedByThread()) ((prm & ~mine.permitted) === 0n ? limited : others).push(tid);
    return { limited, others };
  };
  let state = count();
  let rounds = 0;
  while (state.limited.length < want && rounds < maxRounds) {
    rounds++;
    await Promise.all(
      Array.from({ length: want - 1 }, () => {
        // Buffers of its own per call: they must live until the call has run.
        const h = header();
        const d = data({ ...mine, inheritable: 0n });
        return new Promise<void>((resolve, reject) => {
          fn.async(h, d, (err: unknown, ret: number) => {
            if (err) reject(err instanceof Error ? err : new NativeError('capset', String(err)));
            else if (ret < 0) reject(new NativeError('capset (on a pool thread)', 'failed'));
            else resolve();
            void h;
            void d;
          });
        });
      }),
    );
    state = count();
  }
  return { ...state, complete: state.limited.length >= want, rounds };
}
