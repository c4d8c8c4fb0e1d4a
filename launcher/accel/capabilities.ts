// QEMU's capabilities under one accelerator, asked of a QEMU with no machine
// (`-machine none -S`, QMP on stdio): nothing runs, so it costs one QEMU start (about
// 40 ms) and a few queries. KubeVirt's node-labeller reads the same facts from
// libvirt's domain capabilities; here QEMU answers for itself.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import type { Accelerator } from '../../proto/accelerator.js';
import type { CpuModel, HostCpuModel, MachineType, QemuCapabilities } from '../../proto/node-capabilities.js';
import { pdeathsigArgv } from '../../native/index.js';

export const CAPABILITIES_TIMEOUT_MS = 10_000;
/** A QMP answer longer than this is not QEMU's: the query stops. */
const LINE_CAP = 1 << 20;

/** The accelerator's own CPU model: all the host offers under KVM, all TCG emulates. */
const HOST_MODEL: Record<Accelerator, string> = { kvm: 'host', tcg: 'max' };
/** Models that are not named CPUs: the accelerator's own, and QEMU's empty base. */
const NOT_NAMED = new Set(['host', 'max', 'base']);

interface RawCpuDefinition {
  name: string;
  'unavailable-features'?: string[];
  deprecated?: boolean;
  'alias-of'?: string;
}
interface RawMachine {
  name: string;
  alias?: string;
  'is-default'?: boolean;
  deprecated?: boolean;
  'cpu-max': number;
}
interface RawExpansion {
  model: { name: string; props?: Record<string, unknown> };
}

/** Asks `qemuBinary` what it offers under `accelerator`; throws with QEMU's words when it cannot say. */
export async function queryCapabilities(qemuBinary: string, accelerator: Accelerator, timeoutMs = CAPABILITIES_TIMEOUT_MS): Promise<QemuCapabilities> {
  const started = performance.now();
  const argv = pdeathsigArgv([qemuBinary, '-machine', 'none', '-accel', accelerator, '-nodefaults', '-no-user-config', '-display', 'none', '-S', '-qmp', 'stdio']);
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => { if (stderr.length < 4096) stderr += s; });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const session = new StdioQmp(child.stdin, createInterface({ input: child.stdout, crlfDelay: Infinity }));
  child.on('error', (e) => session.fail(e));
  exited.then(() => session.fail(new Error(`QEMU exited${stderr ? `: ${stderr.trim()}` : ''}`)));
  try {
    const greeting = (await session.next()) as { QMP?: { version?: { qemu: { major: number; minor: number; micro: number }; package?: string } } };
    const v = greeting.QMP?.version;
    if (!v) throw new Error('no QMP greeting');
    await session.execute('qmp_capabilities');
    const machines = ((await session.execute('query-machines')) as RawMachine[]).map(machineType);
    const defs = (await session.execute('query-cpu-definitions')) as RawCpuDefinition[];
    const cpuModels = defs.filter((d) => !NOT_NAMED.has(d.name)).map(cpuModel);
    const hostProps = await staticProps(session, HOST_MODEL[accelerator]);
    const hostFeatures = Object.entries(hostProps).filter(([, on]) => on === true).map(([f]) => f).sort();
    const cpuFeatures = Object.entries(hostProps).filter(([, on]) => typeof on === 'boolean').map(([f]) => f).sort();
    // The named model closest to the host model: of the usable versioned models, the
    // one that has most of the host model's features.
    let best: { name: string; features: Set<string>; score: number } | undefined;
    for (const m of cpuModels) {
      if (!m.usable || m.aliasOf !== undefined || m.deprecated) continue;
      const features = new Set(await staticFeatures(session, m.name));
      const score = hostFeatures.filter((f) => features.has(f)).length;
      if (!best || score > best.score) best = { name: m.name, features, score };
    }
    const hostModel: HostCpuModel = {
      model: HOST_MODEL[accelerator],
      ...(best ? { closestNamedModel: best.name } : {}),
      requiredFeatures: best ? hostFeatures.filter((f) => !best!.features.has(f)) : [],
      features: hostFeatures,
    };
    await session.execute('quit').catch(() => undefined);
    return {
      accelerator,
      version: `${v.qemu.major}.${v.qemu.minor}.${v.qemu.micro}`,
      package: v.package?.trim() ?? '',
      machines,
      cpuModels,
      cpuFeatures,
      hostModel,
      durationMs: Math.round(performance.now() - started),
    };
  } catch (e) {
    throw new Error(`asking ${qemuBinary} for its capabilities under ${accelerator}: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    clearTimeout(timer);
    child.kill('SIGKILL');
    await exited;
  }
}

/** The props of `model`'s static expansion: every feature QEMU knows, on or off, and a few numbers. */
async function staticProps(session: StdioQmp, model: string): Promise<Record<string, unknown>> {
  const r = (await session.execute('query-cpu-model-expansion', { type: 'static', model: { name: model } })) as RawExpansion;
  return r.model.props ?? {};
}

/** The features `model` turns on, sorted. */
async function staticFeatures(session: StdioQmp, model: string): Promise<string[]> {
  return Object.entries(await staticProps(session, model)).filter(([, on]) => on === true).map(([f]) => f).sort();
}

function machineType(m: RawMachine): MachineType {
  return { name: m.name, ...(m.alias ? { alias: m.alias } : {}), isDefault: m['is-default'] === true, deprecated: m.deprecated === true, cpuMax: m['cpu-max'] };
}

function cpuModel(d: RawCpuDefinition): CpuModel {
  const unavailable = d['unavailable-features'] ?? [];
  return { name: d.name, usable: unavailable.length === 0, unavailableFeatures: unavailable, deprecated: d.deprecated === true, ...(d['alias-of'] ? { aliasOf: d['alias-of'] } : {}) };
}

/** QMP over a child's stdio, one command at a time: all this query needs. */
class StdioQmp {
  #lines: AsyncIterator<string>;
  #failure: Promise<never>;
  #fail!: (e: Error) => void;

  constructor(
    private readonly input: NodeJS.WritableStream,
    lines: AsyncIterable<string>,
  ) {
    this.#lines = lines[Symbol.asyncIterator]();
    this.#failure = new Promise<never>((_, reject) => (this.#fail = reject));
    this.#failure.catch(() => undefined);
  }

  fail(e: Error): void {
    this.#fail(e);
  }

  /** The next message, events skipped. */
  async next(): Promise<Record<string, unknown>> {
    for (;;) {
      const r = await Promise.race([this.#lines.next(), this.#failure]);
      if (r.done) throw new Error('QMP closed');
      if (r.value.length > LINE_CAP) throw new Error('QMP line too long');
      const msg = JSON.parse(r.value) as Record<string, unknown>;
      if (!('event' in msg)) return msg;
    }
  }

  async execute(command: string, args?: object): Promise<unknown> {
    this.input.write(`${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`);
    const reply = await this.next();
    if ('error' in reply) {
      const err = reply.error as { desc?: string };
      throw new Error(`${command}: ${err.desc ?? JSON.stringify(err)}`);
    }
    return reply.return;
  }
}
