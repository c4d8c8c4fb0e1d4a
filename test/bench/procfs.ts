// What the kernel says about a process: memory from smaps_rollup (RSS counts shared
// pages in full, PSS divides them among the processes sharing them, USS is what
// would be freed if the process exited) and CPU time from stat.

import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

export interface ProcMem {
  rss: number;
  pss: number;
  uss: number;
}

const Ki = 1024;

/** RSS, PSS and USS in bytes, or undefined when the process is gone. */
export function procMem(pid: number): ProcMem | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  } catch {
    return undefined;
  }
  const field = (name: string): number => {
    const m = text.match(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) * Ki : 0;
  };
  return { rss: field('Rss'), pss: field('Pss'), uss: field('Private_Clean') + field('Private_Dirty') };
}

export function sumMem(ms: readonly (ProcMem | undefined)[]): ProcMem {
  const out = { rss: 0, pss: 0, uss: 0 };
  for (const m of ms) {
    if (!m) continue;
    out.rss += m.rss;
    out.pss += m.pss;
    out.uss += m.uss;
  }
  return out;
}

let clockTicks: number | undefined;

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat. */
export function ticksPerSecond(): number {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return clockTicks;
}

function statFields(pid: number): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may hold spaces and parentheses: split after the last ')'.
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** utime + stime in seconds, or undefined when the process is gone. */
export function cpuSeconds(pid: number): number | undefined {
  const f = statFields(pid);
  if (!f) return undefined;
  // After the comm field: state is [0], utime is field 14 → [11], stime [12].
  return (Number(f[11]) + Number(f[12])) / ticksPerSecond();
}

export function comm(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function cmdline(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return undefined;
  }
}

/** Live (non-zombie) pids on this machine with their parent pid. */
export function processTable(): Map<number, { ppid: number; state: string }> {
  const out = new Map<number, { ppid: number; state: string }>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const f = statFields(Number(e));
    if (!f || f[0] === 'Z') continue;
    out.set(Number(e), { ppid: Number(f[1]), state: f[0]! });
  }
  return out;
}

/** Every descendant of `pid` (not `pid` itself). */
export function descendants(pid: number, table = processTable()): number[] {
  const kids = new Map<number, number[]>();
  for (const [p, { ppid }] of table) kids.set(ppid, [...(kids.get(ppid) ?? []), p]);
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const k of kids.get(p) ?? []) {
      out.push(k);
      walk(k);
    }
  };
  walk(pid);
  return out;
}

export function openFds(pid: number): number | undefined {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
}

/** The targets of a process's open fds that are sockets, files or pipes (for leak checks). */
export function fdTargets(pid: number): string[] {
  const out: string[] = [];
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        out.push(readlinkSync(`/proc/${pid}/fd/${fd}`));
      } catch {
        /* closed meanwhile */
      }
    }
  } catch {
    /* gone */
  }
  return out;
}

/** CPU use of a set of processes over a window, as a percentage of one core. */
export async function cpuPercent(pids: readonly number[], windowMs: number): Promise<{ total: number; perPid: Map<number, number> }> {
  const before = new Map<number, number>();
  for (const p of pids) {
    const c = cpuSeconds(p);
    if (c !== undefined) before.set(p, c);
  }
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, windowMs));
  const secs = (performance.now() - t0) / 1000;
  const perPid = new Map<number, number>();
  let total = 0;
  for (const [p, c0] of before) {
    const c1 = cpuSeconds(p);
    if (c1 === undefined) continue;
    const pct = ((c1 - c0) / secs) * 100;
    perPid.set(p, pct);
    total += pct;
  }
  return { total, perPid };
}

/** All CPUs' busy time over a window, as a fraction of their capacity (from /proc/stat). */
export async function machineBusy(windowMs: number): Promise<number> {
  const sample = (): { busy: number; total: number } => {
    const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - f[3]! - f[4]!, total }; // idle and iowait are not busy
  };
  const a = sample();
  await new Promise((r) => setTimeout(r, windowMs));
  const b = sample();
  return b.total > a.total ? (b.busy - a.busy) / (b.total - a.total) : 0;
}

export function memAvailableBytes(): number {
  const m = readFileSync('/proc/meminfo', 'utf8').match(/^MemAvailable:\s+(\d+) kB/m);
  return m ? Number(m[1]) * Ki : 0;
}
