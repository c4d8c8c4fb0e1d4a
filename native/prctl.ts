// prctl(2) options the launcher needs: it must not outlive what it supervises, it must
// reap QEMU's orphans, and it should be recognisable in `ps`.
import { libcFunction, check } from './libc.js';
import { NativeError } from './errors.js';
import { signalNumber, type Signal } from './signals.js';

const PR_SET_PDEATHSIG = 1;
const PR_GET_PDEATHSIG = 2;
const PR_SET_NAME = 15;
const PR_GET_NAME = 16;
const PR_SET_CHILD_SUBREAPER = 36;
const PR_GET_CHILD_SUBREAPER = 37;
const TASK_COMM_LEN = 16;

// arg2 is a number for the "set" options and a pointer for the "get"/name ones; a
// Buffer passed to a `void *` parameter stays alive for the call.
function prctl(call: string, option: number, arg2: number | ArrayBufferView): number {
  const fn = typeof arg2 === 'number'
    ? libcFunction(call, 'int prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5)')
    : libcFunction(call, 'int prctl(int option, void *arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5)');
  return check(call, fn(option, arg2, 0, 0, 0));
}

/**
 * Signal this process gets when the thread that forked it exits (0 clears it).
 * Cleared by the kernel on exec of a set-uid binary and on fork.
 */
export function setParentDeathSignal(signal: Signal): void {
  prctl('prctl(PR_SET_PDEATHSIG)', PR_SET_PDEATHSIG, signalNumber('prctl(PR_SET_PDEATHSIG)', signal));
}

/** The parent-death signal number, 0 when none is set. */
export function getParentDeathSignal(): number {
  const out = new Int32Array(1);
  prctl('prctl(PR_GET_PDEATHSIG)', PR_GET_PDEATHSIG, out);
  return out[0]!;
}

/** Orphaned descendants are re-parented to this process instead of init, so it can reap them. */
export function setChildSubreaper(on: boolean): void {
  prctl('prctl(PR_SET_CHILD_SUBREAPER)', PR_SET_CHILD_SUBREAPER, on ? 1 : 0);
}

export function isChildSubreaper(): boolean {
  const out = new Int32Array(1);
  prctl('prctl(PR_GET_CHILD_SUBREAPER)', PR_GET_CHILD_SUBREAPER, out);
  return out[0] !== 0;
}

/**
 * The calling thread's name (/proc/<pid>/comm, what `ps` and `top` show). The kernel
 * keeps 15 bytes; a longer name is an error rather than silently cut.
 */
export function setProcessName(name: string): void {
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length === 0 || bytes.length >= TASK_COMM_LEN || bytes.includes(0)) {
    throw new NativeError('prctl(PR_SET_NAME)', `name must be 1-${TASK_COMM_LEN - 1} bytes without NUL, got ${JSON.stringify(name)} (${bytes.length} bytes)`);
  }
  const buf = Buffer.alloc(TASK_COMM_LEN);
  bytes.copy(buf);
  prctl('prctl(PR_SET_NAME)', PR_SET_NAME, buf);
}

export function getProcessName(): string {
  const buf = Buffer.alloc(TASK_COMM_LEN);
  prctl('prctl(PR_GET_NAME)', PR_GET_NAME, buf);
  return buf.subarray(0, buf.indexOf(0)).toString('utf8');
}
