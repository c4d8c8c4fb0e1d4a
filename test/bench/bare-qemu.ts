// The lower bound: the very QEMU command line the launcher builds for a VMI, run
// directly — spawn it paused (-S), connect QMP, `cont` — with nothing in between.
// The QMP client here is deliberately minimal and polls for the socket every
// millisecond, so the baseline is what QEMU itself costs, not a client's backoff.

import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { buildArgv, DEFAULT_QEMU_BINARY } from '../../launcher/domain/argv.js';
import { resolveQemuBinary } from '../../launcher/domain/confine.js';
import { vmiToDomain } from '../../launcher/domain/convert.js';
import type { LaunchContext } from '../../proto/launch.js';
import type { VirtualMachineInstance } from '../../proto/vmi/types.js';
import { ConsoleClock, connectWhenReady } from './console-clock.js';

export interface BareVm {
  dir: string;
  argv: string[];
  qmpSocket: string;
  serialSocket: string;
}

/**
 * The launcher's argv for `vmi` (as the handler stored it, defaults applied), with
 * its sockets and a fresh qcow2 overlay over `baseDisk` in a directory of our own.
 */
export function prepareBareVm(vmi: VirtualMachineInstance, baseDisk: string, volumeName: string): BareVm {
  const dir = mkdtempSync('/tmp/vnb-q-');
  // QEMU's socket directory, which the launcher makes; QEMU itself runs unconfined here.
  mkdirSync(join(dir, 'qemu'));
  const overlay = join(dir, `${volumeName}.qcow2`);
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', baseDisk, '-F', 'qcow2', overlay]);
  const ctx: LaunchContext = { runDir: dir, accelerator: 'tcg', volumes: { [volumeName]: { path: overlay, format: 'qcow2' } } };
  const domain = vmiToDomain(vmi, ctx);
  return { dir, argv: buildArgv(domain, { qemuBinary: resolveQemuBinary(DEFAULT_QEMU_BINARY) }), qmpSocket: domain.qmpSocket, serialSocket: domain.serialSocket! };
}

/** A QMP connection reduced to what a timing needs: greeting, commands, event arrival times. */
class QmpLite {
  #sock: Socket;
  #buf = '';
  #pending: ((m: Record<string, unknown>) => void)[] = [];
  #greeting: ((at: number) => void) | undefined;
  readonly greeted: Promise<number>;
  readonly events: { event: string; at: number }[] = [];
  #eventWaiters: { name: string; resolve(at: number): void }[] = [];

  constructor(sock: Socket) {
    this.#sock = sock;
    this.greeted = new Promise((r) => (this.#greeting = r));
    sock.setEncoding('utf8');
    sock.on('data', (s: string) => {
      const at = performance.now();
      this.#buf += s;
      let nl: number;
      while ((nl = this.#buf.indexOf('\n')) >= 0) {
        const line = this.#buf.slice(0, nl).trim();
        this.#buf = this.#buf.slice(nl + 1);
        if (!line) continue;
        const m = JSON.parse(line) as Record<string, unknown>;
        if ('QMP' in m) this.#greeting?.(at);
        else if ('event' in m) {
          this.events.push({ event: String(m.event), at });
          for (const w of this.#eventWaiters.filter((x) => x.name === m.event)) {
            this.#eventWaiters.splice(this.#eventWaiters.indexOf(w), 1);
            w.resolve(at);
          }
        } else this.#pending.shift()?.(m);
      }
    });
    sock.on('error', () => undefined);
  }

  execute(command: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#pending.push((m) => (m.error ? reject(new Error(`${command}: ${JSON.stringify(m.error)}`)) : resolve(performance.now())));
      this.#sock.write(JSON.stringify({ execute: command }) + '\n');
    });
  }

  event(name: string): Promise<number> {
    const seen = this.events.find((e) => e.event === name);
    if (seen) return Promise.resolve(seen.at);
    return new Promise((resolve) => this.#eventWaiters.push({ name, resolve }));
  }

  close(): void {
    this.#sock.destroy();
  }
}

export interface BareTimes {
  /** All in ms after spawn(). */
  greeting: number;
  contReturned: number;
  resume: number;
  firstLine: number;
  login: number;
}

/**
 * Spawns the VM, resumes it as the launcher does (QMP and serial connected before
 * `cont`), waits for the login prompt (or only for RESUME), then kills it and
 * removes its directory.
 */
export async function runBareVm(vm: BareVm, opts: { register(p: ChildProcess): () => void; bootTimeoutMs?: number; untilResume?: boolean }): Promise<BareTimes> {
  const t0 = performance.now();
  const qemu = spawn(vm.argv[0]!, vm.argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  const unregister = opts.register(qemu);
  let stderr = '';
  qemu.stderr!.on('data', (b) => (stderr = (stderr + b).slice(-2000)));
  const exited = new Promise<void>((r) => qemu.once('exit', () => r()));
  const clock = new ConsoleClock();
  let qmp: QmpLite | undefined;
  let serial: Socket | undefined;
  try {
    qmp = new QmpLite(await connectWhenReady(vm.qmpSocket, { everyMs: 1 }));
    const greeting = (await qmp.greeted) - t0;
    await qmp.execute('qmp_capabilities');
    serial = await connectWhenReady(vm.serialSocket, { everyMs: 1 });
    serial.on('data', (b: Buffer) => clock.feed(b));
    serial.on('error', () => undefined);
    const contReturned = (await qmp.execute('cont')) - t0;
    const resume = (await qmp.event('RESUME')) - t0;
    if (opts.untilResume) return { greeting, contReturned, resume, firstLine: NaN, login: NaN };
    await clock.login(opts.bootTimeoutMs ?? 90_000);
    return { greeting, contReturned, resume, firstLine: clock.firstLineAt! - t0, login: clock.loginAt! - t0 };
  } catch (e) {
    throw new Error(`bare QEMU: ${(e as Error).message}; stderr: ${stderr.trim()}`);
  } finally {
    qmp?.close();
    serial?.destroy();
    qemu.kill('SIGKILL');
    await exited;
    unregister();
    rmSync(vm.dir, { recursive: true, force: true });
  }
}
