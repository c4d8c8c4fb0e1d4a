// Domain stats from their sources: QMP replies captured from a real QEMU 7.2 booting
// the test guest (test/unit/data/qmp-stats.json, made by capture-qmp.mjs next to
// it), /proc files of this very process, and the join of both into GetDomainStats.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { blockStatsOf, guestMemoryOf, vcpuThreadsOf, DomainStatsReader, BALLOON_QOM_PATH, type GuestStatsReply } from '../../launcher/domain/stats.js';
import type { BlockStatsEntry, CpuInfoFast } from '../../launcher/qmp/types.js';
import type { Domain } from '../../launcher/domain/types.js';
import type { Qmp } from '../../launcher/qmp/index.js';
import { parseNetDev, parseSchedstat, parseSmapsRollup, parseStat, readProcFile } from '../../handler/metrics/procfs.js';
import { joinDomainStats, readDomainStats, type DomainStatsSource } from '../../handler/metrics/domain-stats.js';
import type { QemuStats__Output } from '../../proto/generated/virtnode/launcher/v1/QemuStats.js';

const captured = JSON.parse(readFileSync('test/unit/data/qmp-stats.json', 'utf8')) as {
  'query-blockstats': BlockStatsEntry[];
  'query-cpus-fast': CpuInfoFast[];
  'query-balloon': { actual: number };
  'guest-stats-before-report': GuestStatsReply;
  'guest-stats': GuestStatsReply;
};

test('query-blockstats: counters by VMI disk, matched by the root node name', () => {
  const disks = [
    { name: 'data', target: 'vda', nodeName: 'ua-data' },
    // A disk QEMU has no backend entry for (an empty cdrom tray) is left out, not zeroed.
    { name: 'cd', target: 'sda', nodeName: 'ua-cd' },
  ];
  assert.deepEqual(blockStatsOf(captured['query-blockstats'], disks), [
    { drive: 'data', target: 'vda', rdBytes: 8704, wrBytes: 0, rdOperations: 3, wrOperations: 0, flushOperations: 0, rdTotalTimeNs: 932320, wrTotalTimeNs: 0, flushTotalTimeNs: 0 },
  ]);
  // The file layer's node (the parent entry) is not a disk of its own.
  assert.deepEqual(blockStatsOf(captured['query-blockstats'], [{ name: 'x', target: 'vdb', nodeName: 'ua-data-file' }]), []);
});

test('guest-stats: all ones (QEMU\'s "-1") before the guest reports, values after', () => {
  const before = guestMemoryOf(captured['guest-stats-before-report']);
  assert.equal(before.lastUpdate, 0);
  for (const [k, v] of Object.entries(before)) if (k !== 'lastUpdate') assert.equal(v, -1, k);
  const after = guestMemoryOf(captured['guest-stats']);
  assert.ok(after.lastUpdate > 1_700_000_000, 'a unix time');
  assert.equal(after.totalBytes, captured['guest-stats'].stats['stat-total-memory']);
  assert.equal(after.freeBytes, captured['guest-stats'].stats['stat-free-memory']);
  assert.equal(after.availableBytes, captured['guest-stats'].stats['stat-available-memory']);
  assert.equal(after.diskCachesBytes, captured['guest-stats'].stats['stat-disk-caches']);
  // The guest had 128 MiB: what it reports lies below that, free below available below total.
  assert.ok(after.totalBytes <= 128 * 2 ** 20 && after.freeBytes <= after.availableBytes && after.availableBytes <= after.totalBytes);
  assert.deepEqual(guestMemoryOf(undefined).totalBytes, -1);
});

test('query-cpus-fast: each vCPU and its host thread, by index', () => {
  const cpus = captured['query-cpus-fast'];
  assert.deepEqual(vcpuThreadsOf([...cpus].reverse()), cpus.map((c) => ({ index: c['cpu-index'], threadId: c['thread-id'] })));
});

/** A QMP connection that answers from the captured replies and counts what it was asked. */
function fakeQmp(): { qmp: Qmp; asked: string[]; emit(ev: unknown): void } {
  const asked: string[] = [];
  const listeners: ((ev: unknown) => void)[] = [];
  const answers: Record<string, unknown> = {
    'query-blockstats': captured['query-blockstats'],
    'query-cpus-fast': captured['query-cpus-fast'],
    'query-balloon': captured['query-balloon'],
    'qom-get': captured['guest-stats'],
    'qom-set': {},
  };
  const qmp = {
    execute: async (c: string, args?: Record<string, unknown>) => {
      asked.push(c === 'qom-set' ? `qom-set ${String(args?.property)}=${String(args?.value)}` : c);
      if (c.startsWith('qom-')) assert.equal(args?.path, BALLOON_QOM_PATH);
      return answers[c];
    },
    on: (name: string, fn: (ev: unknown) => void) => {
      assert.equal(name, 'event');
      listeners.push(fn);
    },
  } as unknown as Qmp;
  return { qmp, asked, emit: (ev) => listeners.forEach((l) => l(ev)) };
}

const domain = { memory: { bytes: 128 * 2 ** 20 }, balloon: { freePageReporting: true }, disks: [{ name: 'data', target: 'vda', nodeName: 'ua-data' }] } as unknown as Domain;

test('the launcher asks QEMU once per source per read; the polling interval only when it changes', async () => {
  const { qmp, asked, emit } = fakeQmp();
  const r = new DomainStatsReader();
  const first = await r.read(qmp, domain, { guestStatsIntervalSeconds: 15, interfaces: [{ name: 'default', tap: 'tap0' }] });
  assert.deepEqual(asked.splice(0).sort(), ['qom-get', 'qom-set guest-stats-polling-interval=15', 'query-balloon', 'query-blockstats', 'query-cpus-fast']);
  // The balloon moves: QEMU says so with an event, and the next read has it without asking.
  emit({ event: 'BALLOON_CHANGE', data: { actual: 100 * 2 ** 20 } });
  const second = await r.read(qmp, domain, { guestStatsIntervalSeconds: 15, interfaces: [] });
  assert.deepEqual(asked.splice(0).sort(), ['qom-get', 'query-blockstats'], 'vCPU threads, balloon size and the interval are not asked again');
  assert.equal(second.balloonActualBytes, 100 * 2 ** 20);
  await r.read(qmp, domain, { guestStatsIntervalSeconds: 30, interfaces: [] });
  assert.ok(asked.includes('qom-set guest-stats-polling-interval=30'));
  assert.equal(first.balloonActualBytes, 134217728);
  assert.equal(first.hasBalloon, true);
  assert.equal(first.domainMemoryBytes, 128 * 2 ** 20);
  assert.equal(first.vcpus.length, 2);
  assert.deepEqual(first.interfaces, [{ name: 'default', tap: 'tap0' }]);

  const { qmp: q2, asked: a2 } = fakeQmp();
  const none = await new DomainStatsReader().read(q2, { ...domain, balloon: undefined }, { guestStatsIntervalSeconds: 15, interfaces: [] });
  assert.deepEqual(a2.sort(), ['query-blockstats', 'query-cpus-fast'], 'no balloon: nothing asked of one');
  assert.equal(none.hasBalloon, false);
});

test('/proc/<pid>/stat: times and RSS of this process agree with what Node says', () => {
  const s = parseStat(readProcFile('/proc/self/stat')!)!;
  const usage = process.cpuUsage();
  // /proc counts in 10 ms ticks; Node's figures are microseconds, taken just after.
  assert.ok(Math.abs(s.userNs / 1e3 - usage.user) < 50_000, `user ${s.userNs / 1e3} µs vs ${usage.user} µs`);
  assert.ok(Math.abs(s.systemNs / 1e3 - usage.system) < 50_000, `system ${s.systemNs / 1e3} µs vs ${usage.system} µs`);
  const rss = process.memoryUsage.rss();
  assert.ok(Math.abs(s.rssBytes - rss) < 8 * 2 ** 20, `rss ${s.rssBytes} vs ${rss}`);
  // A command name with spaces and parentheses does not shift the fields.
  const odd = parseStat('42 (a) b (c)) S 1 42 42 0 -1 4194560 100 0 0 0 250 130 0 0 20 0 1 0 9000 1000000 300 18446744073709551615')!;
  assert.deepEqual(odd, { userNs: 2.5e9, systemNs: 1.3e9, rssBytes: 300 * 4096, startTicks: 9000 });
  assert.equal(parseStat('garbage'), undefined);
});

test('/proc/<pid>/task/<tid>/schedstat, smaps_rollup and net/dev of this process', () => {
  const tids = readdirSync('/proc/self/task');
  const sched = parseSchedstat(readProcFile(`/proc/self/task/${tids[0]}/schedstat`)!)!;
  assert.ok(sched.runNs > 0 && sched.waitNs >= 0);
  assert.deepEqual(parseSchedstat('123456789 42 7\n'), { runNs: 123456789, waitNs: 42 });
  const mem = parseSmapsRollup(readProcFile('/proc/self/smaps_rollup')!)!;
  assert.ok(mem.pssBytes > 0 && mem.pssBytes <= mem.rssBytes);
  const dev = parseNetDev(readProcFile('/proc/self/net/dev')!);
  assert.ok(dev.has('lo'), 'every namespace has lo');
  const sample = 'Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n  tap0: 1000 10 1 2 0 0 0 0 5000 50 3 4 0 0 0 0\n';
  assert.deepEqual(parseNetDev(sample).get('tap0'), { rxBytes: 1000, rxPackets: 10, rxErrors: 1, rxDropped: 2, txBytes: 5000, txPackets: 50, txErrors: 3, txDropped: 4 });
  assert.equal(readProcFile('/proc/999999999/stat'), undefined, 'a process that is gone');
});

const qemuStats: QemuStats__Output = {
  domainMemoryBytes: 64_000_000,
  balloonActualBytes: 64_000_000,
  hasBalloon: true,
  guestMemory: guestMemoryOf(captured['guest-stats']),
  vcpus: [{ index: 0, threadId: 11 }],
  blocks: blockStatsOf(captured['query-blockstats'], [{ name: 'data', target: 'vda', nodeName: 'ua-data' }]),
  interfaces: [{ name: 'default', tap: 'tap0' }],
};

test('joined stats: the tap\'s counters turned to the guest\'s side, /proc figures in place', async () => {
  const files: Record<string, string> = {
    '/p/100/stat': '100 (qemu-system-x86) S 1 1 1 0 -1 0 0 0 0 0 700 300 0 0 20 0 3 0 50 0 25600 0',
    '/p/100/net/dev': 'h\nh\n    lo: 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n  tap0: 111 2 0 1 0 0 0 0 999 9 0 3 0 0 0 0\n',
    '/p/100/task/11/schedstat': '5000000000 250000 40\n',
    '/p/90/stat': '90 (node) S 1 1 1 0 -1 0 0 0 0 0 20 10 0 0 20 0 7 0 40 0 9000 0',
    '/p/90/smaps_rollup': '00400000-7ffd [rollup]\nRss:               40000 kB\nPss:               30000 kB\n',
  };
  const read: string[] = [];
  const proc = { read: (p: string) => (read.push(p), files[p]) };
  const src: DomainStatsSource = { namespace: 'default', name: 'vm', qemuPid: 100, launcherPid: 90, query: async () => qemuStats };
  const s = await readDomainStats(src, { proc, procRoot: '/p' });
  assert.deepEqual(s.cpu, { timeNs: 10e9, userNs: 7e9, systemNs: 3e9 });
  assert.deepEqual(s.vcpus, [{ id: 0, threadId: 11, timeNs: 5e9, delayNs: 250000 }]);
  assert.equal(s.memory!.residentBytes, 25600 * 4096);
  assert.equal(s.memory!.usableBytes, captured['guest-stats'].stats['stat-available-memory']);
  assert.equal(s.memory!.actualBalloonBytes, 64_000_000);
  assert.deepEqual(s.interfaces, [{ name: 'default', tap: 'tap0', rxBytes: 999, rxPackets: 9, rxErrors: 0, rxDropped: 3, txBytes: 111, txPackets: 2, txErrors: 0, txDropped: 1 }]);
  assert.deepEqual(s.launcher, { pid: 90, pssBytes: 30000 * 1024, rssBytes: 40000 * 1024, cpuNs: 0.3e9 });
  assert.equal(s.blocks[0]!.rdBytes, 8704);
  // Each file once: one read per source per call.
  assert.deepEqual([...read].sort(), Object.keys(files).sort());

  // A QEMU gone between the launcher's answer and /proc: unknown, not zero CPU.
  const gone = joinDomainStats({ ...src, qemuPid: 5 }, { ...qemuStats, hasBalloon: false }, { qemu: undefined, netDev: undefined, launcherStat: undefined, launcherMem: undefined }, proc, '/p', 0);
  assert.equal(gone.cpu, null);
  assert.equal(gone.memory!.residentBytes, -1);
  assert.equal(gone.memory!.actualBalloonBytes, -1);
});
