// Recovery after a handler restart: for each stored VMI, find its sandbox and its
// launcher again from the runtime record, and decide — a launcher still running is
// re-attached (and sent its VMI if it never got it); a preparation the restart
// interrupted is removed and started over; a launcher that died meanwhile fails the
// VMI. Then what belongs to no stored VMI (sandboxes, pod networks) is removed.

import type { Logger } from 'pino';
import { errorMessage } from '../../proto/errors.js';
import type { LaunchContext } from '../../proto/launch.js';
import type { VirtualMachineInstance } from '../../proto/vmi/types.js';
import type { VmSandbox } from '../sandbox/provider.js';
import type { LauncherHandle } from './launcher-handle.js';
import { isFinalPhase } from './vmi-phase.js';
import { newRuntime, type VmiControllerDeps, type VmiRuntime } from './vmi-runtime.js';
import { releaseVmi, teardownVmi } from './vmi-teardown.js';

export interface RecoverEnv extends Pick<VmiControllerDeps, 'sandboxes' | 'network' | 'images' | 'hostDisks' | 'claims'> {
  log: Logger;
  launcherFor(rt: VmiRuntime, sandbox: VmSandbox): LauncherHandle;
  /** Sends the VMI to a launcher that has not accepted it yet (see VmiController). */
  startDomain(rt: VmiRuntime, context: LaunchContext): void;
  fail(vmi: VirtualMachineInstance, reason: string, message: string): void;
  /** Back to Pending: the preparation runs again from the start. */
  restart(vmi: VirtualMachineInstance): void;
}

/** The runtime of `vmi` after a handler restart, or undefined when nothing runs for it. */
export async function recoverVmi(env: RecoverEnv, vmi: VirtualMachineInstance): Promise<VmiRuntime | undefined> {
  const phase = vmi.status?.phase ?? 'Pending';
  const log = env.log.child({ namespace: vmi.metadata.namespace, name: vmi.metadata.name, uid: vmi.metadata.uid });
  const sb = await env.sandboxes.open(vmi.metadata.uid!, log);
  if (phase === 'Pending' || isFinalPhase(phase)) {
    if (isFinalPhase(phase)) {
      // It ended before its teardown was done (the handler stopped in between): finish
      // it. Its pod network goes in sweepLeftovers; its image holds go here, or nothing
      // would ever release them while the VMI is kept.
      if (sb) await sb.destroy().catch(() => undefined);
      await env.images.release(undefined, vmi.metadata.uid!).catch(() => undefined);
    }
    return undefined;
  }
  const rt = newRuntime(vmi, sb);
  const context = sb?.runtime.launchContext;
  if (!context && (sb || phase === 'Scheduling')) {
    // Interrupted while preparing, before the launcher was told what to run: start over.
    await teardownVmi(env, rt);
    env.restart(vmi);
    return undefined;
  }
  if (!sb || !context || !sb.launcherAlive()) {
    env.fail(vmi, 'LauncherExited', 'the launcher is gone (found after a handler restart)');
    return rt;
  }
  // Its QEMU holds its hostDisk files still: no other VMI may take them meanwhile.
  env.hostDisks?.adopt(vmi, context.volumes);
  env.claims?.adopt(vmi, context.volumes);
  const launcher = env.launcherFor(rt, sb);
  rt.launcher = launcher;
  await launcher.listen();
  if (sb.runtime.synced) {
    launcher.adoptRunning();
  } else {
    launcher.attach(undefined);
    env.startDomain(rt, context);
  }
  log.info({ launcherPid: sb.runtime.launcherPid, synced: sb.runtime.synced }, 're-attached to a running launcher');
  return rt;
}

/**
 * Removes sandboxes whose VMI is gone from the store (deleted while the handler was
 * down mid-teardown) and pod networks of no unfinished VMI.
 */
export async function sweepLeftovers(env: RecoverEnv, stored: VirtualMachineInstance[]): Promise<void> {
  const known = new Set(stored.map((v) => v.metadata.uid!));
  for (const uid of await env.sandboxes.list()) {
    if (known.has(uid)) continue;
    await releaseVmi(env, uid, undefined, { all: true, onError: (what, e) => env.log.error({ uid, err: errorMessage(e) }, `removing a leftover ${what} failed`) });
  }
  const live = new Set(stored.filter((v) => !isFinalPhase(v.status?.phase)).map((v) => v.metadata.uid!));
  for (const e of await env.network.listPodNetworks()) {
    if (e.uid && live.has(e.uid)) continue;
    env.log.info({ uid: e.uid, netns: e.netnsName, state: e.state }, 'removing a leftover pod network');
    await (e.uid ? env.network.destroyPodNetwork(e.uid) : env.network.removeLeftover(e.id)).catch((err) =>
      env.log.error({ netns: e.netnsName, err: errorMessage(err) }, 'removing a leftover pod network failed'),
    );
  }
}
