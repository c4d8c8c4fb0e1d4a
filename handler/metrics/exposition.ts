// Prometheus' text exposition format (version 0.0.4), written by hand: families of
// counters and gauges with labels are all /metrics needs, and the format for them
// is a few rules — one HELP and TYPE line per family, then one line per sample,
// label values escaped (backslash, double quote, newline), help text escaped
// (backslash, newline), numbers as Go's ParseFloat reads them (NaN, +Inf, -Inf).

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type MetricType = 'counter' | 'gauge';

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeLabelValue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/**
 * One metric family: its name, help, type and fixed label names, and the samples
 * added to it. Label values are given in the order of the label names.
 */
export class Family {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly labels: readonly string[];
  #lines: string[] = [];

  constructor(name: string, type: MetricType, help: string, labels: readonly string[]) {
    if (!NAME.test(name)) throw new Error(`invalid metric name ${JSON.stringify(name)}`);
    for (const l of labels) if (!LABEL.test(l) || l.startsWith('__')) throw new Error(`metric ${name}: invalid label name ${JSON.stringify(l)}`);
    if (new Set(labels).size !== labels.length) throw new Error(`metric ${name}: a label name repeats`);
    this.name = name;
    this.type = type;
    this.help = help;
    this.labels = labels;
  }

  /** Adds one sample. A counter never goes below zero; such a value is a bug upstream. */
  add(values: readonly string[], value: number): void {
    if (values.length !== this.labels.length) throw new Error(`metric ${this.name}: ${values.length} label values for ${this.labels.length} labels`);
    if (this.type === 'counter' && value < 0) throw new Error(`metric ${this.name}: a counter cannot be negative (${value})`);
    let s = this.name;
    if (values.length) {
      s += '{';
      for (let i = 0; i < values.length; i++) s += `${i ? ',' : ''}${this.labels[i]}="${escapeLabelValue(values[i]!)}"`;
      s += '}';
    }
    this.#lines.push(`${s} ${formatValue(value)}`);
  }

  get size(): number {
    return this.#lines.length;
  }

  /** The family in the text format; a family without samples still says what it is. */
  render(): string {
    let out = `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${this.type}\n`;
    for (const l of this.#lines) out += l + '\n';
    return out;
  }
}

export function renderFamilies(families: Iterable<Family>): string {
  let out = '';
  const seen = new Set<string>();
  for (const f of families) {
    if (seen.has(f.name)) throw new Error(`metric family ${f.name} appears twice`);
    seen.add(f.name);
    out += f.render();
  }
  return out;
}
