// The domain's lifecycle as one explicit table (containerd's init_state pattern):
// which state may follow which, and which operation is legal in which state. An
// illegal request is an error naming both states, never a silent no-op.

import { IllegalTransitionError } from '../../proto/errors.js';
import type { DomainState } from '../../proto/generated/virtnode/launcher/v1/DomainState.js';

export type State = Exclude<DomainState, number>;

const NEXT: Record<State, readonly State[]> = {
  NO_STATE: ['STARTING', 'SHUTOFF'],
  STARTING: ['RUNNING', 'SHUTOFF', 'CRASHED'],
  // RUNNING → RUNNING is a reset or reboot: the guest restarts inside the same QEMU.
  RUNNING: ['RUNNING', 'PAUSED', 'SHUTTING_DOWN', 'SHUTOFF', 'CRASHED'],
  PAUSED: ['RUNNING', 'SHUTTING_DOWN', 'SHUTOFF', 'CRASHED'],
  SHUTTING_DOWN: ['SHUTOFF', 'CRASHED'],
  SHUTOFF: [],
  CRASHED: [],
};

export type Operation = 'start' | 'pause' | 'unpause' | 'shutdown' | 'kill' | 'softReboot' | 'reset' | 'hotplug';

const LEGAL: Record<Operation, readonly State[]> = {
  start: ['NO_STATE'],
  pause: ['RUNNING'],
  unpause: ['PAUSED'],
  shutdown: ['STARTING', 'RUNNING', 'PAUSED', 'SHUTTING_DOWN'],
  kill: ['NO_STATE', 'STARTING', 'RUNNING', 'PAUSED', 'SHUTTING_DOWN'],
  softReboot: ['RUNNING'],
  reset: ['RUNNING', 'PAUSED'],
  hotplug: ['RUNNING', 'PAUSED'],
};

/** The state an operation leads to, for error messages. */
const TARGET: Record<Operation, State> = {
  start: 'STARTING',
  pause: 'PAUSED',
  unpause: 'RUNNING',
  shutdown: 'SHUTTING_DOWN',
  kill: 'SHUTOFF',
  softReboot: 'RUNNING',
  reset: 'RUNNING',
  hotplug: 'RUNNING',
};

export function isFinal(s: State): boolean {
  return s === 'SHUTOFF' || s === 'CRASHED';
}

export function canTransition(from: State, to: State): boolean {
  return NEXT[from].includes(to);
}

/** Throws unless `to` may follow `from`. */
export function checkTransition(from: State, to: State): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
}

/** Throws unless `op` is legal in state `s`. */
export function checkOperation(s: State, op: Operation): void {
  if (!LEGAL[op].includes(s)) throw new IllegalTransitionError(s, TARGET[op], `${op} is not possible while the domain is ${s}`);
}
