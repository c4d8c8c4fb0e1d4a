// The VM's own cgroup: it holds the launcher and QEMU, carries the VMI's resource
// limits, and is how the handler finds, signals and finally removes everything a VM
// started, even processes that escaped their parent. See cgroup-layout.ts for where it
// lives on v1 and v2 hosts.
import { readFileSync, existsSync } from 'node:fs';
import { join, posix } from 'node:path';
import { constants } from 'node:os';
import { AlreadyExistsError, NotFoundError, TimeoutError } from '../../proto/errors.js';
import {
  CgroupError, readText, readOptional, writeText, writeTextAsync, makeDir, exists, childDirs, removeTree, treePids, parseKeyValues,
} from './cgroup-files.js';
import { checkCgroupName, parseProcCgroup, type CgroupHierarchy, type CgroupLayout } from './cgroup-layout.js';
import { limitWrites, type VmCgroupLimits } from './cgroup-limits.js';

export { CgroupError } from './cgroup-files.js';
export { detectCgroups, parseMountinfo, parseProcCgroup, type CgroupLayout, type CgroupHierarchy, type DetectOptions } from './cgroup-layout.js';
export { cpuSharesFromMillis, cpuWeightFromShares, cpuQuotaFromMillis, limitWrites, type VmCgroupLimits } from './cgroup-limits.js';

export interface VmCgroupStats {
  /** Memory charged to the VM now (v1 memory.usage_in_bytes, v2 memory.current); undefined without the memory controller. */
  memoryUsageBytes: number | undefined;
  /** CPU time used so far in µs (v1 cpuacct.usage, v2 cpu.stat usage_usec). */
  cpuUsageMicros: number | undefined;
  /** Times the kernel OOM-killed a process in this cgroup (v1 memory.oom_control, v2 memory.events). */
  oomKills: number | undefined;
  /** Processes in the cgroup and below. */
  processes: number;
}

interface Dir {
  hierarchy: CgroupHierarchy;
  path: string;
}

const POLL_MS = 10;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function busyHint(dir: string): (code: string | undefined) => string | undefined {
  return (code) => code === 'EBUSY'
    ? `${dir} holds processes, and cgroup v2 lets only a cgroup without processes hand controllers to its children; pass a \`parent\` cgroup that holds none to detectCgroups`
    : undefined;
}

/**
 * Controllers enabled on every level from the top of the tree down to the VM root, so
 * that a VM cgroup created below it gets memory/cpu/pids files (cgroup v2 only).
 */
function enableV2Controllers(h: CgroupHierarchy): void {
  if (h.version !== 2 || h.controllers.length === 0) return;
  const rel = posix.relative(h.mount, h.vmRootDir).split('/').filter(Boolean);
  for (let i = 0; i <= rel.length; i++) {
    const dir = posix.join(h.mount, ...rel.slice(0, i));
    const enabled = new Set(readText(join(dir, 'cgroup.subtree_control')).trim().split(/\s+/));
    const missing = h.controllers.filter((c) => !enabled.has(c));
    // One write enables all or none.
    if (missing.length > 0) writeText(join(dir, 'cgroup.subtree_control'), missing.map((c) => `+${c}`).join(' '), busyHint(dir));
  }
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export class VmCgroup {
  readonly layout: CgroupLayout;
  /** The VM cgroup's directory name (a VMI UID). */
  readonly name: string;
  private readonly dirs: Dir[];

  private constructor(layout: CgroupLayout, name: string) {
    checkCgroupName('VM cgroup name', name);
    this.layout = layout;
    this.name = name;
    this.dirs = layout.hierarchies.map((hierarchy) => ({ hierarchy, path: join(hierarchy.vmRootDir, name) }));
  }

  /**
   * Makes the VM cgroup in every tree of `layout` and applies `limits`. Refuses an
   * existing one (a leftover must be destroyed first); on any failure removes what it
   * made, so nothing half-made stays.
   */
  static create(layout: CgroupLayout, name: string, limits: VmCgroupLimits = {}): VmCgroup {
    const cg = new VmCgroup(layout, name);
    const writes = limitWrites(layout.version, limits); // validates before anything is made
    const existing = cg.dirs.find((d) => exists(d.path));
    if (existing) throw new AlreadyExistsError(`cgroup ${existing.path}`);
    const made: string[] = [];
    try {
      for (const d of cg.dirs) {
        makeDir(d.hierarchy.vmRootDir);
        enableV2Controllers(d.hierarchy);
        if (makeDir(d.path)) made.push(d.path);
      }
      cg.apply(writes);
    } catch (e) {
      for (const path of made.reverse()) removeTree(path);
      throw e;
    }
    return cg;
  }

  /** The VM cgroup `name` if it exists in any tree (the handler, after its restart). */
  static open(layout: CgroupLayout, name: string): VmCgroup {
    const cg = VmCgroup.find(layout, name);
    if (!cg) throw new NotFoundError(`VM cgroup ${name} under ${layout.hierarchies[0]?.vmRootPath}`);
    return cg;
  }

  /** The VM cgroup `name` if it exists in any tree, else undefined (one stat per tree, no listing). */
  static find(layout: CgroupLayout, name: string): VmCgroup | undefined {
    const cg = new VmCgroup(layout, name);
    return cg.dirs.some((d) => exists(d.path)) ? cg : undefined;
  }

  /** Names of the VM cgroups that exist under the layout's root in any tree. */
  static list(layout: CgroupLayout): string[] {
    const names = new Set<string>();
    for (const h of layout.hierarchies) for (const n of childDirs(h.vmRootDir)) names.add(n);
    return [...names].sort();
  }

  /** Changes limits of a running VM (hot-plug, resize); fields left out stay as they are. */
  setLimits(limits: VmCgroupLimits): void {
    this.apply(limitWrites(this.layout.version, limits));
  }

  private apply(writes: ReturnType<typeof limitWrites>): void {
    for (const w of writes) {
      const d = this.dirFor(w.controller);
      if (!d) {
        const offered = this.layout.hierarchies.flatMap((h) => h.controllers);
        throw new CgroupError(`the ${w.controller} controller is not available for ${w.file} (this host offers: ${offered.join(', ') || 'none'})`);
      }
      writeText(join(d.path, w.file), w.value);
    }
  }

  private dirFor(controller: string): Dir | undefined {
    return this.dirs.find((d) => d.hierarchy.controllers.includes(controller));
  }

  /** The directory of this cgroup in the tree carrying `controller` (v2: the one directory). */
  path(controller?: string): string | undefined {
    return controller === undefined ? this.dirs[0]?.path : this.dirFor(controller)?.path;
  }

  /** The cgroup.procs file of every tree: a process joins by writing its own pid to each (a spare launcher does). */
  procsFiles(): string[] {
    return this.dirs.map((d) => join(d.path, 'cgroup.procs'));
  }

  /** Whether process `pid` is in this cgroup in every tree (false once it is gone). */
  holds(pid: number): boolean {
    const paths = processCgroupPaths(pid);
    return paths !== undefined && this.dirs.every(({ hierarchy: h }) => cgroupPathIn(paths, h) === `${h.vmRootPath}/${this.name}`);
  }

  /** Moves process `pid` (all its threads) into the VM cgroup in every tree. */
  async addProcess(pid: number): Promise<void> {
    if (!Number.isInteger(pid) || pid <= 0) throw new CgroupError(`not a pid: ${pid}`);
    // Off the event loop: the first attach after a quiet spell waits in the kernel for
    // an RCU grace period (13–20 ms on this machine); the others follow within it.
    await Promise.all(this.dirs.map((d) => writeTextAsync(join(d.path, 'cgroup.procs'), String(pid))));
  }

  /**
   * `argv` wrapped so the program joins this cgroup before it starts: a shell writes its
   * own pid into every cgroup.procs, then execs. Nothing runs outside the cgroup, unlike
   * spawn-then-addProcess. Compose with native's pdeathsigArgv as needed.
   */
  enterArgv(argv: string[]): string[] {
    if (argv.length === 0) throw new CgroupError('enterArgv: empty argv');
    const joins = this.dirs.map((d) => `echo $$ > ${shellQuote(join(d.path, 'cgroup.procs'))}`);
    return ['/bin/sh', '-c', `${joins.join(' && ')} && exec "$@"`, 'vn-cgroup-enter', ...argv];
  }

  /** PIDs of every process in the VM cgroup (and cgroups below it), in any tree. */
  pids(): number[] {
    const all = new Set<number>();
    for (const d of this.dirs) for (const p of treePids(d.path)) all.add(p);
    return [...all].sort((a, b) => a - b);
  }

  isEmpty(): boolean {
    for (const d of this.dirs) {
      if (d.hierarchy.version === 2) {
        const events = readOptional(join(d.path, 'cgroup.events'));
        if (events !== undefined) {
          if (parseKeyValues(events).get('populated') !== 0) return false;
          continue;
        }
      }
      if (treePids(d.path).length > 0) return false;
    }
    return true;
  }

  /** Sends `signal` once to every process in the cgroup now; returns how many were signalled. */
  signalAll(signal: NodeJS.Signals | number): number {
    const sig = typeof signal === 'number' ? signal : constants.signals[signal];
    if (sig === undefined) throw new CgroupError(`unknown signal ${String(signal)}`);
    let n = 0;
    for (const pid of this.pids()) {
      try {
        process.kill(pid, sig);
        n++;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw new CgroupError(`kill(${pid}, ${signal}) in cgroup ${this.name}: ${(e as NodeJS.ErrnoException).code}`, undefined, (e as NodeJS.ErrnoException).code, { cause: e });
      }
    }
    return n;
  }

  /**
   * SIGKILLs everything in the cgroup and waits until it is empty. cgroup.kill (v2 and
   * a hybrid host's cgroup2 tree, Linux 5.14+) kills the whole subtree at once, forks
   * in flight included; without it, the pids are killed over and over until none is
   * left, which also catches children forked in between.
   */
  async killAll(options: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 5000;
    const deadline = Date.now() + timeoutMs;
    const killFiles = this.dirs.filter((d) => d.hierarchy.version === 2).map((d) => join(d.path, 'cgroup.kill')).filter((f) => existsSync(f));
    while (!this.isEmpty()) {
      for (const f of killFiles) writeText(f, '1');
      this.signalAll('SIGKILL');
      if (Date.now() >= deadline) {
        throw new TimeoutError(`killing the processes of VM cgroup ${this.name} (left: ${this.pids().join(', ') || 'none listed'})`, timeoutMs);
      }
      await sleep(POLL_MS);
    }
  }

  /**
   * Kills what is left and removes the VM cgroup from every tree (child cgroups
   * first). Safe to call again, and on a cgroup that is already gone.
   */
  async destroy(options: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 5000;
    const deadline = Date.now() + timeoutMs;
    await this.killAll({ timeoutMs });
    for (const d of this.dirs) {
      // An exiting process may hold its cgroup a moment after it left cgroup.procs.
      for (;;) {
        const busy = removeTree(d.path);
        if (!busy) break;
        if (Date.now() >= deadline) throw new CgroupError(`rmdir ${d.path}: ${busy} after ${timeoutMs} ms`, d.path, busy);
        await sleep(POLL_MS);
      }
    }
  }

  /** Usage figures for metrics; a field is undefined where its controller is absent. */
  stats(): VmCgroupStats {
    const v1 = this.layout.version === 1;
    const mem = this.dirFor('memory');
    const cpu = this.dirFor(v1 ? 'cpuacct' : 'cpu') ?? (v1 ? undefined : this.dirs[0]);
    const num = (d: Dir | undefined, file: string): number | undefined => {
      const t = d && readOptional(join(d.path, file));
      return t === undefined ? undefined : Number(t.trim());
    };
    const key = (d: Dir | undefined, file: string, k: string): number | undefined => {
      const t = d && readOptional(join(d.path, file));
      return t === undefined ? undefined : parseKeyValues(t).get(k);
    };
    const cpuNs = v1 ? num(cpu, 'cpuacct.usage') : undefined;
    return {
      memoryUsageBytes: num(mem, v1 ? 'memory.usage_in_bytes' : 'memory.current'),
      cpuUsageMicros: v1 ? (cpuNs === undefined ? undefined : Math.floor(cpuNs / 1000)) : key(cpu, 'cpu.stat', 'usage_usec'),
      oomKills: v1 ? key(mem, 'memory.oom_control', 'oom_kill') : key(mem, 'memory.events', 'oom_kill'),
      processes: this.pids().length,
    };
  }
}

/**
 * The name of the VM cgroup process `pid` is in, or undefined if it is in none under
 * this layout: how the handler learns which VMI a connecting launcher belongs to from
 * the kernel (peer pid → cgroup) rather than from anything the launcher says.
 */
export function vmCgroupOfProcess(layout: CgroupLayout, pid: number): string | undefined {
  const h = layout.hierarchies[0];
  const paths = h && processCgroupPaths(pid);
  const path = paths && cgroupPathIn(paths, h);
  if (!path || !path.startsWith(`${h.vmRootPath}/`)) return undefined;
  return path.slice(h.vmRootPath.length + 1).split('/')[0];
}

/** The cgroup paths of process `pid` (/proc/<pid>/cgroup), or undefined once it is gone. */
function processCgroupPaths(pid: number): Map<string, string> | undefined {
  try {
    return parseProcCgroup(readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** A process's path in hierarchy `h` (v2: the one unified tree; v1: the tree of its first controller). */
function cgroupPathIn(paths: Map<string, string>, h: CgroupHierarchy): string | undefined {
  return paths.get(h.version === 2 ? '' : h.controllers[0]!);
}

/** Removes the layout's root directories if no VM cgroup is left in them (tests, uninstall). */
export function removeCgroupRoot(layout: CgroupLayout): boolean {
  let removed = true;
  for (const h of layout.hierarchies) {
    if (childDirs(h.vmRootDir).length > 0) { removed = false; continue; }
    if (removeTree(h.vmRootDir)) removed = false;
  }
  return removed;
}
