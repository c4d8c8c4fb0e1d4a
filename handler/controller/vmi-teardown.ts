// Removing what a VMI holds on the node, for every way it can end: the sandbox and
// everything in it (processes, cgroup, sockets, disks), its pod network, its image
// holds and its hostDisk holds (the hostDisk files themselves are the user's: kept). Idempotent, and a step that fails does not stop the others.

import type { VmSandbox } from '../sandbox/provider.js';
import type { VmiControllerDeps, VmiRuntime } from './vmi-runtime.js';

export type TeardownEnv = Pick<VmiControllerDeps, 'sandboxes' | 'network' | 'images' | 'hostDisks' | 'claims'>;

/** A launcher that reported its final state exits by itself within moments: wait this long before killing it. */
const FINAL_EXIT_GRACE_MS = 3000;

/** Tears down what runs for `rt`; a second call does nothing. */
export async function teardownVmi(env: TeardownEnv, rt: VmiRuntime, onError?: (what: string, e: unknown) => void): Promise<void> {
  if (rt.tornDown) return;
  rt.tornDown = true;
  rt.abort.abort();
  const sb = rt.sandbox;
  if (rt.launcher?.state === 'final' && sb?.launcherAlive()) {
    for (let waited = 0; waited < FINAL_EXIT_GRACE_MS && sb.launcherAlive(); waited += 100) await new Promise((r) => setTimeout(r, 100));
  }
  await rt.launcher?.close({ gone: 'torn down' }).catch((e: unknown) => onError?.('launcher endpoint', e));
  await releaseVmi(env, rt.uid, sb, { onError });
}

/**
 * Removes what VMI `uid` holds on the node: its sandbox (or, with none at hand, what
 * a previous handler left of it; `all` takes the launcher log too), its pod network,
 * and every image hold, also those taken before a handler restart. A step that
 * fails goes to `onError` (default: ignored) and the others still run.
 */
export async function releaseVmi(env: TeardownEnv, uid: string, sandbox: VmSandbox | undefined, opts: { all?: boolean; onError?: (what: string, e: unknown) => void } = {}): Promise<void> {
  const failed = (what: string) => (e: unknown): void => opts.onError?.(what, e);
  if (sandbox) await sandbox.destroy({ all: opts.all }).catch(failed('sandbox'));
  else await env.sandboxes.destroyLeftovers(uid, { all: opts.all }).catch(failed('sandbox'));
  await env.network.destroyPodNetwork(uid).catch(failed('pod network'));
  await env.images.release(undefined, uid).catch(failed('image hold'));
  // Last: the files are free for another VMI only once this one's QEMU is gone.
  env.hostDisks?.release(uid);
  env.claims?.release(uid);
}
