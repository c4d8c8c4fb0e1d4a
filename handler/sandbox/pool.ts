// Spare launchers. Starting a launcher costs Node's start plus loading gRPC, pino
// and the QEMU driver, ~150 ms on this class of machine, and a VM's start waits for
// it. So the handler keeps a few launchers started ahead of need (Kata's VM factory
// idea, applied to the supervisor rather than the VM). A spare serves no VM until
// the handler hands it one over its stdin; a spare whose handler goes away first
// sees stdin end and exits, so spares never outlive the handler that made them.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { Logger } from 'pino';

/** The niceness spares wait at (every thread of them: nice(1) sets it before Node starts any). */
const SPARE_NICE = 19;

/** How long after a spare is taken its replacement starts. */
const REFILL_DELAY_MS = 3000;

export interface Spare {
  child: ChildProcess;
  pid: number;
}

export class LauncherPool {
  #command: string[];
  #size: number;
  #logFile: string;
  #env: NodeJS.ProcessEnv;
  #log: Logger;
  #ready: Spare[] = [];
  #starting = 0;
  #stopped = false;
  #failures = 0;
  #refill: NodeJS.Timeout | undefined;

  constructor(opts: { command: string[]; size: number; logFile: string; env: NodeJS.ProcessEnv; log: Logger }) {
    this.#command = opts.command;
    this.#size = opts.size;
    this.#logFile = opts.logFile;
    this.#env = opts.env;
    this.#log = opts.log;
  }

  start(): void {
    this.#fill();
  }

  /** A started spare, or undefined (then the caller starts a launcher itself). */
  take(): Spare | undefined {
    const spare = this.#ready.shift();
    // The replacement starts later: a Node start burns ~150 ms of CPU, which on a
    // small node slows the guest that just took this spare while it boots (measured:
    // first console line 1.07x bare QEMU's with a 500 ms delay, 1.05x with 5 s).
    if (!this.#refill) {
      this.#refill = setTimeout(() => {
        this.#refill = undefined;
        this.#fill();
      }, REFILL_DELAY_MS);
      this.#refill.unref();
    }
    return spare;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#refill);
    for (const s of this.#ready.splice(0)) s.child.kill('SIGKILL');
  }

  #fill(): void {
    while (!this.#stopped && this.#ready.length + this.#starting < this.#size) this.#spawn();
  }

  #spawn(): void {
    const err = openSync(this.#logFile, 'a', 0o600);
    let child: ChildProcess;
    try {
      // At the lowest CPU priority: a spare is speculative work and must not slow the
      // guests that are booting meanwhile. adoptSpare restores its priority.
      child = spawn('nice', ['-n', String(SPARE_NICE), ...this.#command, '--spare'], {
        // Detached: once it serves a VM it must survive the handler. stdin carries the
        // assignment, stdout says "ready"; the launcher moves both to the VM's log.
        detached: true,
        stdio: ['pipe', 'pipe', err],
        env: this.#env,
      });
    } finally {
      closeSync(err);
    }
    this.#starting++;
    let ready = false;
    const spare: Spare = { child, pid: child.pid ?? 0 };
    child.stdout!.setEncoding('utf8');
    child.stdout!.once('data', () => {
      ready = true;
      this.#starting--;
      this.#failures = 0;
      if (this.#stopped) child.kill('SIGKILL');
      else this.#ready.push(spare);
    });
    child.once('exit', (code, signal) => {
      const inPool = this.#ready.indexOf(spare);
      if (inPool < 0 && ready) return; // taken: it serves a VM now, the VMI controller watches it
      if (inPool >= 0) this.#ready.splice(inPool, 1);
      if (!ready) this.#starting--;
      if (this.#stopped) return;
      this.#failures++;
      this.#log.warn({ code, signal, failures: this.#failures }, 'spare launcher exited before serving a VM');
      // Back off when spares keep dying: a broken launcher must not spin the handler.
      const t = setTimeout(() => this.#fill(), Math.min(100 * 2 ** this.#failures, 30_000));
      t.unref();
    });
    child.once('error', (e) => this.#log.warn({ err: e.message }, 'spare launcher could not start'));
  }
}
