// The VMI phase as one explicit table (the shape of launcher/domain/state.ts): which
// phase may follow which. A move the table does not allow is an error naming both
// phases, never a silent overwrite: a finished VMI never comes back, and a running
// one never goes back to Scheduling.
//
//   Pending ─prepare→ Scheduling ─launcher started→ Scheduled ─domain running→ Running
//   Scheduling ─preparation interrupted by a handler restart→ Pending (prepared again)
//   any unfinished phase ─guest poweroff, stop, delete→ Succeeded | ─crash, failure→ Failed

import { IllegalTransitionError } from '../../proto/errors.js';
import type { VirtualMachineInstance, VMIPhase } from '../../proto/vmi/types.js';

const ENDS: readonly VMIPhase[] = ['Succeeded', 'Failed'];

const NEXT: Record<VMIPhase, readonly VMIPhase[]> = {
  Pending: ['Scheduling', ...ENDS],
  Scheduling: ['Pending', 'Scheduled', 'Running', ...ENDS],
  Scheduled: ['Running', ...ENDS],
  Running: ENDS,
  Succeeded: [],
  Failed: [],
  // KubeVirt's phase for a VMI whose node stopped reporting; virtnode never sets it.
  Unknown: ENDS,
};

export function isFinalPhase(p: VMIPhase | undefined): boolean {
  return p !== undefined && ENDS.includes(p);
}

export function canMove(from: VMIPhase, to: VMIPhase): boolean {
  return from === to || NEXT[from].includes(to);
}

/**
 * Moves a VMI to `phase` (staying is always allowed, and may update the reason),
 * recording the transition time as KubeVirt does. Throws IllegalTransitionError
 * naming both phases when the table forbids the move.
 */
export function setPhase(vmi: VirtualMachineInstance, phase: VMIPhase, reason?: string, now = new Date()): void {
  const st = (vmi.status ??= { phase: 'Pending', conditions: [] });
  if (!canMove(st.phase, phase)) throw new IllegalTransitionError(st.phase, phase, `VMI ${vmi.metadata.namespace}/${vmi.metadata.name}`);
  if (st.phase !== phase) {
    st.phase = phase;
    (st.phaseTransitionTimestamps ??= []).push({ phase, phaseTransitionTimestamp: now.toISOString() });
  }
  if (reason !== undefined) st.reason = reason;
}
