// virtnode's benchmark suite: is the node path lighter and faster than bare QEMU
// allows and than libvirt manages, and does the CLI start about as fast as Node?
// Every figure is printed beside a baseline measured in the same run (bare QEMU,
// libvirt, KubeVirt's published budgets, `node -e 0`), with the ratio and the
// target it is held to. Nothing here asserts an absolute time.
//
//   node dist/test/bench/main.js [--only start,overhead,scale,churn,cli,hostdisk,store,metrics,soak] [--rounds N] [--quick]
//                                (soak only when named)
//                                [--out FILE.json] [--overhead-counts 1,10,50]
//                                [--scale-vmis 250] [--scale-real 10] [--metrics-vms 50] [--churn-cycles 200]
//                                [--cli-runs 40] [--hostdisk-rounds 5] [--hostdisk-mib 512]
//                                [--soak-cycles 1000] [--soak-concurrency 4]
//
// Results go to test/bench/results/<date>-<parts>.json (and .txt, the table).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../e2e/harness.js';
import { Cleanup } from './cleanup.js';
import type { Bench } from './common.js';
import { Report, machineInfo } from './report.js';
import { runStart, type StartOptions } from './start.js';
import { libvirtVersion } from './libvirt.js';

const PARTS = ['start', 'overhead', 'scale', 'churn', 'cli', 'hostdisk', 'store', 'metrics', 'soak'] as const;
type Part = (typeof PARTS)[number];
/** Without --only: every part but the soak, which takes as long as all the others together. */
const DEFAULT_PARTS: readonly Part[] = PARTS.filter((p) => p !== 'soak');

interface Options {
  only: Part[];
  quick: boolean;
  rounds: number;
  out: string | undefined;
  overheadCounts: number[];
  scaleVmis: number;
  scaleReal: number;
  metricsVms: number;
  churnCycles: number;
  churnConcurrency: number;
  coldRounds: number;
  ciPairs: number;
  cliRuns: number;
  hostDiskRounds: number;
  hostDiskMib: number;
  soakCycles: number;
  soakConcurrency: number;
}

const USAGE = `usage: node dist/test/bench/main.js [--only start,overhead,scale,churn,cli,hostdisk,store,metrics,soak] [--rounds N] [--quick]
  [--out FILE.json] [--overhead-counts 1,10,50] [--scale-vmis 250] [--scale-real 10] [--metrics-vms 50]
  [--churn-cycles 200] [--churn-concurrency 4] [--cold-rounds 3] [--ci-pairs 20] [--cli-runs 40]
  [--hostdisk-rounds 5] [--hostdisk-mib 512] [--soak-cycles 1000] [--soak-concurrency 4]`;

function parseArgs(argv: string[]): Options {
  const o: Options = {
    only: [...DEFAULT_PARTS],
    quick: false,
    rounds: 10,
    out: undefined,
    overheadCounts: [1, 10, 50],
    scaleVmis: 250,
    scaleReal: 10,
    metricsVms: 50,
    churnCycles: 200,
    churnConcurrency: 4,
    coldRounds: 3,
    ciPairs: 20,
    cliRuns: 40,
    hostDiskRounds: 5,
    hostDiskMib: 512,
    soakCycles: 1000,
    soakConcurrency: 4,
  };
  const set = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value\n${USAGE}`);
      set.add(a);
      return v;
    };
    const int = (): number => {
      const v = Number(val());
      if (!Number.isInteger(v) || v < 0) throw new Error(`${a} needs a whole number\n${USAGE}`);
      return v;
    };
    switch (a) {
      case '--only': {
        const parts = val().split(',').filter(Boolean);
        for (const p of parts) if (!(PARTS as readonly string[]).includes(p)) throw new Error(`--only: unknown part "${p}" (${PARTS.join(', ')})`);
        o.only = parts as Part[];
        break;
      }
      case '--quick':
        o.quick = true;
        break;
      case '--rounds':
        o.rounds = Math.max(1, int());
        break;
      case '--out':
        o.out = val();
        break;
      case '--overhead-counts':
        o.overheadCounts = val().split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0);
        break;
      case '--scale-vmis':
        o.scaleVmis = Math.max(1, int());
        break;
      case '--scale-real':
        o.scaleReal = int();
        break;
      case '--metrics-vms':
        o.metricsVms = Math.max(1, int());
        break;
      case '--churn-cycles':
        o.churnCycles = Math.max(1, int());
        break;
      case '--churn-concurrency':
        o.churnConcurrency = Math.max(1, int());
        break;
      case '--cold-rounds':
        o.coldRounds = int();
        break;
      case '--ci-pairs':
        o.ciPairs = int();
        break;
      case '--cli-runs':
        o.cliRuns = Math.max(1, int());
        break;
      case '--hostdisk-rounds':
        o.hostDiskRounds = Math.max(1, int());
        break;
      case '--hostdisk-mib':
        o.hostDiskMib = Math.max(1, int());
        break;
      case '--soak-cycles':
        o.soakCycles = Math.max(1, int());
        break;
      case '--soak-concurrency':
        o.soakConcurrency = Math.max(1, int());
        break;
      case '--help':
      case '-h':
        process.stdout.write(USAGE + '\n');
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument "${a}"\n${USAGE}`);
    }
  }
  // --quick: every part, smaller; explicit flags still win.
  if (o.quick) {
    if (!set.has('--rounds')) o.rounds = 3;
    if (!set.has('--overhead-counts')) o.overheadCounts = [1, 5];
    if (!set.has('--scale-vmis')) o.scaleVmis = 50;
    if (!set.has('--scale-real')) o.scaleReal = 2;
    if (!set.has('--metrics-vms')) o.metricsVms = 5;
    if (!set.has('--churn-cycles')) o.churnCycles = 20;
    if (!set.has('--cold-rounds')) o.coldRounds = 1;
    if (!set.has('--ci-pairs')) o.ciPairs = 4;
    if (!set.has('--cli-runs')) o.cliRuns = 15;
    if (!set.has('--hostdisk-rounds')) o.hostDiskRounds = 1;
    if (!set.has('--soak-cycles')) o.soakCycles = 60;
  }
  return o;
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('the benchmark needs root (cgroups, libvirt, QEMU sockets), as the handler does');
  const started = Date.now();
  const log = (m: string): void => {
    process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${m}\n`);
  };
  const report = new Report();
  const cleanup = new Cleanup(log);
  const b: Bench = { report, cleanup, log, quick: o.quick };
  let interrupted = false;
  const onSignal = (sig: string): void => {
    if (interrupted) return;
    interrupted = true;
    log(`${sig}: cleaning up`);
    void cleanup.run().then(() => process.exit(130));
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  const machine = machineInfo(ROOT);
  log(`machine: ${machine.cores} cores, ${machine.ramGiB} GiB, kernel ${machine.kernel}, ${machine.qemu}, Node ${machine.node}, commit ${machine.commit.slice(0, 12)}${machine.dirty ? ' (dirty)' : ''}`);

  const runners: Record<Part, () => Promise<void>> = {
    start: () => runStart(b, { rounds: o.rounds, warmup: o.quick ? 1 : 2, coldRounds: o.coldRounds, ciPairs: o.ciPairs } satisfies StartOptions),
    overhead: async () => {
      const { runOverhead } = await import('./overhead.js');
      await runOverhead(b, { counts: o.overheadCounts });
    },
    scale: async () => {
      const { runScale } = await import('./scale.js');
      await runScale(b, { vmis: o.scaleVmis, real: o.scaleReal });
    },
    churn: async () => {
      const { runChurn } = await import('./churn.js');
      await runChurn(b, { cycles: o.churnCycles, concurrency: o.churnConcurrency });
    },
    cli: async () => {
      const { runCliStart } = await import('./cli-start.js');
      await runCliStart(b, { runs: o.cliRuns });
    },
    hostdisk: async () => {
      const { runHostDisk } = await import('./host-disk.js');
      await runHostDisk(b, { rounds: o.hostDiskRounds, mib: o.hostDiskMib });
    },
    metrics: async () => {
      const { runMetrics } = await import('./metrics.js');
      await runMetrics(b, { vms: o.metricsVms });
    },
    store: async () => {
      const { runStoreBench } = await import('./store.js');
      await runStoreBench(b, { rounds: o.quick ? 2 : 5, vmis: o.scaleVmis });
    },
    soak: async () => {
      const { runSoak } = await import('./soak.js');
      await runSoak(b, { cycles: o.soakCycles, concurrency: o.soakConcurrency, sampleEvery: o.quick ? 10 : 100 });
    },
  };
  try {
    for (const part of PARTS) {
      if (!o.only.includes(part) || interrupted) continue;
      const t = Date.now();
      log(`== ${part}`);
      try {
        await runners[part]();
      } catch (e) {
        report.fail(part, (e as Error).stack ?? String(e));
        log(`${part} failed: ${(e as Error).message}`);
      }
      report.partSeconds[part] = Math.round((Date.now() - t) / 100) / 10;
      const crashes = report.crashes.filter((c) => c.part === part).reduce((a, c) => a + c.count, 0);
      report.add({ part, name: 'handler crashes (each restarted by the benchmark)', value: crashes, unit: 'n', target: { text: 'none', pass: crashes === 0 } });
    }
  } finally {
    await cleanup.run();
  }
  const lv = libvirtVersion();
  if (lv) machine.libvirt = lv;

  const table = report.table();
  const header = [
    `virtnode benchmark, ${machine.date}`,
    `machine: ${machine.host}, ${machine.cores} cores (${machine.cpuModel}), ${machine.ramGiB} GiB RAM, kernel ${machine.kernel}`,
    `${machine.qemu}; Node ${machine.node}${machine.libvirt ? `; ${machine.libvirt}` : ''}`,
    `commit ${machine.commit}${machine.dirty ? ' (with uncommitted changes)' : ''}; load average at start ${machine.loadavgAtStart.join(' ')}`,
    `parts: ${o.only.join(', ')}${o.quick ? ' (quick)' : ''}; seconds per part: ${JSON.stringify(report.partSeconds)}; total ${((Date.now() - started) / 1000).toFixed(0)} s`,
    '',
  ].join('\n');
  process.stdout.write(`\n${header}${table}\n`);
  const stamp = machine.date.replace(/[:]/g, '').replace(/\..*$/, '');
  const out = o.out ?? join(ROOT, 'test', 'bench', 'results', `${stamp}-${o.only.join('+')}${o.quick ? '-quick' : ''}.json`);
  mkdirSync(join(out, '..'), { recursive: true });
  writeFileSync(out, JSON.stringify(report.toJSON(machine, o), null, 2) + '\n');
  writeFileSync(out.replace(/\.json$/, '') + '.txt', `${header}${table}\n`);
  process.stdout.write(`\nresults: ${out} (and .txt)\n`);
  return report.failures.length || report.crashes.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`bench: ${(e as Error).message}\n`);
    process.exit(2);
  },
);
