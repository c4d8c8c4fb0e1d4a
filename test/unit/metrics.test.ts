// /metrics: the text exposition format as Prometheus parses it, and every kubevirt_*
// name and type held to KubeVirt's own metric list (test/unit/data/kubevirt-metrics.txt,
// taken from KubeVirt's docs/observability/metrics.md; its source is in its header).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Family, formatValue, renderFamilies } from '../../handler/metrics/exposition.js';
import { METRICS, renderMetrics } from '../../handler/metrics/vmi-metrics.js';
import type { DomainStats__Output } from '../../proto/generated/virtnode/handler/v1/DomainStats.js';
import type { VirtualMachineInstance } from '../../proto/vmi/types.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * A strict reader of the text format (version 0.0.4) as Prometheus' parser takes
 * it: HELP and TYPE before a family's samples, each family once, label values with
 * only \\, \" and \n escapes, values Go's ParseFloat reads.
 */
function parseExposition(text: string): { types: Map<string, string>; helps: Map<string, string>; samples: Sample[] } {
  assert.ok(text.endsWith('\n'), 'the page ends with a newline');
  const types = new Map<string, string>();
  const helps = new Map<string, string>();
  const samples: Sample[] = [];
  let current = '';
  const done = new Set<string>();
  for (const line of text.slice(0, -1).split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line))) {
      assert.ok(!done.has(m[1]!) && !helps.has(m[1]!), `${m[1]} appears once`);
      if (current) done.add(current);
      current = m[1]!;
      helps.set(m[1]!, m[2]!);
      continue;
    }
    if ((m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge)$/.exec(line))) {
      assert.equal(m[1], current, 'TYPE follows its HELP');
      types.set(m[1]!, m[2]!);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `a sample line: ${JSON.stringify(line)}`);
    assert.equal(m[1], current, `${m[1]} is in its own family`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
      let at = 0;
      while (at < m[2].length) {
        re.lastIndex = at;
        const l = re.exec(m[2]);
        assert.ok(l, `labels of ${JSON.stringify(line)}`);
        assert.ok(!(l[1]! in labels), 'a label appears once');
        labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
        at = re.lastIndex;
      }
    }
    const v = m[3]!;
    assert.ok(/^(NaN|[+-]Inf|[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)$/.test(v), `value ${v}`);
    samples.push({ name: m[1]!, labels, value: v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v) });
  }
  return { types, helps, samples };
}

test('exposition: HELP, TYPE, then samples; label values and help escaped', () => {
  const f = new Family('vn_test_total', 'counter', 'A help with \\ and\na newline.', ['a', 'b']);
  f.add(['x', 'y'], 1);
  f.add(['quote " back \\ slash', 'new\nline'], 2.5);
  const g = new Family('vn_plain', 'gauge', 'No labels.', []);
  g.add([], 1e-9);
  const text = renderFamilies([f, g]);
  assert.equal(
    text,
    '# HELP vn_test_total A help with \\\\ and\\na newline.\n# TYPE vn_test_total counter\n' +
      'vn_test_total{a="x",b="y"} 1\n' +
      'vn_test_total{a="quote \\" back \\\\ slash",b="new\\nline"} 2.5\n' +
      '# HELP vn_plain No labels.\n# TYPE vn_plain gauge\nvn_plain 1e-9\n',
  );
  const parsed = parseExposition(text);
  assert.deepEqual(parsed.samples[1]!.labels, { a: 'quote " back \\ slash', b: 'new\nline' });
  assert.deepEqual([formatValue(NaN), formatValue(Infinity), formatValue(-Infinity), formatValue(-0.5)], ['NaN', '+Inf', '-Inf', '-0.5']);
});

test('exposition: what Prometheus would refuse is refused here', () => {
  assert.throws(() => new Family('1bad', 'gauge', '', []), /invalid metric name/);
  assert.throws(() => new Family('ok', 'gauge', '', ['bad-label']), /invalid label name/);
  assert.throws(() => new Family('ok', 'gauge', '', ['__reserved']), /invalid label name/);
  assert.throws(() => new Family('ok', 'gauge', '', ['a', 'a']), /repeats/);
  assert.throws(() => new Family('ok', 'gauge', '', ['a']).add([], 1), /label values/);
  assert.throws(() => new Family('ok_total', 'counter', '', []).add([], -1), /negative/);
  assert.throws(() => renderFamilies([new Family('ok', 'gauge', '', []), new Family('ok', 'gauge', '', [])]), /twice/);
});

/** KubeVirt's list: name → kind and type. */
function kubevirtList(): Map<string, { kind: string; type: string }> {
  const out = new Map<string, { kind: string; type: string }>();
  for (const line of readFileSync('test/unit/data/kubevirt-metrics.txt', 'utf8').split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const [name, kind, type] = line.split(' | ');
    out.set(name!, { kind: kind!, type: type! });
  }
  return out;
}

/**
 * kubevirt_* names issue 15 asks for that KubeVirt's list does not hold as a metric,
 * each with why it is exported anyway. Anything else must be in the list as it is.
 */
const NOT_IN_KUBEVIRT_LIST: Record<string, string> = {
  // virt-handler's uptime, named by the issue; KubeVirt's docs list no uptime metric.
  kubevirt_virt_handler_uptime_seconds: 'absent',
  // A deprecated recording rule in KubeVirt (node:kubevirt_vmi_phase:sum replaced it); a plain gauge here.
  kubevirt_vmi_phase_count: 'Recording rule',
};

test("every kubevirt_* family has KubeVirt's name and type", () => {
  const list = kubevirtList();
  assert.ok(list.size > 150, 'the kept list is whole');
  for (const [name, def] of Object.entries(METRICS)) {
    if (!name.startsWith('kubevirt_')) {
      assert.ok(name.startsWith('virtnode_'), `${name}: virtnode's own metrics say so in their name`);
      continue;
    }
    const kv = list.get(name);
    const exception = NOT_IN_KUBEVIRT_LIST[name];
    if (exception === 'absent') {
      assert.equal(kv, undefined, `${name} has appeared in KubeVirt's list: drop the exception`);
      continue;
    }
    assert.ok(kv, `${name} is in KubeVirt's list`);
    assert.equal(kv.kind, exception ?? 'Metric', `${name}: kind`);
    assert.equal(kv.type.toLowerCase(), def.type, `${name}: type`);
  }
});

test('the metrics issue 15 names are all exported, with KubeVirt\'s labels', () => {
  const required = [
    'kubevirt_vmi_cpu_usage_seconds_total', 'kubevirt_vmi_vcpu_seconds_total', 'kubevirt_vmi_memory_resident_bytes', 'kubevirt_vmi_memory_available_bytes',
    'kubevirt_vmi_memory_actual_balloon_bytes', 'kubevirt_vmi_memory_domain_bytes',
    'kubevirt_vmi_network_receive_bytes_total', 'kubevirt_vmi_network_transmit_bytes_total', 'kubevirt_vmi_network_receive_packets_total', 'kubevirt_vmi_network_transmit_packets_total',
    'kubevirt_vmi_network_receive_errors_total', 'kubevirt_vmi_network_transmit_errors_total', 'kubevirt_vmi_network_receive_packets_dropped_total', 'kubevirt_vmi_network_transmit_packets_dropped_total',
    'kubevirt_vmi_storage_read_traffic_bytes_total', 'kubevirt_vmi_storage_write_traffic_bytes_total', 'kubevirt_vmi_storage_iops_read_total', 'kubevirt_vmi_storage_iops_write_total',
    'kubevirt_vmi_storage_read_times_seconds_total', 'kubevirt_vmi_storage_write_times_seconds_total', 'kubevirt_vmi_storage_flush_times_seconds_total',
    'kubevirt_vmi_phase_count', 'kubevirt_vmi_info', 'kubevirt_vmi_launcher_memory_overhead_bytes', 'kubevirt_virt_handler_uptime_seconds',
  ];
  const defs = METRICS as Record<string, { labels: readonly string[] }>;
  for (const n of required) assert.ok(defs[n], `${n} is exported`);
  for (const [n, d] of Object.entries(defs)) {
    if (!n.startsWith('kubevirt_vmi_') || n === 'kubevirt_vmi_phase_count') continue;
    for (const l of n === 'kubevirt_vmi_launcher_memory_overhead_bytes' ? ['namespace', 'name'] : ['node', 'namespace', 'name']) assert.ok(d.labels.includes(l), `${n} has label ${l}`);
    if (n.startsWith('kubevirt_vmi_storage_')) assert.ok(d.labels.includes('drive'), `${n}: drive`);
    if (n.startsWith('kubevirt_vmi_network_')) assert.ok(d.labels.includes('interface'), `${n}: interface`);
  }
});

function vmi(name: string, phase: string): VirtualMachineInstance {
  return { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance', metadata: { name, namespace: 'default', uid: name, annotations: { 'vm.kubevirt.io/os': 'linux' } }, spec: { domain: { devices: {} } }, status: { phase } } as unknown as VirtualMachineInstance;
}

function stats(name: string, i: number): DomainStats__Output {
  return {
    namespace: 'default',
    name,
    timestampMs: 0,
    qemuPid: 100 + i,
    cpu: { timeNs: 1.5e9 + i, userNs: 1e9, systemNs: 0.5e9 + i },
    vcpus: [{ id: 0, threadId: 11, timeNs: 1e9, delayNs: 2e6 }],
    memory: { domainBytes: 64e6, actualBalloonBytes: 64e6, residentBytes: 200 * 2 ** 20, availableBytes: -1, unusedBytes: -1, usableBytes: 30e6, cachedBytes: -1, swapInBytes: -1, swapOutBytes: -1, majorFaults: -1, minorFaults: 5, guestStatsUpdated: 1 },
    blocks: [{ drive: 'containerdisk', target: 'vda', rdBytes: 1000, wrBytes: 2000 + i, rdOperations: 3, wrOperations: 4, flushOperations: 5, rdTotalTimeNs: 6e6, wrTotalTimeNs: 7e6, flushTotalTimeNs: 8e6 }],
    interfaces: [{ name: 'default', tap: 'tap0', rxBytes: 10, rxPackets: 1, rxErrors: 0, rxDropped: 0, txBytes: 20, txPackets: 2, txErrors: 0, txDropped: 0 }],
    launcher: { pid: 90 + i, pssBytes: 30 * 2 ** 20, rssBytes: 50 * 2 ** 20, cpuNs: 2e9 },
  };
}

test('renderMetrics: a page Prometheus parses, with each VMI\'s figures in seconds and bytes', () => {
  const vmis = [vmi('a', 'Running'), vmi('b', 'Running'), vmi('c', 'Pending'), vmi('d', 'Failed')];
  const page = renderMetrics({ node: 'node1', uptimeSeconds: 12.5, vmis, stats: new Map([['default/a', stats('a', 0)], ['default/b', stats('b', 1)]]) });
  const { types, samples } = parseExposition(page);
  for (const [n, d] of Object.entries(METRICS)) assert.equal(types.get(n), d.type, `${n} declared`);
  const one = (name: string, labels: Record<string, string>): number => {
    const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    assert.equal(found.length, 1, `${name} ${JSON.stringify(labels)}`);
    return found[0]!.value;
  };
  assert.equal(one('kubevirt_virt_handler_uptime_seconds', { node: 'node1' }), 12.5);
  assert.equal(one('kubevirt_vmi_phase_count', { phase: 'running' }), 2);
  assert.equal(one('kubevirt_vmi_phase_count', { phase: 'pending' }), 1);
  assert.equal(one('kubevirt_vmi_info', { name: 'd', phase: 'failed', os: 'linux', node: 'node1' }), 1);
  assert.equal(one('kubevirt_vmi_cpu_usage_seconds_total', { name: 'b', node: 'node1', namespace: 'default' }), (1.5e9 + 1) * 1e-9);
  assert.equal(one('kubevirt_vmi_vcpu_seconds_total', { name: 'a', id: '0', state: 'running' }), 1);
  assert.equal(one('kubevirt_vmi_vcpu_delay_seconds_total', { name: 'a', id: '0' }), 0.002);
  assert.equal(one('kubevirt_vmi_storage_write_traffic_bytes_total', { name: 'b', drive: 'containerdisk' }), 2001);
  assert.equal(one('kubevirt_vmi_storage_flush_times_seconds_total', { name: 'a', drive: 'containerdisk' }), 0.008);
  assert.equal(one('kubevirt_vmi_network_transmit_bytes_total', { name: 'a', interface: 'default' }), 20);
  assert.equal(one('kubevirt_vmi_memory_usable_bytes', { name: 'a' }), 30e6);
  assert.equal(one('kubevirt_vmi_launcher_memory_overhead_bytes', { name: 'a', namespace: 'default' }), 30 * 2 ** 20);
  assert.equal(one('virtnode_vmi_launcher_cpu_usage_seconds_total', { name: 'a' }), 2);
  // Not reported by the guest: no sample at all, rather than a made-up 0.
  assert.equal(samples.filter((s) => s.name === 'kubevirt_vmi_memory_available_bytes').length, 0);
  // Only running VMIs have domain series.
  assert.equal(samples.filter((s) => s.name === 'kubevirt_vmi_memory_resident_bytes').length, 2);
});
