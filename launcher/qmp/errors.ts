// How a QMP command can end badly. Each pending command ends in exactly one of these
// or in its return value (client.ts).

import { TimeoutError, VirtnodeError } from '../../proto/errors.js';

/** QEMU answered with an error reply: `<command>: <class>: <desc>`. */
export class QmpCommandError extends VirtnodeError {
  readonly command: string;
  /** QMP's error class: GenericError, CommandNotFound, DeviceNotFound, ... */
  readonly errorClass: string;
  readonly desc: string;
  constructor(command: string, errorClass: string, desc: string) {
    super('VN_QMP', `${command}: ${errorClass}: ${desc}`);
    this.command = command;
    this.errorClass = errorClass;
    this.desc = desc;
  }
}

/**
 * The caller stopped waiting. `sent` says whether QEMU may have seen the command:
 * false means it was still in our queue and will never run; true means QEMU will
 * still carry it out (QMP cannot cancel), and only its reply is lost.
 */
export class QmpTimeoutError extends TimeoutError {
  readonly command: string;
  readonly sent: boolean;
  constructor(command: string, ms: number, sent: boolean) {
    super(`QMP ${command} (${sent ? 'sent; QEMU may still carry it out' : 'never sent'})`, ms);
    this.command = command;
    this.sent = sent;
  }
}

/** The connection ended (QEMU exited, the socket broke, or close() was called) before the reply. */
export class QmpClosedError extends VirtnodeError {
  readonly command: string | undefined;
  constructor(command: string | undefined, why: string, options?: { cause?: unknown }) {
    super('VN_UNAVAILABLE', `${command ? `${command}: ` : ''}QMP connection closed: ${why}`, options);
    this.command = command;
  }
}

/** QEMU said something QMP does not allow (a bad greeting, a line that is not JSON). */
export class QmpProtocolError extends VirtnodeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('VN_QMP', message, options);
  }
}
