// pidfds let the handler signal launchers it did not spawn (found again after its own
// restart) without the PID-reuse race of kill(2): the fd names one process forever.
import { closeSync } from 'node:fs';
import { libcFunction, check, syscall } from './libc.js';
import { NativeError } from './errors.js';
import { signalNumber, type Signal } from './signals.js';

// x86_64 and the generic syscall table agree on these numbers.
const SYS_pidfd_send_signal = 424;
const SYS_pidfd_open = 434;
const POLLIN = 0x0001;
const POLLNVAL = 0x0020;

/** A pidfd for `pid` (close-on-exec, as the kernel always makes them). ESRCH when no such process. */
export function pidfdOpen(pid: number): number {
  const call = `pidfd_open(${pid})`;
  if (!Number.isInteger(pid) || pid <= 0) throw new NativeError(call, 'pid must be a positive integer');
  return syscall(call, SYS_pidfd_open, 'int', pid, 'unsigned int', 0);
}

/** Signals the process behind `pidfd`; ESRCH once it has exited, even if its PID was reused. */
export function pidfdSendSignal(pidfd: number, signal: Signal): void {
  const call = `pidfd_send_signal(${pidfd})`;
  syscall(call, SYS_pidfd_send_signal, 'int', pidfd, 'int', signalNumber(call, signal), 'void *', null, 'unsigned int', 0);
}

/**
 * Whether the process behind `pidfd` is still running. A pidfd turns readable when its
 * process exits (zombie or reaped), so a zero-timeout poll answers without blocking.
 */
export function pidfdIsAlive(pidfd: number): boolean {
  const call = `poll(pidfd ${pidfd})`;
  const poll = libcFunction(call, 'int poll(void *fds, unsigned long nfds, int timeout)');
  const pfd = Buffer.alloc(8); // struct pollfd { int fd; short events; short revents; }
  pfd.writeInt32LE(pidfd, 0);
  pfd.writeInt16LE(POLLIN, 4);
  const ready = check(call, poll(pfd, 1, 0));
  const revents = pfd.readInt16LE(6);
  if (revents & POLLNVAL) throw new NativeError(call, 'not an open file descriptor (POLLNVAL)');
  return ready === 0 || (revents & POLLIN) === 0;
}

/** Closes any fd this module handed out (pidfds, taps, received fds). */
export function closeFd(fd: number): void {
  try {
    closeSync(fd);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new NativeError(`close(${fd})`, err.code ?? err.message, err.errno === undefined ? undefined : -err.errno, { cause: e });
  }
}
