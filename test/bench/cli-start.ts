// How long `virtnode get vmis` takes as a whole command, beside a bare `node -e 0`
// measured in the same run: the CLI's start (what it loads before its first byte
// reaches the handler), Negotiate, List and exit, against Node's own start. Target:
// a `get` within 1.5x of `node -e 0`.
//
// A real handler (no VMs, no spare launchers) answers on its own socket. The two
// commands run in turn, in alternating order (ABBA), so that a busy neighbour slows
// both alike; each figure is a median or p90 of whole-process wall times.
//
//   node dist/test/bench/cli-start.js [--runs 40]     (alone; or part `cli` of main.js)

import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CLI, TestHandler } from '../e2e/harness.js';
import { Cleanup } from './cleanup.js';
import type { Bench } from './common.js';
import { Report, msDetail } from './report.js';
import { median, summarize } from './stats.js';
import type { NodeInfo__Output } from '../../proto/generated/virtnode/handler/v1/NodeInfo.js';

export interface CliStartOptions {
  /** Counted runs of each command (after 3 uncounted ones each). */
  runs: number;
}

export const CLI_START_TARGET = 1.5;
const WARMUP = 3;
const PART = 'cli';

/** One whole command, from spawn to exit: wall milliseconds. Throws unless it exits 0 with `expect` on stdout. */
function timed(argv: string[], expect: RegExp | undefined): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0 || (expect && !expect.test(r.stdout))) throw new Error(`${argv.join(' ')}: exit ${r.status}, stdout ${JSON.stringify(r.stdout.slice(0, 200))}, stderr ${JSON.stringify(r.stderr.slice(0, 500))}`);
  return ms;
}

export async function runCliStart(b: Bench, opts: CliStartOptions): Promise<void> {
  // The handler's registry mirror is never asked: no VM pulls an image here.
  const h = new TestHandler({ registryHost: '127.0.0.1:9', extraArgs: ['--spare-launchers', '0', '--log-level', 'warn'] });
  b.cleanup.add(`handler ${h.stateDir}`, () => h.destroy());
  await h.start();
  // The accelerator probe runs in a child of the handler at its start: let it finish first.
  for (const end = Date.now() + 60_000; Date.now() < end; await new Promise((r) => setTimeout(r, 200))) {
    if ((await h.client.call<unknown, NodeInfo__Output>('GetNodeInfo', {})).acceleratorJson) break;
  }

  const cli = [process.execPath, CLI, '--socket', h.socket, 'get', 'vmis'];
  const bare = [process.execPath, '-e', '0'];
  const expect = /^No resources found in default namespace\.$/m;
  const a: number[] = [];
  const base: number[] = [];
  for (let i = 0; i < WARMUP; i++) {
    timed(cli, expect);
    timed(bare, undefined);
  }
  b.log(`cli: ${opts.runs} runs each of \`virtnode get vmis\` and \`node -e 0\`, interleaved`);
  for (let i = 0; i < opts.runs; i++) {
    // ABBA: neither command always runs right after the other.
    if (i % 2 === 0) {
      a.push(timed(cli, expect));
      base.push(timed(bare, undefined));
    } else {
      base.push(timed(bare, undefined));
      a.push(timed(cli, expect));
    }
  }

  const sa = summarize(a);
  const sb = summarize(base);
  const ratio = sa.median / sb.median;
  const pairwise = median(a.map((x, i) => x / base[i]!));
  b.report.add({
    part: PART,
    name: '`virtnode get vmis` (empty store), wall, median',
    value: sa.median,
    unit: 'ms',
    baseline: { name: '`node -e 0`', value: sb.median },
    ratio,
    target: { text: `<= ${CLI_START_TARGET}x`, pass: ratio <= CLI_START_TARGET },
    detail: { cli: msDetail(sa), node: msDetail(sb), medianOfPairRatios: Math.round(pairwise * 1000) / 1000, samples: { cli: a.map((x) => Math.round(x * 100) / 100), node: base.map((x) => Math.round(x * 100) / 100) } },
  });
  b.report.add({ part: PART, name: '`virtnode get vmis` (empty store), wall, p90', value: sa.p90, unit: 'ms', baseline: { name: '`node -e 0` p90', value: sb.p90 } });
  b.report.add({ part: PART, name: 'the same, median of the run-by-run ratios', value: pairwise, unit: 'x', target: { text: `<= ${CLI_START_TARGET}x`, pass: pairwise <= CLI_START_TARGET } });
}

/** Alone: `node dist/test/bench/cli-start.js [--runs N]`, the table on stdout, exit 1 when a target is missed. */
async function alone(argv: string[]): Promise<number> {
  let runs = 40;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--runs' && Number.isInteger(Number(argv[i + 1])) && Number(argv[i + 1]) > 0) runs = Number(argv[++i]);
    else throw new Error(`usage: node dist/test/bench/cli-start.js [--runs N]   (got "${argv[i]}")`);
  }
  if (process.getuid?.() !== 0) throw new Error('the benchmark needs root: it starts a handler (cgroups, pod network), as the handler does');
  const started = Date.now();
  const log = (m: string): void => void process.stderr.write(`[cli-start ${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${m}\n`);
  const report = new Report();
  const cleanup = new Cleanup(log);
  try {
    await runCliStart({ report, cleanup, log, quick: false }, { runs });
  } finally {
    await cleanup.run();
  }
  process.stdout.write(`${report.table()}\n`);
  return report.figures.every((f) => f.target?.pass !== false) ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  alone(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`cli-start: ${(e as Error).stack ?? e}\n`);
      process.exit(2);
    },
  );
}
