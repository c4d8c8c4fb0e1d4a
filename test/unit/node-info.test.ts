// The node info document: which accelerator a VMI gets and why, the host CPU as
// /proc/cpuinfo says, QEMU's part under the chosen accelerator only, capacity minus
// what VMIs hold, and KubeVirt's node-labeller label names.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostCpu, nodeInfo, NODE_LABELS } from '../../handler/node-info.js';
import type { AcceleratorReport } from '../../proto/accelerator.js';
import type { QemuCapabilities } from '../../proto/node-capabilities.js';

const CPUINFO = `processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7B13
flags\t\t: fpu vme sse2 avx2

processor\t: 1
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7B13
flags\t\t: fpu
`;

const caps: QemuCapabilities = {
  accelerator: 'tcg',
  version: '7.2.22',
  package: 'Debian',
  machines: [
    { name: 'pc-q35-7.2', alias: 'q35', isDefault: false, deprecated: false, cpuMax: 288 },
    { name: 'pc-i440fx-7.2', alias: 'pc', isDefault: true, deprecated: false, cpuMax: 255 },
    { name: 'pc-i440fx-1.4', isDefault: false, deprecated: true, cpuMax: 255 },
  ],
  cpuModels: [
    { name: 'EPYC-v1', usable: true, unavailableFeatures: [], deprecated: false },
    { name: 'EPYC', usable: true, unavailableFeatures: [], deprecated: false, aliasOf: 'EPYC-v1' },
    { name: 'Skylake-Server-v1', usable: false, unavailableFeatures: ['avx512f'], deprecated: false },
  ],
  cpuFeatures: ['avx2', 'avx512f', 'pku', 'sse2'],
  hostModel: { model: 'max', closestNamedModel: 'EPYC-v1', requiredFeatures: ['pku'], features: ['avx2', 'pku', 'sse2'] },
  durationMs: 40,
};
const ok = { usable: true, reason: 'ok in 30 ms', durationMs: 30 };
const broken = { usable: false, reason: 'probe guest hung', durationMs: 2000 };
const vmis = { total: 2, running: 1, cpuMillis: 100, memoryBytes: 256 * 1024 * 1024 };
const capacity = { cpus: 2, memoryBytes: 4 * 1024 ** 3 };

test('the host CPU: first processor, vendor by KubeVirt\'s name, sorted flags', () => {
  assert.deepEqual(hostCpu(CPUINFO), { modelName: 'AMD EPYC 7B13', vendor: 'AMD', flags: ['avx2', 'fpu', 'sse2', 'vme'] });
  assert.deepEqual(hostCpu(''), { modelName: '', vendor: '', flags: [] });
});

test('TCG allowed and KVM broken: tcg chosen, its capabilities shown, node-labeller labels', () => {
  const report: AcceleratorReport = { kvm: broken, tcg: ok, capabilities: { tcg: caps } };
  const doc = nodeInfo({ report, allowEmulation: true, vmis, cpuinfo: CPUINFO, capacity });
  assert.equal(doc.accelerator.chosen, 'tcg');
  assert.equal(doc.accelerator.softwareEmulation, true);
  assert.match(doc.accelerator.reason, /KVM is not usable \(probe guest hung\)/);
  assert.equal(doc.qemu?.version, '7.2.22');
  assert.equal(doc.qemu?.defaultMachineType, 'pc-i440fx-7.2');
  assert.deepEqual(doc.qemu?.machineTypes, ['pc-i440fx-7.2', 'pc-q35-7.2'], 'deprecated machine types left out');
  assert.deepEqual(doc.qemu?.cpuModels, ['EPYC', 'EPYC-v1'], 'only usable models');
  assert.deepEqual(doc.capacity, { cpu: '2', memory: '4194304Ki' });
  assert.deepEqual(doc.allocated, { cpu: '100m', memory: '262144Ki' });
  assert.deepEqual(doc.allocatable, { cpu: '1900m', memory: `${4194304 - 262144}Ki` });
  assert.deepEqual(doc.vmis, { total: 2, running: 1 });
  assert.deepEqual(doc.labels, {
    'kubevirt.io/schedulable': 'true',
    'cpu-model.node.kubevirt.io/EPYC-v1': 'true',
    'cpu-model.node.kubevirt.io/EPYC': 'true',
    'cpu-feature.node.kubevirt.io/avx2': 'true',
    'cpu-feature.node.kubevirt.io/pku': 'true',
    'cpu-feature.node.kubevirt.io/sse2': 'true',
    'host-model-cpu.node.kubevirt.io/EPYC-v1': 'true',
    'host-model-required-features.node.kubevirt.io/pku': 'true',
    'cpu-vendor.node.kubevirt.io/AMD': 'true',
    'machine-type.node.kubevirt.io/pc-q35-7.2': 'true',
    'machine-type.node.kubevirt.io/pc-i440fx-7.2': 'true',
  });
});

test('emulation not allowed and KVM broken: nothing chosen, not schedulable, the reason says why', () => {
  const doc = nodeInfo({ report: { kvm: broken, tcg: ok, capabilities: { tcg: caps } }, allowEmulation: false, vmis, cpuinfo: CPUINFO, capacity });
  assert.equal(doc.accelerator.chosen, 'none');
  assert.equal(doc.qemu, undefined, 'no capabilities of an accelerator no VMI gets');
  assert.match(doc.qemuProblem!, /software emulation is not allowed/);
  assert.deepEqual(doc.labels, { [NODE_LABELS.schedulable]: 'false' });
});

test('KVM that ran the probe wins; missing capabilities are said, not invented', () => {
  const doc = nodeInfo({ report: { kvm: ok, tcg: ok, capabilities: { tcg: caps }, capabilitiesProblem: 'asking qemu under kvm: boom' }, allowEmulation: true, vmis, cpuinfo: CPUINFO, capacity });
  assert.equal(doc.accelerator.chosen, 'kvm');
  assert.equal(doc.accelerator.softwareEmulation, false);
  assert.equal(doc.qemu, undefined);
  assert.equal(doc.qemuProblem, 'asking qemu under kvm: boom');
});

test('before the probe ends: not schedulable, and the document says the probe is still out', () => {
  const doc = nodeInfo({ report: undefined, allowEmulation: true, vmis, cpuinfo: CPUINFO, capacity });
  assert.equal(doc.accelerator.chosen, 'none');
  assert.match(doc.accelerator.kvm.reason, /has not finished/);
  assert.equal(doc.labels[NODE_LABELS.schedulable], 'false');
});
