// The stats service over fake launchers: which VMIs are asked, once each per scrape;
// overlapping scrapes share one gathering; a launcher that fails drops its VMI from
// the page, not the page.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { StatsService, type RuntimeView } from '../../handler/metrics/stats-service.js';
import type { VmiRuntime } from '../../handler/controller/vmi-runtime.js';
import type { VirtualMachineInstance } from '../../proto/vmi/types.js';
import type { QemuStats__Output } from '../../proto/generated/virtnode/launcher/v1/QemuStats.js';

const qemu: QemuStats__Output = {
  domainMemoryBytes: 64e6,
  balloonActualBytes: 64e6,
  hasBalloon: true,
  guestMemory: null,
  vcpus: [],
  blocks: [{ drive: 'containerdisk', target: 'vda', rdBytes: 1, wrBytes: 2, rdOperations: 3, wrOperations: 4, flushOperations: 5, rdTotalTimeNs: 6, wrTotalTimeNs: 7, flushTotalTimeNs: 8 }],
  interfaces: [],
};

function world(specs: { name: string; phase: string; fail?: boolean; connected?: boolean }[]): { view: RuntimeView; asked: string[]; release(): void } {
  const asked: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const entries = specs.map((s) => {
    const vmi = { metadata: { name: s.name, namespace: 'default', uid: s.name }, spec: { domain: { devices: {} } }, status: { phase: s.phase } } as unknown as VirtualMachineInstance;
    const launcher = {
      state: 'running',
      connected: s.connected ?? true,
      command: async (op: { stats?: { guestStatsIntervalSeconds: number } }) => {
        asked.push(`${s.name} interval=${op.stats?.guestStatsIntervalSeconds}`);
        await gate;
        if (s.fail) throw new Error('session lost');
        return { stats: qemu };
      },
    };
    const rt = { uid: s.name, key: `default/${s.name}`, namespace: 'default', name: s.name, launcher } as unknown as VmiRuntime;
    return { vmi, rt };
  });
  const view: RuntimeView = {
    runtimes: () => entries,
    runtime: (ns, name) => entries.find((e) => e.rt.name === name && ns === 'default'),
    list: () => entries.map((e) => e.vmi),
  };
  return { view, asked, release };
}

const log = pino({ level: 'silent' });

test('a scrape asks each running, connected launcher once; overlapping scrapes share it', async () => {
  const w = world([{ name: 'a', phase: 'Running' }, { name: 'b', phase: 'Running', fail: true }, { name: 'c', phase: 'Pending' }, { name: 'd', phase: 'Running', connected: false }]);
  const svc = new StatsService({ vmis: w.view, nodeName: 'n1', log, guestStatsIntervalSeconds: 15, proc: { read: () => undefined } });
  const one = svc.scrape();
  const two = svc.scrape();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(w.asked.sort(), ['a interval=15', 'b interval=15']);
  w.release();
  const [p1, p2] = await Promise.all([one, two]);
  assert.equal(p1, p2);
  assert.match(p1, /^kubevirt_vmi_storage_write_traffic_bytes_total\{node="n1",namespace="default",name="a",drive="containerdisk"\} 2$/m);
  assert.doesNotMatch(p1, /name="b",drive/, 'the failed launcher\'s VMI has no domain series');
  assert.match(p1, /^kubevirt_vmi_phase_count\{node="n1",phase="running"\} 3$/m);
  // A later scrape gathers anew.
  await svc.scrape();
  assert.equal(w.asked.length, 4);
});

test('GetDomainStats: not found, not running, or the stats', async () => {
  const w = world([{ name: 'a', phase: 'Running' }, { name: 'c', phase: 'Scheduled' }]);
  w.release();
  const svc = new StatsService({ vmis: w.view, nodeName: 'n1', log, guestStatsIntervalSeconds: 7, proc: { read: () => undefined } });
  await assert.rejects(svc.domainStats('default', 'zz'), (e: { code?: string }) => e.code === 'VN_NOT_FOUND');
  await assert.rejects(svc.domainStats('default', 'c'), /is not running \(phase Scheduled\)/);
  const s = await svc.domainStats('default', 'a');
  assert.equal(s.blocks[0]!.wrBytes, 2);
  assert.deepEqual(w.asked, ['a interval=7']);
});

test("launchers' smaps_rollup: every one at first, then the stalest quarter per scrape", async () => {
  const w = world(Array.from({ length: 8 }, (_, i) => ({ name: `v${i}`, phase: 'Running' })));
  w.release();
  // Launcher pids 100..107 (the runtime's sandbox record).
  for (const [i, e] of w.view.runtimes().entries()) (e.rt as { sandbox?: unknown }).sandbox = { runtime: { launcherPid: 100 + i } };
  const smaps: string[] = [];
  const proc = {
    read: () => undefined,
    readAsync: async (path: string) => {
      smaps.push(path);
      return 'x [rollup]\nRss:   2048 kB\nPss:   1024 kB\n';
    },
  };
  const svc = new StatsService({ vmis: w.view, nodeName: 'n1', log, guestStatsIntervalSeconds: 15, proc });
  const first = await svc.scrape();
  assert.equal(smaps.length, 8, 'none measured yet: all of them');
  assert.equal(first.match(/^kubevirt_vmi_launcher_memory_overhead_bytes\{/gm)?.length, 8);
  const seen = new Map<string, number>();
  for (let k = 0; k < 4; k++) {
    smaps.length = 0;
    await new Promise((r) => setTimeout(r, 2));
    const page = await svc.scrape();
    assert.equal(smaps.length, 2, `scrape ${k}: a quarter of 8`);
    for (const p of smaps) seen.set(p, (seen.get(p) ?? 0) + 1);
    assert.equal(page.match(/^kubevirt_vmi_launcher_memory_overhead_bytes\{.*\} 1048576$/gm)?.length, 8, 'every VMI keeps its last figure');
  }
  assert.equal(seen.size, 8, 'in four scrapes, each launcher once');
  assert.ok([...seen.values()].every((n) => n === 1));
});
