import { constants } from 'node:os';
import { NativeError } from './errors.js';

/** A signal as Node names it ('SIGKILL'), without the prefix ('KILL'), or its number. */
export type Signal = NodeJS.Signals | string | number;

/** The signal's number; 0 is allowed (the "does it exist" probe). */
export function signalNumber(call: string, signal: Signal): number {
  if (typeof signal === 'number') {
    if (Number.isInteger(signal) && signal >= 0 && signal <= 64) return signal;
  } else {
    const name = signal.startsWith('SIG') ? signal : `SIG${signal}`;
    const n = (constants.signals as Record<string, number>)[name];
    if (n !== undefined) return n;
  }
  throw new NativeError(call, `unknown signal ${JSON.stringify(signal)}`);
}

/** 'SIGKILL' for 9, for messages and for tools that take names. */
export function signalName(signal: number): string {
  for (const [name, n] of Object.entries(constants.signals)) if (n === signal) return name;
  return String(signal);
}
