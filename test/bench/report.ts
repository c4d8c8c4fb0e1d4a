// The figures a run produces, each beside the baseline measured in the same run and
// the ratio between them, plus the machine they were measured on. Printed as a
// table and written as JSON; no figure is ever asserted against a fixed time.

import { execFileSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem, hostname } from 'node:os';
import type { Summary } from './stats.js';

/** 'n' a count; 'real' a fractional count (a slope of counts). */
export type Unit = 'ms' | 'MiB' | 'MiB/s' | '%' | '/s' | 'x' | 'n' | 'real' | 's';

export interface Figure {
  part: string;
  name: string;
  value: number;
  unit: Unit;
  /** What the value is compared with, measured in the same run (or a published budget). */
  baseline?: { name: string; value: number };
  /** value / baseline.value */
  ratio?: number;
  /** `pass` null: not judged (the run was too short to tell; the text says why). */
  target?: { text: string; pass: boolean | null };
  /** Distribution behind the value, raw samples, breakdowns. */
  detail?: unknown;
}

export interface MachineInfo {
  date: string;
  host: string;
  cores: number;
  cpuModel: string;
  ramGiB: number;
  kernel: string;
  qemu: string;
  node: string;
  libvirt?: string;
  commit: string;
  dirty: boolean;
  loadavgAtStart: number[];
}

function tryRun(cmd: string, args: string[], cwd?: string): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', cwd, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

export function machineInfo(root: string): MachineInfo {
  const status = tryRun('git', ['status', '--porcelain', '--untracked-files=no'], root);
  return {
    date: new Date().toISOString(),
    host: hostname(),
    cores: cpus().length,
    cpuModel: cpus()[0]?.model ?? '',
    ramGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    qemu: tryRun('qemu-system-x86_64', ['--version']).split('\n')[0] ?? '',
    node: process.version,
    commit: tryRun('git', ['rev-parse', 'HEAD'], root),
    dirty: status.length > 0,
    loadavgAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

export class Report {
  readonly figures: Figure[] = [];
  readonly notes: { part: string; text: string }[] = [];
  readonly skipped: { part: string; why: string }[] = [];
  readonly failures: { part: string; error: string }[] = [];
  readonly partSeconds: Record<string, number> = {};
  /** Handler crashes by part and by what killed it (the error line of the stack). */
  readonly crashes: { part: string; during: string; error: string; count: number; stack: string }[] = [];

  add(f: Figure): Figure {
    if (f.baseline && f.ratio === undefined && f.baseline.value !== 0) f.ratio = f.value / f.baseline.value;
    this.figures.push(f);
    return f;
  }

  note(part: string, text: string): void {
    this.notes.push({ part, text });
  }

  skip(part: string, why: string): void {
    this.skipped.push({ part, why });
  }

  fail(part: string, error: string): void {
    this.failures.push({ part, error });
  }

  /** A handler crash (the benchmark restarted it): counted per part, cause and stack. */
  crash(part: string, during: string, stack: string): void {
    const error = stack.split('\n').find((l) => /^\w*Error\b/.test(l))?.replace(/\/tmp\/[^' ]+/g, '<path>') ?? stack.split('\n')[0] ?? 'unknown';
    const at = stack.split('\n').find((l) => /^\s+at .*(dist|file:)/.test(l))?.trim() ?? '';
    const key = `${error} ${at}`;
    const c = this.crashes.find((x) => x.part === part && `${x.error} ${x.stack.split('\n').find((l) => /^\s+at .*(dist|file:)/.test(l))?.trim() ?? ''}` === key);
    if (c) c.count++;
    else this.crashes.push({ part, during, error, count: 1, stack });
  }

  toJSON(machine: MachineInfo, options: unknown): unknown {
    return { machine, options, partSeconds: this.partSeconds, figures: this.figures, notes: this.notes, skipped: this.skipped, failures: this.failures, handlerCrashes: this.crashes };
  }

  /** A readable table: one row per figure, with its baseline, ratio and target. */
  table(): string {
    const rows: string[][] = [['part', 'figure', 'value', 'baseline (same run)', 'ratio', 'target', '']];
    for (const f of this.figures) {
      rows.push([
        f.part,
        f.name,
        fmt(f.value, f.unit),
        f.baseline ? `${f.baseline.name}: ${fmt(f.baseline.value, f.unit)}` : '',
        f.ratio !== undefined && Number.isFinite(f.ratio) ? `${f.ratio.toFixed(2)}x` : '',
        f.target?.text ?? '',
        f.target ? (f.target.pass === null ? 'not judged' : f.target.pass ? 'met' : 'MISSED') : '',
      ]);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
    const out = [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  ')];
    let part = '';
    for (const r of rows.slice(1)) {
      if (r[0] !== part && part !== '') out.push('');
      part = r[0]!;
      out.push(line(r));
    }
    for (const s of this.skipped) out.push(`SKIPPED ${s.part}: ${s.why}`);
    for (const c of this.crashes) {
      out.push(`HANDLER CRASHED ${c.count}x in ${c.part} (during ${c.during}; the benchmark restarted it on the same state): ${c.error}`);
      out.push(...c.stack.split('\n').filter((l) => /^\s+at /.test(l)).slice(0, 4).map((l) => `    ${l.trim()}`));
    }
    for (const f of this.failures) out.push(`FAILED ${f.part}: ${f.error}`);
    for (const n of this.notes) out.push(`note (${n.part}): ${n.text}`);
    return out.join('\n');
  }
}

export function fmt(v: number, unit: Unit): string {
  if (!Number.isFinite(v)) return String(v);
  switch (unit) {
    case 'ms':
      return v < 10 ? `${v.toFixed(2)} ms` : v < 100 ? `${v.toFixed(1)} ms` : `${Math.round(v)} ms`;
    case 'MiB':
      return `${v.toFixed(1)} MiB`;
    case 'MiB/s':
      return `${v.toFixed(1)} MiB/s`;
    case '%':
      return `${v.toFixed(2)} %`;
    case '/s':
      return `${v.toFixed(2)}/s`;
    case 'x':
      return `${v.toFixed(2)}x`;
    case 's':
      return `${v.toFixed(1)} s`;
    case 'n':
      return String(Math.round(v));
    case 'real':
      return v.toFixed(2);
  }
}

export const MiB = 2 ** 20;

/** A latency summary as compact detail (rounded to 0.01 ms). */
export function msDetail(s: Summary): Record<string, number> {
  const r = (x: number): number => Math.round(x * 100) / 100;
  return { n: s.n, min: r(s.min), median: r(s.median), p90: r(s.p90), p99: r(s.p99), max: r(s.max) };
}
