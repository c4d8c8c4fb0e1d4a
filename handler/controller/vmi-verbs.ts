// The lifecycle verbs a user sends to a running VMI (virtctl's pause, unpause,
// soft-reboot, reset), each with the launcher command it becomes and the rule
// KubeVirt applies before sending it. A verb the VMI's state does not allow is an
// error naming both, with KubeVirt's words where KubeVirt has words for it.

import { IllegalTransitionError, VirtnodeError } from '../../proto/errors.js';
import type { VirtualMachineInstance } from '../../proto/vmi/types.js';
import type { CommandOp } from './launcher-endpoint.js';

export type Verb = 'pause' | 'unpause' | 'softReboot' | 'reset';

interface VerbRule {
  op: CommandOp;
  /** In words, for errors. */
  name: string;
  /** Throws when this running VMI may not take the verb now. */
  check?(vmi: VirtualMachineInstance): void;
}

const VERBS: Record<Verb, VerbRule> = {
  pause: {
    op: { pause: {} },
    name: 'pause',
    check: (vmi) => {
      if (paused(vmi)) throw new IllegalTransitionError('Paused', 'Paused', 'VMI is already paused');
    },
  },
  unpause: {
    op: { unpause: {} },
    name: 'unpause',
    check: (vmi) => {
      if (!paused(vmi)) throw new IllegalTransitionError('Running', 'Running', 'VMI is not paused');
    },
  },
  // Through the guest agent when it answers, else ACPI; never on a paused VMI.
  softReboot: {
    op: { softReboot: {} },
    name: 'soft reboot',
    check: (vmi) => {
      if (paused(vmi)) throw new IllegalTransitionError('Paused', 'soft reboot', 'VMI is paused');
      const agent = vmi.status?.conditions.some((c) => c.type === 'AgentConnected' && c.status === 'True');
      if (!agent && vmi.spec.domain.features?.acpi?.enabled === false) {
        throw new VirtnodeError('VN_ILLEGAL_TRANSITION', 'VMI neither have the agent connected nor the ACPI feature enabled');
      }
    },
  },
  reset: { op: { reset: {} }, name: 'reset' },
};

/**
 * The guest agent's verbs (virtctl guestosinfo, fslist, userlist, freeze, unfreeze)
 * go to a running VMI only; the launcher refuses them when no agent answers.
 */
export function checkAgentVerb(vmi: VirtualMachineInstance, what: string): void {
  const { namespace, name } = vmi.metadata;
  if (vmi.status?.phase !== 'Running' || vmi.metadata.deletionTimestamp) {
    throw new IllegalTransitionError(vmi.metadata.deletionTimestamp ? 'Terminating' : (vmi.status?.phase ?? 'Pending'), what, `VMI ${namespace}/${name} is not running`);
  }
  if (paused(vmi)) throw new IllegalTransitionError('Paused', what, 'VMI is paused: its guest agent cannot answer');
}

/** The launcher command of `verb` for `vmi`, or the error that refuses it. */
export function verbCommand(verb: Verb, vmi: VirtualMachineInstance): CommandOp {
  const rule = VERBS[verb];
  const { namespace, name } = vmi.metadata;
  if (vmi.status?.phase !== 'Running' || vmi.metadata.deletionTimestamp) {
    throw new IllegalTransitionError(vmi.metadata.deletionTimestamp ? 'Terminating' : (vmi.status?.phase ?? 'Pending'), rule.name, `VMI ${namespace}/${name} is not running`);
  }
  rule.check?.(vmi);
  return rule.op;
}

function paused(vmi: VirtualMachineInstance): boolean {
  return vmi.status?.conditions.some((c) => c.type === 'Paused' && c.status === 'True') ?? false;
}
