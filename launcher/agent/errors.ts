// How a guest agent command can end badly. Each command of client.ts ends in exactly
// one of these or in its return value.

import { TimeoutError, VirtnodeError } from '../../proto/errors.js';

/**
 * qemu-ga answered with an error: `guest agent <command>: <class>: <desc>`. A command
 * the agent lacks (or has disabled, as while frozen) is VN_UNSUPPORTED; any other
 * refusal is the guest's state speaking (VN_ILLEGAL_TRANSITION: FAILED_PRECONDITION).
 */
export class AgentCommandError extends VirtnodeError {
  readonly command: string;
  readonly errorClass: string;
  readonly desc: string;
  constructor(command: string, errorClass: string, desc: string) {
    super(errorClass === 'CommandNotFound' ? 'VN_UNSUPPORTED' : 'VN_ILLEGAL_TRANSITION', `guest agent ${command}: ${errorClass}: ${desc}`);
    this.command = command;
    this.errorClass = errorClass;
    this.desc = desc;
  }
}

/** No answer in time. `sent`: the agent may still carry the command out (it cannot be cancelled). */
export class AgentTimeoutError extends TimeoutError {
  readonly command: string;
  readonly sent: boolean;
  constructor(command: string, ms: number, sent: boolean) {
    super(`guest agent ${command} (${sent ? 'sent; the agent may still carry it out' : 'never sent'})`, ms);
    this.command = command;
    this.sent = sent;
  }
}

/** The agent is not there: the channel is closed, or too many commands already wait for it. */
export class AgentUnavailableError extends VirtnodeError {
  constructor(why: string) {
    super('VN_UNAVAILABLE', `guest agent: ${why}`);
  }
}
