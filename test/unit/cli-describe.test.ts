// `virtnode describe`: the KubeVirt status fields by their names, conditions as a
// table, the handler's annotations, and the object's events.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeVm, describeVmi } from '../../handler/cli/describe.js';
import type { VirtualMachine, VirtualMachineInstance } from '../../proto/vmi/types.js';
import type { KubeEvent } from '../../handler/store/store.js';

const event = (reason: string, message: string): KubeEvent => ({
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name: 'e', namespace: 'default' },
  involvedObject: { kind: 'VirtualMachineInstance', namespace: 'default', name: 'vm-cirros' },
  reason,
  message,
  type: 'Normal',
  count: 1,
  firstTimestamp: new Date().toISOString(),
  lastTimestamp: new Date().toISOString(),
  source: { component: 'virtnode-handler', host: 'node' },
}) as unknown as KubeEvent;

test('a running VMI: machine, topology, memory, interfaces, volumes, conditions, events', () => {
  const vmi: VirtualMachineInstance = {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name: 'vm-cirros', namespace: 'default', uid: 'u-1', labels: { 'kubevirt.io/size': 'small' }, annotations: { 'virtnode.io/accelerator': 'tcg', 'virtnode.io/qemu-pid': '42' } },
    spec: { domain: { devices: {} } },
    status: {
      phase: 'Running',
      nodeName: 'node-1',
      conditions: [{ type: 'Ready', status: 'True' }, { type: 'SoftwareEmulation', status: 'True', reason: 'KVMUnavailable' }],
      interfaces: [{ name: 'default', ipAddress: '10.244.0.5', ipAddresses: ['10.244.0.5'], mac: '02:00:00:aa:bb:cc', infoSource: 'domain' }],
      machine: { type: 'pc-q35-7.2' },
      currentCPUTopology: { sockets: 1, cores: 2, threads: 1 },
      memory: { guestRequested: '64M', guestAtBoot: '64M', guestCurrent: '62504Ki' },
      qosClass: 'Burstable',
      volumeStatus: [{ name: 'containerdisk', target: 'vda', size: 46137344 }],
    },
  };
  const text = describeVmi(vmi, [event('Started', 'VirtualMachineInstance started')]);
  assert.match(text, /^Name: +vm-cirros$/m);
  assert.match(text, /^Labels: +kubevirt\.io\/size=small$/m);
  assert.match(text, /^Phase: +Running$/m);
  assert.match(text, /^Machine: +pc-q35-7\.2$/m);
  assert.match(text, /^CPU topology: +1 sockets, 2 cores, 1 threads$/m);
  assert.match(text, /^Memory: +requested 64M, at boot 64M, now 62504Ki$/m);
  assert.match(text, /^QoS class: +Burstable$/m);
  assert.match(text, /^Accelerator: +tcg$/m);
  assert.match(text, /^QEMU pid: +42$/m);
  assert.match(text, /^ {2}default: 10\.244\.0\.5 mac 02:00:00:aa:bb:cc \(domain\)$/m);
  assert.match(text, /^ {2}containerdisk: vda, 46137344 bytes$/m);
  assert.match(text, /^ {2}SoftwareEmulation +True +KVMUnavailable/m);
  assert.match(text, /^Events:\n {2}LAST SEEN +TYPE +REASON/m);
  assert.match(text, /Started +virtualmachineinstance\/vm-cirros +VirtualMachineInstance started/);
});

test('a stopped VM: status, run strategy, generations; no events says so', () => {
  const vm: VirtualMachine = {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name: 'vm-cirros', namespace: 'default' },
    spec: { runStrategy: 'Halted', template: { spec: { domain: { devices: {} } } } },
    status: { printableStatus: 'Stopped', ready: false, created: false, conditions: [], runStrategy: 'Halted', desiredGeneration: 3, observedGeneration: 2 },
  };
  const text = describeVm(vm, []);
  assert.match(text, /^Status: +Stopped$/m);
  assert.match(text, /^Run strategy: +Halted$/m);
  assert.match(text, /^Generation: +desired 3, observed 2$/m);
  assert.match(text, /^Conditions:\n {2}<none>$/m);
  assert.match(text, /^Events: {2}<none>$/m);
});
