// The VirtualMachine controller: virt-controller's VM logic, which standalone mode
// runs on the node. It owns one question — should this VM's VMI exist right now? —
// answered from the runStrategy, the VMI's phase and pending start/stop requests:
//
//   Always          keep a VMI; replace it whenever it ends (with crash-loop backoff)
//   RerunOnFailure  keep a VMI; replace it only when it Failed; a guest poweroff stays off
//   Once            run one VMI; when it ends, runStrategy becomes Halted
//   Manual          create/delete only on start/stop/restart requests
//   Halted          no VMI
//
// start/stop/restart change the runStrategy or queue requests exactly as virtctl's
// table in KubeVirt's user guide says (Always: stop→Halted; Halted: start→Always;
// RerunOnFailure and Manual keep their strategy and queue the request).

import type { Logger } from 'pino';
import { errorMessage, IllegalTransitionError, InvalidSpecError, NotFoundError } from '../../proto/errors.js';
import { isTemplateKind } from '../../proto/instancetype/types.js';
import { hasMatchers } from '../instancetype/admit-vm.js';
import { pruneRevisions, revisionsInUse, templatesForStart, type StartTemplates } from '../instancetype/revisions.js';
import { vmiFromVM, VM_GENERATION_ANNOTATION } from '../../proto/vmi/index.js';
import type { RunStrategy, VirtualMachine, VirtualMachineInstance } from '../../proto/vmi/types.js';
import type { Change, Store } from '../store/store.js';
import { WorkQueue } from './queue.js';
import { removeCondition, setCondition, vmPrintableStatus } from './status.js';
import { isFinalPhase } from './vmi-phase.js';
import type { VmiController } from './vmi.js';
import type { VmStateDirs } from '../sandbox/device-state.js';

const VM = 'VirtualMachine';
const VMI = 'VirtualMachineInstance';

/** A VMI that ends sooner than this after it started counts as a crash-loop failure. */
const FAST_FAILURE_MS = 60_000;
const BACKOFF_BASE_MS = 5_000;
const BACKOFF_MAX_MS = 300_000;
/** A VM whose instance type or preference could not be applied is tried again this often (and on any change of one). */
const FAILED_CREATE_RETRY_MS = 30_000;

type VMStatus = NonNullable<VirtualMachine['status']>;

export function runStrategyOf(vm: VirtualMachine): RunStrategy {
  if (vm.spec.runStrategy) return vm.spec.runStrategy;
  return vm.spec.running ? 'Always' : 'Halted';
}

function isOwnedBy(vmi: VirtualMachineInstance, vm: VirtualMachine): boolean {
  return (vmi.metadata.ownerReferences ?? []).some((o) => o.kind === VM && o.uid === vm.metadata.uid);
}

export class VmController {
  #store: Store;
  #log: Logger;
  #vmis: VmiController;
  #queue: WorkQueue;
  /** Each VM's persistent device state (EFI variables, TPM): removed with the VM. */
  #stateDirs: VmStateDirs | undefined;

  constructor(deps: { store: Store; log: Logger; vmis: VmiController; vmStateDirs?: VmStateDirs }) {
    this.#store = deps.store;
    this.#log = deps.log;
    this.#vmis = deps.vmis;
    this.#stateDirs = deps.vmStateDirs;
    this.#queue = new WorkQueue((k) => this.#reconcile(k), {
      concurrency: 4,
      onError: (k, e, retryInMs) => this.#log.error({ key: k, err: errorMessage(e), retryInMs }, 'VM reconcile failed; retrying'),
    });
  }

  start(): void {
    this.#store.on('change', (c: Change) => {
      if (isTemplateKind(c.kind)) {
        // An instance type or preference came or changed: a VM that could not start for it may now.
        for (const vm of this.#store.list<VirtualMachine>(VM)) if (hasMatchers(vm) && this.#status(vm).conditions.some((x) => x.type === 'Failure')) this.#queue.add(`${vm.metadata.namespace}/${vm.metadata.name}`);
        return;
      }
      if (c.kind !== VM && c.kind !== VMI) return;
      const o = c.object as VirtualMachine | VirtualMachineInstance;
      // A VMI change concerns the VM of the same name (KubeVirt names them alike).
      this.#queue.add(`${o.metadata.namespace}/${o.metadata.name}`);
    });
    for (const vm of this.#store.list<VirtualMachine>(VM)) this.#queue.add(`${vm.metadata.namespace}/${vm.metadata.name}`);
  }

  stop(): void {
    this.#queue.stop();
  }

  /** Removes device state whose VM is gone (deleted while no handler ran to remove it). */
  async sweepDeviceState(): Promise<void> {
    if (!this.#stateDirs) return;
    const live = new Set(this.#store.list<VirtualMachine>(VM).map((vm) => vm.metadata.uid));
    for (const uid of await this.#stateDirs.list()) {
      if (live.has(uid)) continue;
      this.#log.info({ vmUid: uid }, 'removing the device state of a VM that no longer exists');
      await this.#stateDirs.remove(uid);
    }
  }

  idle(): Promise<void> {
    return this.#queue.idle();
  }

  // ---- virtctl verbs -----------------------------------------------------------

  async startVM(ns: string, name: string): Promise<string> {
    const vm = this.#store.mustGet<VirtualMachine>(VM, ns, name);
    const strategy = runStrategyOf(vm);
    const vmi = this.#ownedVmi(vm);
    const running = vmi !== undefined && !isFinalPhase(vmi.status?.phase) && !vmi.metadata.deletionTimestamp;
    if (running) throw new IllegalTransitionError('Running', 'Running', `VM ${ns}/${name} is already running`);
    await this.#mutate(ns, name, (o) => {
      const st = this.#status(o);
      delete st.startFailure;
      switch (strategy) {
        case 'Halted':
          o.spec.runStrategy = 'Always';
          delete o.spec.running;
          break;
        case 'Always':
          break; // the controller restarts it on its own; start only clears the backoff
        case 'RerunOnFailure':
        case 'Manual':
        case 'Once':
          st.stateChangeRequests = [{ action: 'Start' }];
          break;
      }
    });
    return `VM ${name} was scheduled to start`;
  }

  async stopVM(ns: string, name: string, gracePeriodSeconds?: number): Promise<string> {
    const vm = this.#store.mustGet<VirtualMachine>(VM, ns, name);
    const strategy = runStrategyOf(vm);
    const vmi = this.#ownedVmi(vm);
    const running = vmi !== undefined && !isFinalPhase(vmi.status?.phase);
    if (strategy === 'Halted' && !running) throw new IllegalTransitionError('Stopped', 'Stopped', `VM ${ns}/${name} is not running`);
    if ((strategy === 'Manual' || strategy === 'RerunOnFailure') && !running) {
      throw new IllegalTransitionError('Stopped', 'Stopped', `VM ${ns}/${name} is not running`);
    }
    await this.#mutate(ns, name, (o) => {
      const st = this.#status(o);
      if (strategy === 'Always' || strategy === 'Once') {
        o.spec.runStrategy = 'Halted';
        delete o.spec.running;
      }
      st.stateChangeRequests = [{ action: 'Stop', uid: vmi?.metadata.uid }];
    });
    if (vmi && !vmi.metadata.deletionTimestamp) await this.#vmis.requestDelete(ns, vmi.metadata.name, gracePeriodSeconds);
    else if (vmi && gracePeriodSeconds !== undefined) await this.#vmis.requestDelete(ns, vmi.metadata.name, gracePeriodSeconds);
    return `VM ${name} was scheduled to stop`;
  }

  async restartVM(ns: string, name: string, gracePeriodSeconds?: number): Promise<string> {
    const vm = this.#store.mustGet<VirtualMachine>(VM, ns, name);
    const strategy = runStrategyOf(vm);
    const vmi = this.#ownedVmi(vm);
    if (strategy === 'Halted' || !vmi || isFinalPhase(vmi.status?.phase)) {
      throw new IllegalTransitionError('Stopped', 'Running', `VM ${ns}/${name} is not running; use start`);
    }
    await this.#mutate(ns, name, (o) => {
      this.#status(o).stateChangeRequests = [{ action: 'Stop', uid: vmi.metadata.uid }, { action: 'Start' }];
    });
    await this.#vmis.requestDelete(ns, vmi.metadata.name, gracePeriodSeconds);
    return `VM ${name} was scheduled to restart`;
  }

  /** Deleting a VM deletes its VMI first (foreground, as KubeVirt's default cascade). */
  async deleteVM(ns: string, name: string, gracePeriodSeconds?: number): Promise<void> {
    const vm = this.#store.mustGet<VirtualMachine>(VM, ns, name);
    if (!vm.metadata.deletionTimestamp) {
      await this.#mutate(ns, name, (o) => {
        o.metadata.deletionTimestamp = new Date().toISOString();
        if (gracePeriodSeconds !== undefined) o.metadata.deletionGracePeriodSeconds = gracePeriodSeconds;
      });
    }
    const vmi = this.#ownedVmi(vm);
    if (vmi) await this.#vmis.requestDelete(ns, vmi.metadata.name, gracePeriodSeconds);
  }

  // ---- reconcile -------------------------------------------------------------------

  async #reconcile(key: string): Promise<void> {
    const [ns, name] = key.split('/') as [string, string];
    const vm = this.#store.get<VirtualMachine>(VM, ns, name);
    if (!vm) return;
    const vmi = this.#ownedVmi(vm);
    const strategy = runStrategyOf(vm);
    const st = this.#status(vm);
    const requests = st.stateChangeRequests ?? [];

    if (vm.metadata.deletionTimestamp) {
      if (vmi) {
        if (!vmi.metadata.deletionTimestamp) await this.#vmis.requestDelete(ns, vmi.metadata.name, vm.metadata.deletionGracePeriodSeconds);
      } else {
        // The state first: a handler that stops in between finds the VM and removes it again.
        if (vm.metadata.uid) await this.#stateDirs?.remove(vm.metadata.uid);
        // Its ControllerRevisions go with it (they are owned by it, as in KubeVirt's garbage collection).
        await pruneRevisions(this.#store, vm, new Set());
        await this.#store.delete(VM, ns, name);
        this.#store.recordEvent({ reason: 'Deleted', message: 'VirtualMachine deleted', object: vm });
        return;
      }
      await this.#updateStatus(vm, vmi);
      return;
    }

    // A VMI being deleted: wait for it to go.
    if (vmi?.metadata.deletionTimestamp) {
      await this.#updateStatus(vm, vmi);
      return;
    }

    // A Stop request for a VMI that no longer exists is done; Start stays until served.
    const stop = requests.find((r) => r.action === 'Stop');
    if (stop?.uid && stop.uid !== vmi?.metadata.uid) {
      await this.#mutate(ns, name, (o) => {
        const s = this.#status(o);
        s.stateChangeRequests = (s.stateChangeRequests ?? []).filter((r) => r !== s.stateChangeRequests!.find((x) => x.action === 'Stop'));
      });
      return;
    }
    if (stop && vmi && !isFinalPhase(vmi.status?.phase)) {
      await this.#vmis.requestDelete(ns, vmi.metadata.name);
      return;
    }

    const wantStart = requests.some((r) => r.action === 'Start');
    const phase = vmi?.status?.phase;
    switch (strategy) {
      case 'Halted':
        if (vmi) await this.#vmis.requestDelete(ns, vmi.metadata.name);
        break;
      case 'Always':
        if (!vmi) await this.#createVmi(vm);
        else if (isFinalPhase(phase)) await this.#replaceFinished(vm, vmi);
        break;
      case 'RerunOnFailure':
        if (stop && !wantStart) break; // stopped by the user: stays off
        if (!vmi) await this.#createVmi(vm);
        else if (phase === 'Failed' || (wantStart && phase === 'Succeeded')) await this.#replaceFinished(vm, vmi);
        break;
      case 'Manual':
        if (!wantStart) break;
        if (!vmi) await this.#createVmi(vm);
        else if (isFinalPhase(phase)) await this.#vmis.requestDelete(ns, vmi.metadata.name, 0);
        break;
      case 'Once':
        if (!vmi) await this.#createVmi(vm);
        else if (isFinalPhase(phase) && !wantStart) {
          await this.#mutate(ns, name, (o) => {
            o.spec.runStrategy = 'Halted';
          });
        } else if (isFinalPhase(phase) && wantStart) await this.#vmis.requestDelete(ns, vmi.metadata.name, 0);
        break;
    }
    const now = this.#store.get<VirtualMachine>(VM, ns, name);
    if (now) await this.#updateStatus(now, this.#ownedVmi(now));
  }

  /** A finished VMI is removed so a new one can take its place, after backoff if it crash-loops. */
  async #replaceFinished(vm: VirtualMachine, vmi: VirtualMachineInstance): Promise<void> {
    const ns = vm.metadata.namespace!;
    if (vmi.status?.phase === 'Failed') {
      const started = Date.parse(vmi.metadata.creationTimestamp ?? '') || Date.now();
      const fast = Date.now() - started < FAST_FAILURE_MS;
      const prev = this.#status(vm).startFailure;
      if (prev?.lastFailedVMIUID !== vmi.metadata.uid) {
        const count = fast ? (prev?.consecutiveFailCount ?? 0) + 1 : 0;
        const delay = count === 0 ? 0 : Math.min(BACKOFF_BASE_MS * 2 ** (count - 1), BACKOFF_MAX_MS);
        await this.#mutate(ns, vm.metadata.name, (o) => {
          this.#status(o).startFailure = {
            consecutiveFailCount: count,
            retryAfterTimestamp: new Date(Date.now() + delay).toISOString(),
            lastFailedVMIUID: vmi.metadata.uid!,
          };
        });
      }
    }
    await this.#vmis.requestDelete(ns, vmi.metadata.name, 0);
  }

  async #createVmi(vm: VirtualMachine): Promise<void> {
    const ns = vm.metadata.namespace!;
    const name = vm.metadata.name;
    const failure = this.#status(vm).startFailure;
    if (failure) {
      const wait = Date.parse(failure.retryAfterTimestamp) - Date.now();
      if (wait > 0) {
        this.#queue.addAfter(`${ns}/${name}`, wait + 10);
        return;
      }
    }
    if (this.#store.get(VMI, ns, name)) return; // a VMI of that name not owned by us: leave it
    let started: StartTemplates | undefined;
    if (hasMatchers(vm)) {
      started = await this.#startTemplates(vm);
      if (!started) return;
    }
    // With the networking defaults, as a VMI applied on its own gets them at Apply.
    const vmi = vmiFromVM(started?.vm ?? vm, undefined, { podNetworking: true });
    const { object, durable } = this.#store.create(vmi);
    await durable;
    this.#store.recordEvent({ reason: 'SuccessfulCreate', message: `Started the virtual machine by creating the new virtual machine instance ${object.metadata.name}`, object: vm });
    const now = await this.#store.mutate<VirtualMachine>(VM, ns, name, (o) => {
      const s = this.#status(o);
      s.stateChangeRequests = (s.stateChangeRequests ?? []).filter((r) => r.action !== 'Start' && r.action !== 'Stop');
      // The instance type and preference this VMI was made from, until the next start.
      if (started?.instancetypeRef) s.instancetypeRef = started.instancetypeRef;
      else delete s.instancetypeRef;
      if (started?.preferenceRef) s.preferenceRef = started.preferenceRef;
      else delete s.preferenceRef;
      s.conditions = removeCondition(s.conditions, 'Failure');
    });
    await now.durable;
    await pruneRevisions(this.#store, now.object, revisionsInUse(now.object));
  }

  /**
   * The instance type and preference a VM starts with. When they cannot be applied
   * (missing, conflicting, or asking what virtnode cannot do) no VMI is made: the
   * VM says why in a Failure condition and a Warning event, as KubeVirt's
   * FailedCreate, and is tried again later or when one of them changes.
   */
  async #startTemplates(vm: VirtualMachine): Promise<StartTemplates | undefined> {
    const ns = vm.metadata.namespace!;
    try {
      return await templatesForStart(this.#store, vm);
    } catch (e) {
      if (!(e instanceof InvalidSpecError) && !(e instanceof Error && 'code' in e)) throw e;
      const message = `Error creating virtual machine instance: Failed to apply instancetype: ${errorMessage(e)}`;
      const cur = this.#status(vm).conditions.find((c) => c.type === 'Failure');
      if (cur?.message !== message) {
        this.#store.recordEvent({ type: 'Warning', reason: 'FailedCreate', message, object: vm });
        await this.#mutate(ns, vm.metadata.name, (o) => {
          this.#status(o).conditions = setCondition(this.#status(o).conditions, { type: 'Failure', status: 'True', reason: 'FailedCreate', message });
        });
      }
      this.#queue.addAfter(`${ns}/${vm.metadata.name}`, FAILED_CREATE_RETRY_MS);
      return undefined;
    }
  }

  async #updateStatus(vm: VirtualMachine, vmi: VirtualMachineInstance | undefined): Promise<void> {
    const failure = this.#status(vm).startFailure;
    const crashLoop = !!failure && failure.consecutiveFailCount > 0 && Date.parse(failure.retryAfterTimestamp) > Date.now();
    const printable = vmPrintableStatus(vm, vmi, {
      crashLoop,
      imagePullError: vmi?.status?.reason === 'ErrImagePull',
    });
    const ready = vmi?.status?.phase === 'Running' && vmi.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True');
    const created = vmi !== undefined && !isFinalPhase(vmi.status?.phase);
    // A VMI that has run for a while ends a crash loop.
    const resetFailure = failure && vmi?.status?.phase === 'Running' && Date.now() - Date.parse(vmi.metadata.creationTimestamp ?? '') > FAST_FAILURE_MS;
    const runStrategy = runStrategyOf(vm);
    const desiredGeneration = vm.metadata.generation;
    // The generation the running VMI was made from (KubeVirt's observedGeneration).
    const made = Number(vmi?.metadata.annotations?.[VM_GENERATION_ANNOTATION]);
    const observedGeneration = Number.isSafeInteger(made) && made > 0 ? made : undefined;
    const cur = this.#status(vm);
    if (cur.printableStatus === printable && cur.ready === ready && cur.created === created && cur.runStrategy === runStrategy
      && cur.desiredGeneration === desiredGeneration && (observedGeneration === undefined || cur.observedGeneration === observedGeneration) && !resetFailure) return;
    try {
      await this.#mutate(vm.metadata.namespace!, vm.metadata.name, (o) => {
        const s = this.#status(o);
        s.printableStatus = printable;
        s.ready = ready;
        s.created = created;
        s.runStrategy = runStrategy;
        if (desiredGeneration !== undefined) s.desiredGeneration = desiredGeneration;
        if (observedGeneration !== undefined) s.observedGeneration = observedGeneration;
        s.conditions = setCondition(s.conditions, { type: 'Ready', status: ready ? 'True' : 'False', reason: ready ? undefined : printable });
        if (resetFailure) delete s.startFailure;
      });
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
    }
  }

  #ownedVmi(vm: VirtualMachine): VirtualMachineInstance | undefined {
    const vmi = this.#store.get<VirtualMachineInstance>(VMI, vm.metadata.namespace!, vm.metadata.name);
    return vmi && isOwnedBy(vmi, vm) ? vmi : undefined;
  }

  #status(vm: VirtualMachine): VMStatus {
    vm.status ??= { printableStatus: 'Stopped', ready: false, created: false, conditions: [] };
    return vm.status;
  }

  async #mutate(ns: string, name: string, fn: (vm: VirtualMachine) => void): Promise<void> {
    await this.#store.mutate<VirtualMachine>(VM, ns, name, (o) => {
      fn(o);
    }).durable;
  }
}
