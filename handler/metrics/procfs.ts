// The /proc files domain stats are read from, and parsers for them. The handler is
// root and may read every VM's QEMU (uid 107, its own mount namespace: /proc of the
// host still shows it) and launcher. Each file is read whole with one read(2) into a
// buffer kept for the purpose: a scrape reads a few hundred of these, and Node's
// readFile (stat, open, read, close, each its own trip through libuv) costs several
// times more per file than the kernel does to produce it.

import { closeSync, openSync, readSync } from 'node:fs';

/**
 * USER_HZ, the unit of /proc/<pid>/stat's times: 100 on every Linux ABI Node runs
 * on (it is fixed for userspace, whatever CONFIG_HZ is).
 */
export const CLOCK_TICKS_PER_SECOND = 100;
/** /proc/<pid>/stat's rss is in pages; 4 KiB on x86-64 and on arm64's default. */
export const PAGE_BYTES = 4096;

const buf = Buffer.allocUnsafe(64 * 1024);

/** The file's text, or undefined when it (its process) is gone. Synchronous: /proc answers from memory. */
export function readProcFile(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    let n = 0;
    // One read fills the buffer for any file read here; loop for the rare longer one.
    for (;;) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
      if (n === buf.length) break;
    }
    return buf.toString('latin1', 0, n);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

export interface ProcStat {
  /** utime and stime, in nanoseconds (from clock ticks). */
  userNs: number;
  systemNs: number;
  rssBytes: number;
  /** Start time after boot, in clock ticks: with the pid, who the process is. */
  startTicks: number;
}

/**
 * /proc/<pid>/stat (or task/<tid>/stat). The command name (field 2) is in
 * parentheses and may hold spaces and parentheses itself, so fields are counted
 * from the last ')'.
 */
export function parseStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  // After ") ": field 3 (state) is index 0 here.
  const f = text.slice(close + 2).split(' ');
  const at = (field: number): number => Number(f[field - 3]);
  const utime = at(14);
  const stime = at(15);
  const start = at(22);
  const rss = at(24);
  if (![utime, stime, start, rss].every(Number.isFinite)) return undefined;
  const ns = 1e9 / CLOCK_TICKS_PER_SECOND;
  return { userNs: utime * ns, systemNs: stime * ns, rssBytes: rss * PAGE_BYTES, startTicks: start };
}

/** /proc/<pid>/task/<tid>/schedstat: time on a CPU and time waiting runnable, in ns. */
export function parseSchedstat(text: string): { runNs: number; waitNs: number } | undefined {
  const [run, wait] = text.trim().split(' ').map(Number);
  if (run === undefined || wait === undefined || !Number.isFinite(run) || !Number.isFinite(wait)) return undefined;
  return { runNs: run, waitNs: wait };
}

/** /proc/<pid>/smaps_rollup: resident and proportional set sizes, in bytes. */
export function parseSmapsRollup(text: string): { rssBytes: number; pssBytes: number } | undefined {
  const kb = (key: string): number | undefined => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  const rss = kb('Rss');
  const pss = kb('Pss');
  return rss === undefined || pss === undefined ? undefined : { rssBytes: rss, pssBytes: pss };
}

export interface NetDevCounters {
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
}

/**
 * /proc/<pid>/net/dev: every interface of that process's network namespace, in one
 * read (the tap counters of /sys/class/net/<tap>/statistics, which only a process in
 * the namespace with its own sysfs could read).
 */
export function parseNetDev(text: string): Map<string, NetDevCounters> {
  const out = new Map<string, NetDevCounters>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const v = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    // rx: bytes packets errs drop fifo frame compressed multicast; tx: bytes packets errs drop ...
    if (v.length < 16 || v.some((n) => !Number.isFinite(n))) continue;
    out.set(name, { rxBytes: v[0]!, rxPackets: v[1]!, rxErrors: v[2]!, rxDropped: v[3]!, txBytes: v[8]!, txPackets: v[9]!, txErrors: v[10]!, txDropped: v[11]! });
  }
  return out;
}
