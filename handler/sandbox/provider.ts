// What the VMI controller needs of a VM's sandbox, as an interface: standalone mode
// gives it sandbox.ts (directories, cgroup, launchers it starts itself); the
// controller's unit tests give it one that starts an in-process launcher; the
// DaemonSet mode will give it the pod that kubelet made.

import type { Logger } from 'pino';
import type { PeerCredentials } from '../../native/index.js';
import type { VmCgroupLimits } from './cgroup.js';
import type { RuntimeRecord, SandboxPaths } from './sandbox.js';

/** A launcher process as the handler sees it. */
export interface LauncherProcess {
  pid: number;
  /** Resolves, in words ("exited with code 1"), when a launcher this handler started ends. */
  exited: Promise<string>;
}

export interface VmSandbox {
  readonly paths: SandboxPaths;
  /** The runtime record: what a restarted handler needs to find the launcher again. */
  readonly runtime: RuntimeRecord;
  /** Writes the runtime record. */
  save(): Promise<void>;
  /** Whether the recorded launcher still runs (the same process, not a later one with its pid). */
  launcherAlive(): boolean;
  /**
   * Whether the process the kernel says connected to the launcher socket is this
   * VMI's launcher: undefined if so, else why not.
   */
  admitsLauncher(peer: PeerCredentials): string | undefined;
  /** Hands the VM to a launcher started ahead of need, if one is ready. */
  adoptSpare(): LauncherProcess | undefined;
  /** Starts a launcher in the pod's network namespace. */
  spawnLauncher(netnsPath: string): Promise<LauncherProcess>;
  /** Makes sure the launcher is in the VM's cgroup before QEMU starts, moving it there if needed. */
  ensurePlaced(pid: number): Promise<void>;
  /** Removes all of it: processes, cgroup, sockets, disks; the launcher log too with `all`. */
  destroy(opts?: { all?: boolean }): Promise<void>;
}

export interface SandboxProvider {
  /** Makes the sandbox of a new VMI; on failure nothing of it is left. */
  create(opts: { vmi: { uid: string; namespace: string; name: string }; limits: VmCgroupLimits; log: Logger }): Promise<VmSandbox>;
  /** The sandbox a previous handler left for `uid`, or undefined. */
  open(uid: string, log: Logger): Promise<VmSandbox | undefined>;
  /** Removes what a VMI's sandbox left without a readable record. */
  destroyLeftovers(uid: string, opts?: { all?: boolean }): Promise<void>;
  /** The uids of every sandbox on the node. */
  list(): Promise<string[]>;
}
