// How a domain state reported by a launcher becomes a VMI phase and conditions,
// the way virt-handler maps libvirt domain states: guest poweroff → Succeeded,
// QEMU crash or guest panic → Failed with a reason, a paused domain keeps the
// Running phase with a Paused condition. Pure functions, unit-tested.

import { ACCELERATOR_ANNOTATION, QEMU_PID_ANNOTATION, setAnnotation } from '../../proto/vmi/annotations.js';
import { compareQuantities, cpuTopology, tryParseQuantity } from '../../proto/vmi/index.js';
import type { Condition, QosClass, VirtualMachine, VirtualMachineInstance, VMIInterfaceStatus, VMPrintableStatus } from '../../proto/vmi/types.js';
import { isFinalPhase, setPhase } from './vmi-phase.js';
import type { DomainEvent__Output } from '../../proto/generated/virtnode/launcher/v1/DomainEvent.js';

/** Sets or replaces one condition; lastTransitionTime moves only when status changes. */
export function setCondition(conds: Condition[], c: Omit<Condition, 'lastTransitionTime' | 'lastProbeTime'>, now = new Date()): Condition[] {
  const prev = conds.find((x) => x.type === c.type);
  const next: Condition = {
    ...c,
    lastProbeTime: null,
    lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : now.toISOString(),
  };
  return [...conds.filter((x) => x.type !== c.type), next];
}

export function removeCondition(conds: Condition[], type: string): Condition[] {
  return conds.filter((c) => c.type !== type);
}

export function getCondition(vmi: VirtualMachineInstance, type: string): Condition | undefined {
  return vmi.status?.conditions.find((c) => c.type === type);
}

export interface EventNote {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/**
 * Applies one domain event to a VMI's status. Returns the node Events worth
 * recording (empty when the event changes nothing a user would notice).
 */
export function applyDomainEvent(vmi: VirtualMachineInstance, ev: DomainEvent__Output, now = new Date()): EventNote[] {
  const st = (vmi.status ??= { phase: 'Pending', conditions: [] });
  if (isFinalPhase(st.phase)) return []; // a finished VMI never comes back
  if (ev.qemuPid) setAnnotation(vmi.metadata, QEMU_PID_ANNOTATION, ev.qemuPid);
  if (ev.accelerator === 'kvm' || ev.accelerator === 'tcg') setAnnotation(vmi.metadata, ACCELERATOR_ANNOTATION, ev.accelerator);
  if (ev.interfacesJson) st.interfaces = JSON.parse(ev.interfacesJson) as VMIInterfaceStatus[];
  if (ev.machineType) applyResolved(vmi, ev);
  const notes: EventNote[] = [];
  switch (ev.state) {
    case 'STARTING':
      // The launcher has the VM: QEMU is being started.
      if (st.phase === 'Scheduling') setPhase(vmi, 'Scheduled', undefined, now);
      break;
    case 'RUNNING': {
      const wasPaused = getCondition(vmi, 'Paused')?.status === 'True';
      if (st.phase !== 'Running') notes.push({ type: 'Normal', reason: 'Started', message: 'VirtualMachineInstance started' });
      else if (wasPaused) notes.push({ type: 'Normal', reason: 'Unpaused', message: 'VirtualMachineInstance unpaused' });
      else if (ev.reason) notes.push({ type: 'Normal', reason: ev.reason, message: ev.message || `guest ${ev.reason.toLowerCase()}` });
      setPhase(vmi, 'Running', undefined, now);
      st.conditions = removeCondition(st.conditions, 'Paused');
      st.conditions = setCondition(st.conditions, { type: 'Ready', status: 'True' }, now);
      break;
    }
    case 'PAUSED': {
      setPhase(vmi, 'Running', undefined, now);
      const byUser = ev.reason === 'User';
      st.conditions = setCondition(
        st.conditions,
        {
          type: 'Paused',
          status: 'True',
          reason: byUser ? 'PausedByUser' : `Paused${ev.reason || 'Unknown'}`,
          message: byUser ? 'VMI was paused by user' : ev.message || 'VMI was paused',
        },
        now,
      );
      st.conditions = setCondition(st.conditions, { type: 'Ready', status: 'False', reason: 'Paused' }, now);
      notes.push({ type: 'Normal', reason: 'Paused', message: byUser ? 'VirtualMachineInstance paused by user' : ev.message || 'VirtualMachineInstance paused' });
      break;
    }
    case 'SHUTTING_DOWN':
      notes.push({ type: 'Normal', reason: 'ShuttingDown', message: ev.message || 'Signaled graceful shutdown' });
      break;
    case 'SHUTOFF': {
      // QEMU exited. A guest poweroff or a shutdown/kill we asked for is a success;
      // anything else (QEMU failed to start, exited on its own with an error) is not.
      const ok = ev.reason === 'Shutdown' || ev.reason === 'Destroyed';
      setPhase(vmi, ok ? 'Succeeded' : 'Failed', ok ? undefined : ev.reason || 'Failed', now);
      st.conditions = setCondition(st.conditions, { type: 'Ready', status: 'False', reason: ok ? 'Stopped' : 'Failed', message: ev.message || undefined }, now);
      st.conditions = removeCondition(st.conditions, 'Paused');
      notes.push(
        ok
          ? { type: 'Normal', reason: 'Stopped', message: ev.message || 'The VirtualMachineInstance was shut down' }
          : { type: 'Warning', reason: 'Failed', message: ev.message || 'The VirtualMachineInstance failed' },
      );
      break;
    }
    case 'CRASHED': {
      setPhase(vmi, 'Failed', ev.reason || 'Crashed', now);
      st.conditions = setCondition(st.conditions, { type: 'Ready', status: 'False', reason: ev.reason || 'Crashed', message: ev.message || undefined }, now);
      st.conditions = removeCondition(st.conditions, 'Paused');
      notes.push({ type: 'Warning', reason: ev.reason || 'Crashed', message: ev.message || 'The VirtualMachineInstance crashed' });
      break;
    }
    default:
      break;
  }
  if (isFinalPhase(st.phase)) {
    setAnnotation(vmi.metadata, QEMU_PID_ANNOTATION, undefined);
    // No domain, no agent (virt-handler's updateGuestAgentConditions).
    st.conditions = removeCondition(removeCondition(st.conditions, 'AgentConnected'), 'AgentVersionNotSupported');
    delete st.fsFreezeStatus;
  }
  return notes;
}

/**
 * What QEMU made of the domain, as virt-handler reports it once the domain exists:
 * the resolved machine type, the vCPU topology, memory (asked, at boot, now) and
 * where each volume shows up in the guest.
 */
function applyResolved(vmi: VirtualMachineInstance, ev: DomainEvent__Output): void {
  const st = vmi.status!;
  const d = vmi.spec.domain;
  st.machine = { type: ev.machineType };
  st.currentCPUTopology = cpuTopology(vmi.spec);
  const asked = d.memory?.guest ?? d.resources?.requests?.memory ?? d.resources?.limits?.memory;
  st.memory = {
    ...(asked !== undefined ? { guestRequested: String(asked), guestAtBoot: String(asked) } : {}),
    ...(ev.guestMemoryBytes ? { guestCurrent: binaryQuantity(Number(ev.guestMemoryBytes)) } : {}),
  };
  st.volumeStatus = ev.volumes.map((v) => ({ name: v.name, target: v.target, ...(v.sizeBytes ? { size: Number(v.sizeBytes) } : {}) }));
}

/** Bytes the way Kubernetes writes a binary quantity: the largest of Ki, Mi, Gi, ... that divides it. */
export function binaryQuantity(bytes: number): string {
  const suffixes = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];
  let i = 0;
  while (i < suffixes.length - 1 && bytes !== 0 && bytes % 1024 ** (i + 1) === 0) i++;
  return `${bytes / 1024 ** i}${suffixes[i]}`;
}

/**
 * The Kubernetes QoS class of the VM's pod: Guaranteed when CPU and memory limits
 * are set and the requests (if given) equal them; the pod always requests memory
 * (guest plus overhead), so never BestEffort.
 */
export function qosClassOf(vmi: VirtualMachineInstance): QosClass {
  const r = vmi.spec.domain.resources;
  const same = (k: 'cpu' | 'memory'): boolean => {
    const limit = tryParseQuantity(r?.limits?.[k]);
    if (!limit) return false;
    const request = r?.requests?.[k] === undefined ? limit : tryParseQuantity(r.requests[k]);
    return request !== undefined && compareQuantities(request, limit) === 0;
  };
  return same('cpu') && same('memory') ? 'Guaranteed' : 'Burstable';
}

/** Marks a VMI Failed for a reason found outside the domain (launcher died, sandbox failed). */
export function failVmi(vmi: VirtualMachineInstance, reason: string, message: string, now = new Date()): EventNote[] {
  const st = (vmi.status ??= { phase: 'Pending', conditions: [] });
  if (isFinalPhase(st.phase)) return [];
  setPhase(vmi, 'Failed', reason, now);
  st.conditions = setCondition(st.conditions, { type: 'Ready', status: 'False', reason, message }, now);
  st.conditions = removeCondition(removeCondition(removeCondition(st.conditions, 'Paused'), 'AgentConnected'), 'AgentVersionNotSupported');
  delete st.fsFreezeStatus;
  setAnnotation(vmi.metadata, QEMU_PID_ANNOTATION, undefined);
  return [{ type: 'Warning', reason, message }];
}

/** KubeVirt's printableStatus for `get vms`. */
export function vmPrintableStatus(vm: VirtualMachine, vmi: VirtualMachineInstance | undefined, opts: { crashLoop?: boolean; imagePullError?: boolean } = {}): VMPrintableStatus {
  if (vm.metadata.deletionTimestamp) return 'Terminating';
  if (!vmi) return opts.crashLoop ? 'CrashLoopBackOff' : 'Stopped';
  if (vmi.metadata.deletionTimestamp) return 'Stopping';
  const phase = vmi.status?.phase ?? 'Pending';
  switch (phase) {
    case 'Pending':
    case 'Scheduling':
      if (opts.imagePullError) return 'ErrImagePull';
      return vmi.status?.conditions.some((c) => c.type === 'Provisioning' && c.status === 'True') ? 'Provisioning' : 'Starting';
    case 'Scheduled':
      return 'Starting';
    case 'Running':
      return getCondition(vmi, 'Paused')?.status === 'True' ? 'Paused' : 'Running';
    case 'Failed':
      return opts.crashLoop ? 'CrashLoopBackOff' : 'Stopped';
    default:
      return 'Stopped';
  }
}
