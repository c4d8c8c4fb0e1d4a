// A VM's sandbox in standalone mode: what kubelet would have made for the
// virt-launcher pod. A run directory for sockets, a state directory for disks and
// the launcher's log, the VM's own cgroup, and the launcher process started inside
// it (a spare from the pool, or a new one in the pod's network namespace).
// `destroy()` removes all of it, whatever state it is in; the handler calls it for
// every way a VM can end. `standaloneSandboxes` is the SandboxProvider the VMI
// controller is given in standalone mode.
//
// The runtime record (runtime.json) is how a restarted handler finds the
// sandbox again: the launcher pid and its start time (so a reused pid is never
// mistaken for our launcher) and the last domain event it has applied.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, promises as fs, readFileSync, readdirSync } from 'node:fs';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { VirtnodeError, errorMessage } from '../../proto/errors.js';
import { runDirLayout, type LaunchContext } from '../../proto/launch.js';
import { closeFd, pidfdOpen, pidfdSendSignal, type PeerCredentials } from '../../native/index.js';
import { atomicWrite, sweepTemporaries } from '../store/fsutil.js';
import { netnsArgv } from '../network/index.js';
import { VmCgroup, type CgroupLayout, type VmCgroupLimits } from './cgroup.js';
import type { LauncherPool } from './pool.js';
import type { LauncherProcess, SandboxProvider, VmSandbox } from './provider.js';

export interface SandboxPaths {
  runDir: string;
  stateDir: string;
  diskDir: string;
  handlerSocket: string;
  consoleSocket: string;
  /** The launcher serves the VNC display here (a VMI with a graphics device). */
  vncSocket: string;
  /** The launcher's serial console log, and `${consoleLog}.1` before it. */
  consoleLog: string;
  launcherLog: string;
  runtimeFile: string;
}

/**
 * What a restarted handler needs to find a VMI's launcher again. Written without
 * fsync: the processes it describes do not outlive the node, and `open` treats a
 * record a power cut tore like a missing one (the VMI's leftovers are removed).
 */
export interface RuntimeRecord {
  uid: string;
  namespace: string;
  name: string;
  launcherPid?: number;
  /** Field 22 of /proc/<pid>/stat: tells our launcher from a later process with its pid. */
  launcherStartTime?: string;
  /** A spare: it joins the VM cgroup itself, and refuses Sync (starts no QEMU) if it could not. */
  launcherJoinsCgroup?: boolean;
  lastEventSeq: number;
  /** Set once Sync was accepted: a reconnecting launcher is not asked to start again. */
  synced: boolean;
  /** What the launcher is told to run (kept so a restarted handler can still send it). */
  launchContext?: LaunchContext;
}

export function sandboxPaths(runRoot: string, stateRoot: string, uid: string): SandboxPaths {
  const runDir = join(runRoot, 'vmis', uid);
  const stateDir = join(stateRoot, 'vmis', uid);
  const layout = runDirLayout(runDir);
  return {
    runDir,
    stateDir,
    diskDir: join(stateDir, 'disks'),
    handlerSocket: layout.handlerSocket,
    consoleSocket: layout.consoleSocket,
    vncSocket: layout.vncSocket,
    consoleLog: layout.consoleLog,
    launcherLog: join(stateDir, 'launcher.log'),
    runtimeFile: join(stateDir, 'runtime.json'),
  };
}

/** How launchers are started: the command (the handler appends the launcher's flags), its environment, the spares. */
export interface LauncherStart {
  command: string[];
  env: NodeJS.ProcessEnv;
  pool?: LauncherPool;
  /** Admit any root process on the launcher socket (HandlerConfig.insecureLauncherSocket). */
  anyRootPeer?: boolean;
}

/** The standalone SandboxProvider: sandboxes under the handler's run and state directories. */
export function standaloneSandboxes(opts: { runRoot: string; stateRoot: string; cgroups: CgroupLayout | undefined; launcher: LauncherStart }): SandboxProvider {
  const { runRoot, stateRoot, cgroups, launcher } = opts;
  return {
    create: (o) => Sandbox.create({ runRoot, stateRoot, cgroups, launcher, ...o }),
    open: (uid, log) => Sandbox.open({ runRoot, stateRoot, cgroups, launcher, uid, log }),
    destroyLeftovers: (uid, o) => Sandbox.destroyLeftovers({ runRoot, stateRoot, cgroups, uid, all: o?.all }),
    list: () => Sandbox.list(stateRoot),
  };
}

/** A launcher child's end, in words for a status message. */
function childExit(child: ChildProcess): Promise<string> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(describeExit(child.exitCode, child.signalCode));
  return once(child, 'exit').then(([code, signal]) => describeExit(code as number | null, signal as NodeJS.Signals | null));
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `killed by signal ${signal}` : `exited with code ${code}`;
}

/** Start time of a process in clock ticks since boot, or undefined when it is gone. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parens: count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export class Sandbox implements VmSandbox {
  readonly paths: SandboxPaths;
  readonly runtime: RuntimeRecord;
  #cgroup: VmCgroup | undefined;
  #log: Logger;
  #launcher: LauncherStart;
  #saves: Promise<void> = Promise.resolve();

  private constructor(paths: SandboxPaths, runtime: RuntimeRecord, cgroup: VmCgroup | undefined, launcher: LauncherStart, log: Logger) {
    this.paths = paths;
    this.runtime = runtime;
    this.#cgroup = cgroup;
    this.#launcher = launcher;
    this.#log = log;
  }

  /** Makes directories and the cgroup; on failure removes what it made. */
  static async create(opts: {
    runRoot: string;
    stateRoot: string;
    cgroups: CgroupLayout | undefined;
    launcher: LauncherStart;
    vmi: { uid: string; namespace: string; name: string };
    limits: VmCgroupLimits;
    log: Logger;
  }): Promise<Sandbox> {
    const { uid, namespace, name } = opts.vmi;
    const paths = sandboxPaths(opts.runRoot, opts.stateRoot, uid);
    let cgroup: VmCgroup | undefined;
    try {
      await fs.mkdir(paths.runDir, { recursive: true, mode: 0o700 });
      await fs.mkdir(paths.diskDir, { recursive: true, mode: 0o700 });
      if (opts.cgroups) {
        // A cgroup of this uid can only be left by an attempt a crash interrupted.
        await VmCgroup.find(opts.cgroups, uid)?.destroy({ timeoutMs: 10_000 });
        cgroup = VmCgroup.create(opts.cgroups, uid, opts.limits);
      }
    } catch (e) {
      await fs.rm(paths.runDir, { recursive: true, force: true });
      await fs.rm(paths.stateDir, { recursive: true, force: true });
      throw new VirtnodeError('VN_SANDBOX', `creating the sandbox of ${namespace}/${name}: ${errorMessage(e)}`, { cause: e });
    }
    const sb = new Sandbox(paths, { uid, namespace, name, lastEventSeq: 0, synced: false }, cgroup, opts.launcher, opts.log);
    await sb.save();
    return sb;
  }

  /** The sandbox of `uid` as a previous handler left it, or undefined if there is none. */
  static async open(opts: { runRoot: string; stateRoot: string; cgroups: CgroupLayout | undefined; launcher: LauncherStart; uid: string; log: Logger }): Promise<Sandbox | undefined> {
    const paths = sandboxPaths(opts.runRoot, opts.stateRoot, opts.uid);
    await sweepTemporaries(paths.stateDir); // a runtime record a killed handler was writing
    let runtime: RuntimeRecord;
    try {
      runtime = JSON.parse(await fs.readFile(paths.runtimeFile, 'utf8')) as RuntimeRecord;
    } catch {
      return undefined;
    }
    return new Sandbox(paths, runtime, opts.cgroups && VmCgroup.find(opts.cgroups, opts.uid), opts.launcher, opts.log);
  }

  /**
   * Removes whatever a VMI's sandbox left without a readable record: processes in
   * its cgroup, the cgroup, its directories.
   */
  static async destroyLeftovers(opts: { runRoot: string; stateRoot: string; cgroups: CgroupLayout | undefined; uid: string; all?: boolean }): Promise<void> {
    const paths = sandboxPaths(opts.runRoot, opts.stateRoot, opts.uid);
    if (opts.cgroups) await VmCgroup.find(opts.cgroups, opts.uid)?.destroy({ timeoutMs: 10_000 });
    await fs.rm(paths.runDir, { recursive: true, force: true });
    await fs.rm(paths.diskDir, { recursive: true, force: true });
    if (opts.all) await fs.rm(paths.stateDir, { recursive: true, force: true });
  }

  /** UIDs of every sandbox on disk (to find leftovers of VMIs the store no longer has). */
  static async list(stateRoot: string): Promise<string[]> {
    try {
      return await fs.readdir(join(stateRoot, 'vmis'));
    } catch {
      return [];
    }
  }

  get cgroup(): VmCgroup | undefined {
    return this.#cgroup;
  }

  /** Writes the runtime record; saves run one after another, so the last one wins. */
  save(): Promise<void> {
    const write = (): Promise<void> => atomicWrite(this.paths.runtimeFile, JSON.stringify(this.runtime), { durable: false });
    this.#saves = this.#saves.then(write, write);
    return this.#saves;
  }

  /** Whether the recorded launcher still runs (same pid and same start time). */
  launcherAlive(): boolean {
    const pid = this.runtime.launcherPid;
    if (!pid) return false;
    const st = processStartTime(pid);
    return st !== undefined && st === this.runtime.launcherStartTime;
  }

  /**
   * The launcher's identity, from the kernel: the peer must be root, the very process
   * this handler started or adopted (pid and start time: a later process with a
   * reused pid is not it), and, unless it is a spare still joining by itself, in the
   * VM's cgroup. QEMU and anything else in the VM's cgroup are not the launcher.
   */
  admitsLauncher(peer: PeerCredentials): string | undefined {
    if (peer.uid !== 0) return `uid ${peer.uid} is not the launcher's (0)`;
    if (this.#launcher.anyRootPeer) return undefined;
    const pid = this.runtime.launcherPid;
    if (!pid) return `pid ${peer.pid}: no launcher has been started for this VMI`;
    if (peer.pid !== pid) return `pid ${peer.pid} is not this VMI's launcher (pid ${pid})`;
    if (processStartTime(pid) !== this.runtime.launcherStartTime) return `pid ${pid} is no longer the launcher this handler started`;
    if (this.#cgroup && !this.runtime.launcherJoinsCgroup && !this.#cgroup.holds(pid)) return `pid ${pid} is not in the VM's cgroup`;
    return undefined;
  }

  /**
   * Starts the launcher inside the VM's cgroup and the pod's network namespace,
   * detached from the handler (its own session, output to a log file) so that a
   * handler restart never touches it.
   */
  async spawnLauncher(netnsPath: string): Promise<LauncherProcess> {
    const { uid, namespace, name } = this.runtime;
    const flags = ['--namespace', namespace, '--name', name, '--uid', uid, '--run-dir', this.paths.runDir, '--handler-socket', this.paths.handlerSocket];
    const argv = [...netnsArgv(netnsPath, this.#launcher.command), ...flags];
    const wrapped = this.#cgroup ? this.#cgroup.enterArgv(argv) : argv;
    const out = openSync(this.paths.launcherLog, 'a', 0o600);
    let child: ChildProcess;
    try {
      child = spawn(wrapped[0]!, wrapped.slice(1), { detached: true, stdio: ['ignore', out, out], env: this.#launcher.env });
    } finally {
      closeSync(out);
    }
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (e) => reject(new VirtnodeError('VN_SANDBOX', `starting the launcher: ${e.message}`, { cause: e })));
    });
    child.unref();
    this.runtime.launcherPid = child.pid!;
    this.runtime.launcherStartTime = processStartTime(child.pid!);
    await this.save();
    return { pid: child.pid!, exited: childExit(child) };
  }

  /**
   * Hands this VM to a spare launcher (see pool.ts): tells it over its stdin which VMI
   * it serves, where its socket and log are, and which cgroup.procs files to write its
   * pid to. Joining itself, the launcher pays the cgroup attach (the first move after
   * a quiet spell waits for an RCU grace period: 13–20 ms here) in its own time, while
   * it dials in and the pod network is made; it waits for the join before it starts
   * QEMU, and refuses Sync if the join failed.
   */
  adoptSpare(): LauncherProcess | undefined {
    const spare = this.#launcher.pool?.take();
    if (!spare) return undefined;
    const child = spare.child;
    normalPriority(spare.pid);
    const { uid, namespace, name } = this.runtime;
    const assignment = { namespace, name, uid, runDir: this.paths.runDir, handlerSocket: this.paths.handlerSocket };
    child.stdin!.end(`${JSON.stringify({ ...assignment, logFile: this.paths.launcherLog, cgroupProcs: this.#cgroup?.procsFiles() ?? [] })}\n`);
    child.stdout!.destroy();
    child.unref();
    this.runtime.launcherPid = spare.pid;
    this.runtime.launcherStartTime = processStartTime(spare.pid);
    this.runtime.launcherJoinsCgroup = true;
    return { pid: spare.pid, exited: childExit(child) };
  }

  /**
   * Makes sure the launcher is in the VM's cgroup, moving it there if it did not
   * manage itself, so that QEMU, started after this, is born inside.
   */
  async ensurePlaced(pid: number): Promise<void> {
    if (!this.#cgroup || this.#cgroup.holds(pid)) return;
    this.#log.warn({ launcherPid: pid }, 'the launcher is not in its cgroup; moving it');
    await this.#cgroup.addProcess(pid);
  }

  /** Without a cgroup to kill, the launcher alone (it takes QEMU along: pdeathsig). */
  #killLauncher(): void {
    killRecorded(this.runtime.launcherPid, this.runtime.launcherStartTime);
  }

  /**
   * Removes everything of the VM: kills what is left in its cgroup (QEMU included,
   * should the launcher have died without taking it along), removes the cgroup, the
   * sockets and the disks. Keeps the launcher log unless `all`.
   */
  async destroy(opts: { all?: boolean } = {}): Promise<void> {
    const errors: string[] = [];
    if (this.#cgroup) {
      try {
        await this.#cgroup.destroy({ timeoutMs: 10_000 });
        this.#cgroup = undefined;
      } catch (e) {
        errors.push(errorMessage(e));
      }
    } else {
      this.#killLauncher();
    }
    await fs.rm(this.paths.runDir, { recursive: true, force: true });
    await fs.rm(this.paths.diskDir, { recursive: true, force: true });
    if (opts.all) await fs.rm(this.paths.stateDir, { recursive: true, force: true });
    else await fs.rm(this.paths.runtimeFile, { force: true });
    if (errors.length) {
      this.#log.error({ errors }, 'sandbox teardown incomplete');
      throw new VirtnodeError('VN_SANDBOX', `tearing down the sandbox of ${this.runtime.namespace}/${this.runtime.name}: ${errors.join('; ')}`);
    }
  }
}

/**
 * SIGKILLs the recorded launcher through a pidfd: the fd is opened first and the
 * start time checked after, so the signal reaches the process that record names,
 * never a later one that got its pid (kill(2) after a /proc check could).
 */
function killRecorded(pid: number | undefined, startTime: string | undefined): void {
  if (!pid) return;
  let fd: number;
  try {
    fd = pidfdOpen(pid);
  } catch {
    return; // no such process
  }
  try {
    if (startTime !== undefined && processStartTime(pid) === startTime) pidfdSendSignal(fd, 'SIGKILL');
  } catch {
    /* it exited meanwhile */
  } finally {
    closeFd(fd);
  }
}

/**
 * Niceness 0 for every thread of `pid` (Linux keeps it per thread, and new threads
 * inherit their creator's): a spare waited at nice 19, its VM must not run there.
 */
function normalPriority(pid: number): void {
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return; // gone: the VM start fails on its own
  }
  for (const tid of tids) {
    try {
      setPriority(Number(tid), 0);
    } catch {
      /* the thread ended meanwhile */
    }
  }
}
