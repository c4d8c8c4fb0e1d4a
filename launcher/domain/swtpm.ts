// The VM's swtpm (devices.tpm): one per VM, started by the launcher just before QEMU,
// confined as QEMU is (confine.ts: uid 107, no capabilities, no_new_privs, its own
// mount namespace whose read-only root shows only /usr, a minimal /dev, the socket
// directory it shares with QEMU and its own state directory), with its seccomp
// profile on. It is the launcher's child in the VM's cgroup, so it dies with the
// VM however the VM ends: --terminate ends it when QEMU's control connection goes,
// pdeathsig when the launcher goes, and the handler's teardown kills the cgroup.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { VirtnodeError } from '../../proto/errors.js';
import { runDirLayout } from '../../proto/launch.js';
import { confinedArgv, prepareQemuView, QEMU_ENV, type QemuView } from './confine.js';
import type { DomainTpm } from './types.js';

export const SWTPM = '/usr/bin/swtpm';
/** swtpm makes its socket in a few ms; beyond this it is not coming. */
const SOCKET_TIMEOUT_MS = 5_000;
const STDERR_TAIL = 2048;

/** What swtpm sees: its state directory and the socket directory, nothing else of the VM. */
export function swtpmView(t: DomainTpm, runDir: string): QemuView {
  const layout = runDirLayout(runDir);
  return { root: layout.swtpmRoot, socketDir: layout.qemuDir, files: [{ path: t.stateDir, writable: true, own: true, dir: true }], ownDevices: [] };
}

/** swtpm's argv: a TPM 2.0 on a unix control socket, libvirt's options. */
export function swtpmArgv(t: DomainTpm): string[] {
  // swtpm splits its option values at ',' and has no escape: paths are ours, but say so if one has one.
  for (const p of [t.stateDir, t.socket]) {
    if (p.includes(',')) throw new VirtnodeError('VN_SANDBOX', `swtpm cannot be given the path ${JSON.stringify(p)}: it has a ','`);
  }
  return [SWTPM, 'socket', '--tpm2', '--tpmstate', `dir=${t.stateDir},mode=0600`, '--ctrl', `type=unixio,path=${t.socket},mode=0600`, '--terminate', '--seccomp', 'action=kill', '--log', 'level=1'];
}

export class Swtpm {
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  #stderr = '';

  private constructor(child: ChildProcess, log: Logger) {
    this.#child = child;
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (s: string) => {
      this.#stderr = (this.#stderr + s).slice(-STDERR_TAIL);
      log.warn({ swtpmStderr: s.trimEnd() }, 'swtpm stderr');
    });
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        log.info({ code, signal }, 'swtpm exited');
        resolve();
      });
      child.once('error', () => resolve());
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Starts swtpm for `t` and resolves once its control socket exists. */
  static async start(t: DomainTpm, runDir: string, log: Logger): Promise<Swtpm> {
    try {
      mkdirSync(t.stateDir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new VirtnodeError('VN_SANDBOX', `making the TPM state directory ${t.stateDir}: ${(e as Error).message}`, { cause: e });
    }
    const view = swtpmView(t, runDir);
    prepareQemuView(view);
    rmSync(t.socket, { force: true });
    const argv = confinedArgv(swtpmArgv(t), view);
    log.info({ argv: swtpmArgv(t) }, 'starting swtpm');
    const sw = new Swtpm(spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env: QEMU_ENV }), log);
    let gone = false;
    void sw.#exited.then(() => (gone = true));
    const deadline = Date.now() + SOCKET_TIMEOUT_MS;
    while (!existsSync(t.socket)) {
      if (gone || Date.now() > deadline) {
        sw.stop();
        await sw.#exited;
        const why = sw.#stderr.trim().split('\n').slice(-3).join(' ') || (gone ? `it exited (${describe(sw.#child)})` : `no socket after ${SOCKET_TIMEOUT_MS} ms`);
        throw new VirtnodeError('VN_SANDBOX', `starting swtpm for spec.domain.devices.tpm: ${why}`);
      }
      await sleep(5);
    }
    return sw;
  }

  /** Ends swtpm (its state is written after every command, so nothing is lost). */
  stop(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
  }

  exited(): Promise<void> {
    return this.#exited;
  }
}

function describe(c: ChildProcess): string {
  return c.signalCode ? `signal ${c.signalCode}` : `code ${c.exitCode}`;
}
