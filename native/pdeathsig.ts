// Node's spawn cannot run code between fork and exec, so a child cannot set its own
// parent-death signal from JS. util-linux's setpriv does it for us right before exec:
// `setpriv --pdeathsig KILL -- qemu-system-x86_64 ...` dies with the launcher.
import { existsSync } from 'node:fs';
import { signalName, signalNumber, type Signal } from './signals.js';

export const SETPRIV = '/usr/bin/setpriv';

let setprivPresent: boolean | undefined;

/** Whether argv can be wrapped; checked once per process. */
export function hasSetpriv(): boolean {
  setprivPresent ??= existsSync(SETPRIV);
  return setprivPresent;
}

/**
 * `argv` prefixed so that the program gets `signal` when its parent (the thread that
 * spawned it) dies. Without setpriv the argv comes back unchanged: callers that must
 * not run unprotected check hasSetpriv() first.
 */
export function pdeathsigArgv(argv: string[], signal: Signal = 'KILL'): string[] {
  if (!hasSetpriv()) return [...argv];
  const name = signalName(signalNumber('pdeathsigArgv', signal)).replace(/^SIG/, '');
  return [SETPRIV, '--pdeathsig', name, '--', ...argv];
}
