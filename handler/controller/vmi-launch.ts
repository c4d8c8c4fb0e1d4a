// Starting a VMI's domain and hearing from it: the handle on its launcher (how its
// events and its end reach the VMI's status), and Sync — the VMI and its launch
// context sent once the launcher has said hello. Events are applied in order,
// made durable, and only then acknowledged, so the launcher can forget them.

import type { Logger } from 'pino';
import { errorMessage } from '../../proto/errors.js';
import type { DomainEvent__Output } from '../../proto/generated/virtnode/launcher/v1/DomainEvent.js';
import { encodeLaunchContext, type LaunchContext } from '../../proto/launch.js';
import type { VirtualMachineInstance } from '../../proto/vmi/types.js';
import type { VmSandbox } from '../sandbox/provider.js';
import type { Store } from '../store/store.js';
import { LauncherHandle } from './launcher-handle.js';
import { KIND, type VmiRuntime } from './vmi-runtime.js';
import type { VmiStatusWriter } from './vmi-status.js';

export interface LaunchEnv {
  store: Store;
  log: Logger;
  status: VmiStatusWriter;
  /** Reconcile the VMI of `key` again. */
  requeue(key: string): void;
}

/** Sends the VMI to its launcher once it has said hello; a refusal fails the VMI. */
export function startDomain(env: LaunchEnv, rt: VmiRuntime, context: LaunchContext): void {
  const sb = rt.sandbox!;
  const current = (): string | undefined => {
    const vmi = env.store.get<VirtualMachineInstance>(KIND, rt.namespace, rt.name);
    return vmi?.metadata.uid === rt.uid ? JSON.stringify(vmi) : undefined;
  };
  // QEMU is born where its launcher is: in the VM's cgroup. A launcher the handler
  // started is checked (and moved) first; a spare joins by itself and refuses Sync
  // if it could not (checking it here would race its join).
  const placed = async (): Promise<void> => {
    if (sb.runtime.launcherPid && !sb.runtime.launcherJoinsCgroup) await sb.ensurePlaced(sb.runtime.launcherPid);
  };
  rt.launcher!.sync(current, encodeLaunchContext(context), placed)
    .then(async () => {
      sb.runtime.synced = true;
      await sb.save();
    })
    .catch((e) => {
      if (rt.tornDown || rt.launcher?.state === 'gone') return; // its end is handled where it is seen
      env.log.error({ key: rt.key, err: errorMessage(e) }, 'Sync failed');
      const cur = env.store.get<VirtualMachineInstance>(KIND, rt.namespace, rt.name);
      if (cur?.metadata.uid === rt.uid) env.status.fail(cur, 'SyncFailed', errorMessage(e));
    });
}

export function launcherFor(env: LaunchEnv, rt: VmiRuntime, sb: VmSandbox): LauncherHandle {
  return new LauncherHandle({
    key: rt.key,
    socketPath: sb.paths.handlerSocket,
    log: env.log.child({ key: rt.key, component: 'launcher' }),
    alive: () => sb.launcherAlive(),
    admitPeer: (peer) => sb.admitsLauncher(peer),
    appliedSeq: () => sb.runtime.lastEventSeq,
    onEvent: (ev) => onDomainEvent(env, rt, sb, ev),
    onAgent: (s) => env.status.applyAgentStatus(rt.uid, rt.namespace, rt.name, s),
    onExit: (how, afterFinal) => {
      const vmi = env.store.get<VirtualMachineInstance>(KIND, rt.namespace, rt.name);
      if (vmi?.metadata.uid === rt.uid && !afterFinal) {
        env.status.fail(vmi, 'LauncherExited', `virt-launcher process ${sb.runtime.launcherPid ?? ''} ${how} unexpectedly`);
      }
      env.requeue(rt.key);
    },
  });
}

async function onDomainEvent(env: LaunchEnv, rt: VmiRuntime, sb: VmSandbox, ev: DomainEvent__Output): Promise<void> {
  const seq = Number(ev.seq);
  const final = ev.final || ev.state === 'SHUTOFF' || ev.state === 'CRASHED';
  // Final before the status says so: storing a final phase starts the teardown at
  // once, and it must find the launcher final to wait for it to take this event's
  // acknowledgement and exit by itself, rather than cut its session and kill it.
  if (final) rt.launcher?.final();
  if (seq > sb.runtime.lastEventSeq) {
    await env.status.applyDomainEvent(rt.uid, rt.namespace, rt.name, ev);
    sb.runtime.lastEventSeq = seq;
    // The record only spares a restarted handler from re-applying resends; once the
    // sandbox is torn down there is nothing left to record it in.
    if (!rt.tornDown) await sb.save().catch((e) => env.log.warn({ key: rt.key, err: errorMessage(e) }, 'saving the runtime record failed'));
  }
  rt.launcher?.acknowledge(seq);
  if (final) env.requeue(rt.key);
}
