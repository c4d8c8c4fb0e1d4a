// Domain states → VMI phase and conditions, as virt-handler maps them.

import { qemuPid, vmiAccelerator } from '../../proto/vmi/annotations.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyDomainEvent, binaryQuantity, failVmi, qosClassOf, setCondition, vmPrintableStatus } from '../../handler/controller/status.js';
import type { VirtualMachine, VirtualMachineInstance } from '../../proto/vmi/types.js';
import type { DomainEvent__Output } from '../../proto/generated/virtnode/launcher/v1/DomainEvent.js';

function vmi(): VirtualMachineInstance {
  return { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance', metadata: { name: 'v', uid: 'u' }, spec: { domain: { devices: {} } }, status: { phase: 'Scheduled', conditions: [] } };
}

function ev(state: DomainEvent__Output['state'], reason = '', extra: Partial<DomainEvent__Output> = {}): DomainEvent__Output {
  return { seq: 1, timestampMs: 0, state, reason, message: '', qemuPid: 0, accelerator: '', final: false, interfacesJson: '', machineType: '', guestMemoryBytes: 0, volumes: [], ...extra } as DomainEvent__Output;
}

test('running, paused by user, unpaused', () => {
  const v = vmi();
  let notes = applyDomainEvent(v, ev('RUNNING', 'Booted', { qemuPid: 42, accelerator: 'tcg' }));
  assert.equal(v.status!.phase, 'Running');
  assert.equal(qemuPid(v), 42);
  assert.equal(vmiAccelerator(v), 'tcg');
  assert.deepEqual(notes.map((n) => n.reason), ['Started']);
  assert.equal(v.status!.conditions.find((c) => c.type === 'Ready')?.status, 'True');
  notes = applyDomainEvent(v, ev('PAUSED', 'User'));
  const paused = v.status!.conditions.find((c) => c.type === 'Paused');
  assert.equal(paused?.status, 'True');
  assert.equal(paused?.reason, 'PausedByUser');
  assert.equal(v.status!.phase, 'Running', 'a paused VMI stays in phase Running');
  notes = applyDomainEvent(v, ev('RUNNING', 'Unpaused'));
  assert.equal(v.status!.conditions.find((c) => c.type === 'Paused'), undefined);
  assert.deepEqual(notes.map((n) => n.reason), ['Unpaused']);
});

test('guest poweroff and our shutdown succeed; crashes and failed starts fail with their reason', () => {
  for (const [reason, phase] of [['Shutdown', 'Succeeded'], ['Destroyed', 'Succeeded'], ['Failed', 'Failed']] as const) {
    const v = vmi();
    applyDomainEvent(v, ev('RUNNING'));
    applyDomainEvent(v, ev('SHUTOFF', reason, { message: 'm' }));
    assert.equal(v.status!.phase, phase, reason);
    assert.equal(qemuPid(v), undefined);
  }
  const v = vmi();
  applyDomainEvent(v, ev('RUNNING'));
  const notes = applyDomainEvent(v, ev('CRASHED', 'Panicked', { message: 'The guest kernel panicked' }));
  assert.equal(v.status!.phase, 'Failed');
  assert.equal(v.status!.reason, 'Panicked');
  assert.equal(notes[0]?.type, 'Warning');
  // A finished VMI never comes back, whatever arrives late.
  applyDomainEvent(v, ev('RUNNING'));
  assert.equal(v.status!.phase, 'Failed');
  assert.deepEqual(failVmi(v, 'LauncherExited', 'x'), []);
});

test('conditions keep their transition time while the status holds', () => {
  const t1 = new Date('2026-01-01T00:00:00Z');
  const t2 = new Date('2026-01-01T00:01:00Z');
  let c = setCondition([], { type: 'Ready', status: 'True' }, t1);
  c = setCondition(c, { type: 'Ready', status: 'True', reason: 'x' }, t2);
  assert.equal(c[0]!.lastTransitionTime, t1.toISOString());
  c = setCondition(c, { type: 'Ready', status: 'False' }, t2);
  assert.equal(c[0]!.lastTransitionTime, t2.toISOString());
});

test('printableStatus as KubeVirt shows it', () => {
  const vm: VirtualMachine = { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', metadata: { name: 'v' }, spec: { template: { spec: { domain: { devices: {} } } } } };
  assert.equal(vmPrintableStatus(vm, undefined), 'Stopped');
  assert.equal(vmPrintableStatus(vm, undefined, { crashLoop: true }), 'CrashLoopBackOff');
  const v = vmi();
  v.status!.phase = 'Scheduling';
  assert.equal(vmPrintableStatus(vm, v), 'Starting');
  assert.equal(vmPrintableStatus(vm, v, { imagePullError: true }), 'ErrImagePull');
  applyDomainEvent(v, ev('RUNNING'));
  assert.equal(vmPrintableStatus(vm, v), 'Running');
  applyDomainEvent(v, ev('PAUSED', 'User'));
  assert.equal(vmPrintableStatus(vm, v), 'Paused');
  v.metadata.deletionTimestamp = 'x';
  assert.equal(vmPrintableStatus(vm, v), 'Stopping');
});

test('what QEMU made of the domain becomes status.machine, currentCPUTopology, memory and volumeStatus', () => {
  const v = vmi();
  v.spec.domain.cpu = { sockets: 2, cores: 1, threads: 1 };
  v.spec.domain.memory = { guest: '64M' };
  applyDomainEvent(v, ev('STARTING', 'StartingUp', { qemuPid: 7, machineType: 'pc-q35-7.2', guestMemoryBytes: 64_004_096, volumes: [{ name: 'containerdisk', target: 'vda', sizeBytes: 46_137_344 }] }));
  assert.deepEqual(v.status!.machine, { type: 'pc-q35-7.2' });
  assert.deepEqual(v.status!.currentCPUTopology, { sockets: 2, cores: 1, threads: 1 });
  assert.deepEqual(v.status!.memory, { guestRequested: '64M', guestAtBoot: '64M', guestCurrent: '62504Ki' });
  assert.deepEqual(v.status!.volumeStatus, [{ name: 'containerdisk', target: 'vda', size: 46_137_344 }]);
  assert.equal(qemuPid(v), 7);
  // The pid goes with the domain; a finished VMI keeps what it was.
  applyDomainEvent(v, ev('SHUTOFF', 'Shutdown'));
  assert.equal(qemuPid(v), undefined);
  assert.deepEqual(v.status!.machine, { type: 'pc-q35-7.2' });
});

test('binary quantities and the QoS class as Kubernetes writes them', () => {
  assert.deepEqual([0, 1000, 1024, 64_004_096, 2 ** 30, 3 * 2 ** 30 + 1].map(binaryQuantity), ['0', '1000', '1Ki', '62504Ki', '1Gi', '3221225473']);
  const v = vmi();
  assert.equal(qosClassOf(v), 'Burstable');
  v.spec.domain.resources = { limits: { cpu: '2', memory: '1Gi' } };
  assert.equal(qosClassOf(v), 'Guaranteed', 'limits alone: requests default to them');
  v.spec.domain.resources = { requests: { cpu: '2000m', memory: '1024Mi' }, limits: { cpu: '2', memory: '1Gi' } };
  assert.equal(qosClassOf(v), 'Guaranteed', 'equal quantities in other units');
  v.spec.domain.resources = { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '2', memory: '1Gi' } };
  assert.equal(qosClassOf(v), 'Burstable');
});
