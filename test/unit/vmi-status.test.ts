// Domain states → VMI phase and conditions, as virt-handler maps them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyDomainEvent, failVmi, setCondition, vmPrintableStatus } from '../../handler/controller/status.js';
import type { VirtualMachine, VirtualMachineInstance } from '../../proto/vmi/types.js';
import type { DomainEvent__Output } from '../../proto/generated/virtnode/launcher/v1/DomainEvent.js';

function vmi(): VirtualMachineInstance {
  return { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance', metadata: { name: 'v', uid: 'u' }, spec: { domain: { devices: {} } }, status: { phase: 'Scheduled', conditions: [] } };
}

function ev(state: DomainEvent__Output['state'], reason = '', extra: Partial<DomainEvent__Output> = {}): DomainEvent__Output {
  return { seq: 1, timestampMs: 0, state, reason, message: '', qemuPid: 0, accelerator: '', final: false, interfacesJson: '', ...extra };
}

test('running, paused by user, unpaused', () => {
  const v = vmi();
  let notes = applyDomainEvent(v, ev('RUNNING', 'Booted', { qemuPid: 42, accelerator: 'tcg' }));
  assert.equal(v.status!.phase, 'Running');
  assert.equal(v.status!.qemuPid, 42);
  assert.equal(v.status!.accelerator, 'tcg');
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
    assert.equal(v.status!.qemuPid, undefined);
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
