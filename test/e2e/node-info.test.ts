// `virtnode node` on a real handler: the accelerator the probe chose and why, QEMU's
// version, machine types and CPU models as this node's QEMU reports them under that
// accelerator, and KubeVirt's node labels; a running VMI shows in the counts and in
// what the node has allocated.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { TestHandler, cirrosVMI, sleep, useTestHandler } from './harness.js';
import type { NodeInfoDocument } from '../../handler/node-info.js';

let h: TestHandler;
useTestHandler((x) => (h = x));

type Shown = NodeInfoDocument & { nodeName: string; mode: string };

async function node(): Promise<Shown> {
  // The probe runs once at start: wait for its verdict.
  for (let i = 0; ; i++) {
    const r = await h.cli(['node', '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as Shown;
    if (doc.accelerator.chosen !== 'none' || i > 300) return doc;
    await sleep(100);
  }
}

test('virtnode node: accelerator, QEMU capabilities and node labels from this node', async () => {
  const doc = await node();
  assert.equal(doc.mode, 'standalone');
  // This host's KVM hangs guests; the harness allows emulation: TCG, and the reason names KVM's verdict.
  assert.ok(['kvm', 'tcg'].includes(doc.accelerator.chosen), doc.accelerator.reason);
  if (doc.accelerator.chosen === 'tcg') assert.match(doc.accelerator.reason, /KVM is not usable/);
  const version = /version (\d+\.\d+\.\d+)/.exec(execFileSync('qemu-system-x86_64', ['--version'], { encoding: 'utf8' }))![1]!;
  assert.equal(doc.qemu?.version, version, 'the version QEMU itself prints');
  const [maj, min] = version.split('.');
  assert.ok(doc.qemu!.machineTypes.includes(`pc-q35-${maj}.${min}`), `q35 of this QEMU among ${doc.qemu!.machineTypes.join(' ')}`);
  assert.ok(doc.qemu!.cpuModels.includes('qemu64'), 'qemu64 runs under any accelerator');
  const closest = doc.qemu!.hostModel.closestNamedModel;
  assert.ok(closest && doc.qemu!.cpuModels.includes(closest), `the host model's closest named model (${closest}) is a usable one`);
  assert.ok(doc.qemu!.hostModel.features.includes('sse2'), 'an x86-64 host model has sse2');
  assert.equal(doc.labels['kubevirt.io/schedulable'], 'true');
  assert.equal(doc.labels[`machine-type.node.kubevirt.io/pc-q35-${maj}.${min}`], 'true');
  assert.equal(doc.labels['cpu-model.node.kubevirt.io/qemu64'], 'true');
  assert.equal(doc.labels[`host-model-cpu.node.kubevirt.io/${closest}`], 'true');
  assert.equal(doc.labels['cpu-feature.node.kubevirt.io/sse2'], 'true');
  assert.ok(doc.host.modelName.length > 0, 'the host CPU model from /proc/cpuinfo');
  assert.equal(doc.vmis.running, 0);
  assert.equal(doc.allocated.memory, '0Ki');

  assert.equal((await h.cli(['apply', '-f', '-'], cirrosVMI('ni'))).code, 0);
  await h.waitPhase('ni', 'Running', 180_000);
  const busy = await node();
  assert.deepEqual(busy.vmis, { total: 1, running: 1 });
  const allocated = Number(busy.allocated.memory.replace(/Ki$/, '')) * 1024;
  assert.ok(allocated > 64 * 2 ** 20, `the VMI's memory limit (guest and overhead) is allocated: ${busy.allocated.memory}`);
  assert.equal(busy.allocated.cpu, '100m', 'KubeVirt\'s default CPU request for one vCPU');
  const human = await h.cli(['node']);
  assert.match(human.stdout, /machine-type\.node\.kubevirt\.io\/pc-q35/, 'YAML by default');
});
