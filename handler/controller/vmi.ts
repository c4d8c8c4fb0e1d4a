// The VMI controller: virt-handler's job for the VMIs of this node, plus, in
// standalone mode, kubelet's part of making and removing their sandboxes. This file
// is the reconciler and the lifecycle verbs; its rooms are vmi-prepare.ts (what a
// VMI needs before its launcher runs), vmi-launch.ts (Sync and domain events),
// launcher-handle.ts (one launcher and its states), vmi-recover.ts (after a handler
// restart), vmi-teardown.ts (every end), vmi-phase.ts (the phase table) and
// vmi-status.ts (writing status and events) and vmi-verbs.ts (lifecycle verbs).
//
// Level-triggered: reconcile(key) reads the stored VMI and what runs for it and
// closes the gap. The start path runs one way: prepare → launcher started → its
// Hello → Sync → domain events. Domain events flow back: applied to the stored
// status, made durable, then acknowledged, so the launcher can forget them.

import { errorMessage, VirtnodeError } from '../../proto/errors.js';
import type { VirtualMachineInstance } from '../../proto/vmi/types.js';
import type { Change } from '../store/store.js';
import { WorkQueue } from './queue.js';
import { getCondition, qosClassOf, removeCondition, setCondition } from './status.js';
import { KIND_PVC } from '../../proto/storage/pvc.js';
import { isFinalPhase, setPhase } from './vmi-phase.js';
import { launcherFor, startDomain, type LaunchEnv } from './vmi-launch.js';
import { prepareVmi } from './vmi-prepare.js';
import { recoverVmi, sweepLeftovers, type RecoverEnv } from './vmi-recover.js';
import { KIND, keyOf, newRuntime, type VmiControllerDeps, type VmiRuntime } from './vmi-runtime.js';
import { VmiStatusWriter } from './vmi-status.js';
import { teardownVmi, releaseVmi } from './vmi-teardown.js';
import { checkAgentVerb, verbCommand, type Verb } from './vmi-verbs.js';
import type { CommandOp } from './launcher-endpoint.js';
import type { CommandResult__Output } from '../../proto/generated/virtnode/launcher/v1/CommandResult.js';
import { hotplugStatuses, requestAdd, requestRemove, syncVolumes, type HotplugEnv, type HotplugOutcome } from './vmi-hotplug.js';
import type { HotplugRequest } from '../../proto/vmi/validate-hotplug.js';

export type { VmiControllerDeps } from './vmi-runtime.js';

export class VmiController {
  #d: VmiControllerDeps;
  #queue: WorkQueue;
  #rt = new Map<string, VmiRuntime>(); // by key
  #status: VmiStatusWriter;
  #stopped = false;
  /** Callers of addVolume/removeVolume waiting for the reconciler, by "<uid>/<volume>/<op>". */
  #hotplugWaiters = new Map<string, ((o: HotplugOutcome) => void)[]>();

  constructor(deps: VmiControllerDeps) {
    this.#d = deps;
    this.#status = new VmiStatusWriter(deps.store);
    this.#queue = new WorkQueue((k) => this.#reconcile(k), {
      concurrency: 8,
      backoff: deps.backoff,
      onError: (k, e, retryInMs) => this.#d.log.error({ key: k, err: errorMessage(e), retryInMs }, 'VMI reconcile failed; retrying'),
    });
  }

  /** Takes back what a previous handler left running, then starts reconciling. */
  async start(): Promise<void> {
    const { store } = this.#d;
    store.on('change', (c: Change) => {
      // A claim bound or made: the Pending VMIs waiting for it try again.
      if (c.kind === KIND_PVC) {
        for (const v of store.list<VirtualMachineInstance>(KIND, c.ref?.namespace)) {
          if ((v.status?.phase ?? 'Pending') === 'Pending' && v.spec.volumes?.some((x) => x.persistentVolumeClaim?.claimName === c.ref?.name)) this.#queue.add(keyOf(v.metadata.namespace!, v.metadata.name));
        }
        return;
      }
      if (c.kind !== KIND) return;
      const o = c.object as VirtualMachineInstance;
      const key = keyOf(o.metadata.namespace!, o.metadata.name);
      // A delete during an image pull must not wait for the pull to end.
      if (o.metadata.deletionTimestamp) this.#rt.get(key)?.abort.abort();
      this.#queue.add(key);
    });
    const env = this.#recoverEnv();
    for (const vmi of store.list<VirtualMachineInstance>(KIND)) {
      const key = keyOf(vmi.metadata.namespace!, vmi.metadata.name);
      try {
        const rt = await recoverVmi(env, vmi);
        if (rt) this.#rt.set(key, rt);
      } catch (e) {
        // One VMI whose sandbox cannot be taken back must not keep the node down.
        this.#d.log.error({ uid: vmi.metadata.uid, name: vmi.metadata.name, err: errorMessage(e) }, 'recovering the VMI failed');
        this.#status.fail(vmi, 'RecoveryFailed', `the handler could not take the VMI back after a restart: ${errorMessage(e)}`);
      }
      this.#queue.add(key);
    }
    await sweepLeftovers(env, store.list<VirtualMachineInstance>(KIND));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#queue.stop();
    // Launchers keep running: a handler stop or upgrade must not disturb VMs.
    for (const rt of this.#rt.values()) {
      rt.abort.abort();
      await rt.launcher?.close();
    }
  }

  idle(): Promise<void> {
    return this.#queue.idle();
  }

  // ---- lifecycle verbs (API) ---------------------------------------------------

  /** pause, unpause, softReboot, reset: KubeVirt's rules in vmi-verbs.ts. Resolves with what the launcher did, where it says. */
  async verb(ns: string, name: string, verb: Verb): Promise<string> {
    const op = verbCommand(verb, this.#d.store.mustGet<VirtualMachineInstance>(KIND, ns, name));
    const launcher = this.#rt.get(keyOf(ns, name))?.launcher;
    if (!launcher) throw new VirtnodeError('VN_UNAVAILABLE', `the launcher of ${ns}/${name} is not connected; try again`);
    return (await launcher.command(op)).message;
  }

  /** A guest agent verb (query, freeze, unfreeze) to a running VMI's launcher; resolves with its result. */
  async agentVerb(ns: string, name: string, what: string, op: CommandOp, timeoutMs = 90_000): Promise<CommandResult__Output> {
    checkAgentVerb(this.#d.store.mustGet<VirtualMachineInstance>(KIND, ns, name), what);
    const launcher = this.#rt.get(keyOf(ns, name))?.launcher;
    if (!launcher) throw new VirtnodeError('VN_UNAVAILABLE', `the launcher of ${ns}/${name} is not connected; try again`);
    return launcher.command(op, timeoutMs);
  }

  /** A running VMI's volume file grew (an expanded claim): its QEMU is told (block_resize), so the guest sees it. */
  async resizeVolume(ns: string, name: string, volume: string, sizeBytes: bigint): Promise<void> {
    const launcher = this.#rt.get(keyOf(ns, name))?.launcher;
    if (!launcher) throw new VirtnodeError('VN_UNAVAILABLE', `the launcher of ${ns}/${name} is not connected`);
    await launcher.command({ resizeVolume: { name: volume, sizeBytes: Number(sizeBytes) } });
  }

  // ---- volume hotplug (API) -----------------------------------------------------

  /**
   * Adds an admitted disk and hostDisk volume to a running VMI (vmi-hotplug.ts) and
   * resolves once the guest has it (volumeStatus Ready), or rejects with why it was
   * undone. The request outlives a timeout here: the reconciler keeps at it.
   */
  async addVolume(ns: string, name: string, req: HotplugRequest, timeoutMs = 90_000): Promise<HotplugOutcome> {
    const vmi = this.#d.store.mustGet<VirtualMachineInstance>(KIND, ns, name);
    const done = this.#waitHotplug(vmi.metadata.uid!, req.volume.name, 'add', timeoutMs);
    await requestAdd(this.#hotplugEnv(), vmi, req);
    return done;
  }

  /** Removes a hot-plugged volume from a running VMI; resolves once QEMU has let go of it. */
  async removeVolume(ns: string, name: string, volume: string, timeoutMs = 90_000): Promise<HotplugOutcome> {
    const vmi = this.#d.store.mustGet<VirtualMachineInstance>(KIND, ns, name);
    const done = this.#waitHotplug(vmi.metadata.uid!, volume, 'remove', timeoutMs);
    await requestRemove(this.#hotplugEnv(), vmi, volume);
    return done;
  }

  #waitHotplug(uid: string, volume: string, op: 'add' | 'remove', timeoutMs: number): Promise<HotplugOutcome> {
    const key = `${uid}/${volume}/${op}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new VirtnodeError('VN_TIMEOUT', `volume ${volume}: the ${op === 'add' ? 'hot-plug' : 'unplug'} did not finish within ${timeoutMs / 1000}s; the handler keeps trying (status.volumeStatus shows where it is)`));
      }, timeoutMs);
      const waiter = (o: HotplugOutcome): void => {
        if (!o.ok && !o.final) {
          // A failure that will be retried: the caller hears of it, the reconciler goes on.
          off();
          reject(new VirtnodeError('VN_UNAVAILABLE', o.message));
          return;
        }
        off();
        if (o.ok) resolve(o);
        else reject(new VirtnodeError('VN_INVALID_SPEC', o.message));
      };
      const off = (): void => {
        clearTimeout(timer);
        const list = (this.#hotplugWaiters.get(key) ?? []).filter((w) => w !== waiter);
        if (list.length) this.#hotplugWaiters.set(key, list);
        else this.#hotplugWaiters.delete(key);
      };
      this.#hotplugWaiters.set(key, [...(this.#hotplugWaiters.get(key) ?? []), waiter]);
    });
  }

  #hotplugDone(uid: string, o: HotplugOutcome): void {
    for (const w of this.#hotplugWaiters.get(`${uid}/${o.volume}/${o.op}`) ?? []) w(o);
  }

  #hotplugEnv(): HotplugEnv {
    return { log: this.#d.log, status: this.#status, hostDisks: this.#d.hostDisks };
  }

  async #syncVolumes(vmi: VirtualMachineInstance, rt: VmiRuntime): Promise<void> {
    const uid = vmi.metadata.uid!;
    try {
      for (const o of await syncVolumes(this.#hotplugEnv(), vmi, rt)) this.#hotplugDone(uid, o);
    } catch (e) {
      const outcome = (e as { outcome?: HotplugOutcome }).outcome;
      if (outcome) this.#hotplugDone(uid, outcome);
      throw e;
    }
  }

  /**
   * What runs now, for stats and metrics: every VMI of this node with a runtime, and
   * its launcher and sandbox where they exist. A snapshot; nothing here waits.
   */
  runtimes(): { vmi: VirtualMachineInstance; rt: VmiRuntime }[] {
    const out: { vmi: VirtualMachineInstance; rt: VmiRuntime }[] = [];
    for (const rt of this.#rt.values()) {
      const vmi = this.#d.store.get<VirtualMachineInstance>(KIND, rt.namespace, rt.name);
      if (vmi && vmi.metadata.uid === rt.uid) out.push({ vmi, rt });
    }
    return out;
  }

  /** The runtime of one VMI, if something runs for it. */
  runtime(ns: string, name: string): { vmi: VirtualMachineInstance; rt: VmiRuntime } | undefined {
    const rt = this.#rt.get(keyOf(ns, name));
    const vmi = this.#d.store.get<VirtualMachineInstance>(KIND, ns, name);
    return rt && vmi && vmi.metadata.uid === rt.uid ? { vmi, rt } : undefined;
  }

  /**
   * Marks a VMI for deletion; the reconciler shuts the guest down within the grace
   * period, tears the sandbox down and removes the object.
   */
  async requestDelete(ns: string, name: string, gracePeriodSeconds?: number): Promise<void> {
    const { durable } = this.#d.store.mutate<VirtualMachineInstance>(KIND, ns, name, (vmi) => {
      const grace = gracePeriodSeconds ?? vmi.spec.terminationGracePeriodSeconds ?? 30;
      if (vmi.metadata.deletionTimestamp) {
        // A second delete may only shorten the grace period, as in Kubernetes.
        if (grace >= (vmi.metadata.deletionGracePeriodSeconds ?? Infinity)) return false;
      } else {
        vmi.metadata.deletionTimestamp = new Date().toISOString();
      }
      vmi.metadata.deletionGracePeriodSeconds = grace;
    });
    await durable;
  }

  /** The console socket of a running VMI. */
  consoleSocket(ns: string, name: string): string {
    const vmi = this.#d.store.mustGet<VirtualMachineInstance>(KIND, ns, name);
    const rt = this.#rt.get(keyOf(ns, name));
    if (vmi.status?.phase !== 'Running' || !rt?.sandbox) {
      throw new VirtnodeError('VN_UNAVAILABLE', `VMI ${ns}/${name} is not running (phase ${vmi.status?.phase ?? 'Pending'})`);
    }
    return rt.sandbox.paths.consoleSocket;
  }

  // ---- reconcile -----------------------------------------------------------------

  async #reconcile(key: string): Promise<void> {
    if (this.#stopped) return;
    const [ns, name] = key.split('/') as [string, string];
    const vmi = this.#d.store.get<VirtualMachineInstance>(KIND, ns, name);
    let rt = this.#rt.get(key);
    if (rt && vmi && rt.uid !== vmi.metadata.uid) {
      // Same name, new object (deleted and re-created): the old one must go first.
      await this.#teardown(rt);
      this.#rt.delete(key);
      rt = undefined;
    }
    if (!vmi) {
      if (rt) await this.#teardown(rt);
      this.#rt.delete(key);
      return;
    }
    const phase = vmi.status?.phase ?? 'Pending';
    if (isFinalPhase(phase)) {
      if (rt) await this.#teardown(rt);
      if (vmi.metadata.deletionTimestamp) await this.#remove(vmi, rt);
    } else if (vmi.metadata.deletionTimestamp) {
      await this.#terminate(vmi, rt);
    } else if (phase === 'Pending') {
      await this.#prepare(vmi);
    } else if (!rt) {
      // Scheduling, Scheduled, Running: a runtime must exist.
      this.#status.fail(vmi, 'LauncherExited', 'no launcher runs for this VMI');
    } else if (phase === 'Running' && hotplugStatuses(vmi).some((v) => v.phase !== 'Ready' || !vmi.spec.volumes?.some((x) => x.name === v.name))) {
      await this.#syncVolumes(vmi, rt);
    }
  }

  /** Deletion requested: graceful shutdown, then force, then remove. */
  async #terminate(vmi: VirtualMachineInstance, rt: VmiRuntime | undefined): Promise<void> {
    const grace = vmi.metadata.deletionGracePeriodSeconds ?? vmi.spec.terminationGracePeriodSeconds ?? 30;
    const launcher = rt?.launcher;
    const live = launcher !== undefined && launcher.state !== 'gone' && launcher.state !== 'final' && launcher.state !== 'absent';
    // Not sent its VMI yet, or Sync in flight (QEMU, if started, is still paused):
    // no guest runs that a shutdown could reach, and a stop sent now would be lost
    // until the backstop kill (grace + 15 s).
    const starting = launcher?.state === 'starting' || launcher?.state === 'syncing';
    if (!rt || !live || starting || (!launcher.connected && !rt.sandbox?.launcherAlive())) {
      if (rt) await this.#teardown(rt);
      // Nothing runs: the VMI ends here.
      this.#status.update(vmi, (o) => {
        if (!isFinalPhase(o.status?.phase)) setPhase(o, 'Succeeded', 'Deleted');
      });
      await this.#remove(vmi, rt);
      return;
    }
    // A stop already sent is only ever shortened, to a kill (the handle decides).
    launcher.stop(grace, () => void this.#forceKill(rt));
  }

  /** The launcher did not finish a shutdown in time: the sandbox goes, launcher and all. */
  async #forceKill(rt: VmiRuntime): Promise<void> {
    if (rt.tornDown) return;
    this.#d.log.warn({ key: rt.key }, 'launcher did not finish the shutdown in time; killing the sandbox');
    await this.#teardown(rt);
    this.#queue.add(rt.key);
  }

  async #remove(vmi: VirtualMachineInstance, rt: VmiRuntime | undefined): Promise<void> {
    const cur = this.#d.store.get<VirtualMachineInstance>(KIND, vmi.metadata.namespace!, vmi.metadata.name);
    if (!cur || cur.metadata.uid !== vmi.metadata.uid) return;
    await releaseVmi(this.#d, vmi.metadata.uid!, rt?.sandbox, { all: true });
    this.#rt.delete(keyOf(vmi.metadata.namespace!, vmi.metadata.name));
    await this.#d.store.delete(KIND, vmi.metadata.namespace!, vmi.metadata.name);
    this.#status.event(vmi, 'Normal', 'Deleted', 'VirtualMachineInstance deleted');
  }

  // ---- start: prepare, then Sync -------------------------------------------------------

  async #prepare(vmi: VirtualMachineInstance): Promise<void> {
    if (this.#waitForClaims(vmi)) return;
    const rt = newRuntime(vmi);
    this.#rt.set(rt.key, rt);
    const log = this.#d.log.child({ kind: KIND, namespace: rt.namespace, name: rt.name, uid: rt.uid });
    this.#status.update(vmi, (o) => {
      setPhase(o, 'Scheduling');
      o.status!.nodeName = this.#d.nodeName;
      o.status!.qosClass = qosClassOf(o);
    });
    try {
      const { accel, context } = await prepareVmi({ ...this.#d, log, launcherFor: (r, sb) => launcherFor(this.#launchEnv(), r, sb), event: (t, r, m) => this.#status.event(vmi, t, r, m) }, vmi, rt);
      void this.#status.launcherStarted(vmi, rt.sandbox?.runtime.launcherPid, accel);
      log.info({ launcherPid: rt.sandbox?.runtime.launcherPid, accelerator: accel.accelerator }, 'launcher started');
      startDomain(this.#launchEnv(), rt, context);
    } catch (e) {
      if (rt.abort.signal.aborted) {
        log.info('preparation aborted: VMI is being deleted');
        await this.#teardown(rt);
        this.#queue.add(rt.key);
        return;
      }
      log.error({ err: errorMessage(e) }, 'preparing the VMI failed');
      const code = e instanceof VirtnodeError ? e.code : undefined;
      this.#status.fail(vmi, code === 'VN_IMAGE' ? 'ErrImagePull' : code === 'VN_UNSUPPORTED' ? 'Unschedulable' : 'FailedCreate', errorMessage(e));
      // The VMI is Failed: a VM's runStrategy decides what comes next, with its own back-off.
      await this.#teardown(rt);
    }
  }

  /**
   * A claim missing, being deleted or unbound: the VMI stays Pending with KubeVirt's
   * PodScheduled=False/Unschedulable condition and a FailedPvcNotFound event, and is
   * tried again when the claim changes. True while it waits.
   */
  #waitForClaims(vmi: VirtualMachineInstance): boolean {
    const why = this.#d.claims?.waiting(vmi) ?? (vmi.spec.volumes?.some((v) => v.persistentVolumeClaim) && !this.#d.claims ? 'this node provisions no PersistentVolumeClaims' : undefined);
    const cur = getCondition(vmi, 'PodScheduled');
    if (!why) {
      if (cur?.reason === 'Unschedulable') void this.#status.update(vmi, (o) => void (o.status!.conditions = removeCondition(o.status!.conditions ?? [], 'PodScheduled')));
      return false;
    }
    if (cur?.message === why) return true;
    void this.#status.update(vmi, (o) => {
      const st = (o.status ??= { phase: 'Pending', conditions: [] });
      st.conditions = setCondition(st.conditions ?? [], { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: why });
    });
    this.#status.event(vmi, 'Normal', 'FailedPvcNotFound', why);
    return true;
  }

  async #teardown(rt: VmiRuntime): Promise<void> {
    await teardownVmi(this.#d, rt, (what, e) => this.#d.log.error({ key: rt.key, err: errorMessage(e) }, `${what} teardown failed`));
  }

  #launchEnv(): LaunchEnv {
    return { store: this.#d.store, log: this.#d.log, status: this.#status, requeue: (key) => this.#queue.add(key) };
  }

  #recoverEnv(): RecoverEnv {
    return {
      ...this.#d,
      launcherFor: (rt, sb) => launcherFor(this.#launchEnv(), rt, sb),
      startDomain: (rt, ctx) => startDomain(this.#launchEnv(), rt, ctx),
      fail: (vmi, reason, message) => this.#status.fail(vmi, reason, message),
      restart: (vmi) => this.#status.update(vmi, (o) => setPhase(o, 'Pending')),
    };
  }
}

