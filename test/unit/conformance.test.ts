// The conformance checker against KubeVirt's published schema, and the fixture it reads.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkConformance } from '../../proto/vmi/conformance.js';
import { applyDefaults, vmiFromVM } from '../../proto/vmi/index.js';
import { KUBEVIRT_COMMIT, KUBEVIRT_KINDS, KUBEVIRT_OPENAPI, KUBEVIRT_RELEASE, KUBEVIRT_SCHEMA_SOURCE } from '../../proto/vmi/kubevirt-openapi.js';
import { referencedType } from '../../proto/vmi/kubevirt-schema.js';
import { assertConformsToKubeVirt, conformanceErrors } from '../conformance/assert.js';
import { vm, vmi, type Json } from './vmi-fixtures.js';

const NOW = '2026-01-02T03:04:05Z';

/** A running VMI as KubeVirt itself would show it, status and server-set metadata included. */
function runningVmi(): Json {
  const o = applyDefaults(vmi() as never, {}) as unknown as Json;
  o.metadata = {
    ...o.metadata,
    uid: '3f0c2a4e-0b7a-4b8e-9a56-5d1c6a8f7e01',
    resourceVersion: '12',
    generation: 1,
    creationTimestamp: NOW,
    finalizers: ['kubevirt.io/virtualMachineControllerFinalize'],
    ownerReferences: [{ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name: 'testvm', uid: 'u', controller: true, blockOwnerDeletion: true }],
    managedFields: [{ manager: 'virtnode', operation: 'Update', apiVersion: 'kubevirt.io/v1', time: NOW, fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': {} } }],
  };
  o.status = {
    phase: 'Running',
    nodeName: 'node1',
    reason: '',
    qosClass: 'Burstable',
    conditions: [
      { type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: NOW },
      { type: 'SoftwareEmulation', status: 'True', reason: 'KVMUnavailable', message: 'no working KVM', lastProbeTime: null, lastTransitionTime: NOW },
    ],
    interfaces: [{ name: 'default', interfaceName: 'eth0', ipAddress: '10.0.2.2', ipAddresses: ['10.0.2.2'], mac: '02:00:00:00:00:01', infoSource: 'domain, guest-agent', queueCount: 1 }],
    phaseTransitionTimestamps: [
      { phase: 'Pending', phaseTransitionTimestamp: NOW },
      { phase: 'Running', phaseTransitionTimestamp: NOW },
    ],
    volumeStatus: [{ name: 'containerdisk', target: 'vda', containerDiskVolume: { checksum: 1234 } }],
    guestOSInfo: { id: 'debian', name: 'Debian GNU/Linux' },
    memory: { guestAtBoot: '64M', guestCurrent: '64M', guestRequested: 64000000 },
    activePods: { 'a1b2': 'node1' },
  };
  return o;
}

function runningVm(): Json {
  const o = vm();
  o.metadata = { ...o.metadata, uid: 'u', generation: 2, resourceVersion: '7', creationTimestamp: NOW, annotations: { 'kubevirt.io/latest-observed-api-version': 'v1' } };
  o.status = {
    printableStatus: 'Running',
    ready: true,
    created: true,
    runStrategy: 'Always',
    desiredGeneration: 2,
    observedGeneration: 2,
    conditions: [{ type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: NOW }],
    stateChangeRequests: [{ action: 'Stop', uid: 'u2' }, { action: 'Start' }],
  };
  return o;
}

test('the fixture names its KubeVirt release and holds the VM and VMI types', (t) => {
  assert.match(KUBEVIRT_RELEASE, /^v1\.\d+\.\d+$/);
  assert.match(KUBEVIRT_COMMIT, /^[0-9a-f]{40}$/);
  assert.equal(KUBEVIRT_SCHEMA_SOURCE, `https://github.com/kubevirt/kubevirt/blob/${KUBEVIRT_RELEASE}/api/openapi-spec/swagger.json`);
  assert.deepEqual(KUBEVIRT_KINDS.VirtualMachine, { apiVersion: 'kubevirt.io/v1', type: 'v1.VirtualMachine' });
  assert.deepEqual(KUBEVIRT_KINDS.VirtualMachineInstance, { apiVersion: 'kubevirt.io/v1', type: 'v1.VirtualMachineInstance' });
  for (const k of ['VirtualMachineInstancetype', 'VirtualMachineClusterInstancetype', 'VirtualMachinePreference', 'VirtualMachineClusterPreference']) {
    assert.equal(KUBEVIRT_KINDS[k]?.apiVersion, 'instancetype.kubevirt.io/v1beta1', k);
  }
  for (const k of ['VirtualMachineSnapshot', 'VirtualMachineSnapshotContent', 'VirtualMachineRestore']) {
    assert.equal(KUBEVIRT_KINDS[k]?.apiVersion, 'snapshot.kubevirt.io/v1beta1', k);
  }
  // Every reference resolves, so the walker never meets a type it cannot look up.
  for (const [type, fields] of Object.entries(KUBEVIRT_OPENAPI)) {
    for (const [field, compact] of Object.entries(fields)) {
      const inner = compact.replace(/^(array:|map:)+/, '');
      const ref = referencedType(inner);
      if (inner.startsWith('ref:')) assert.ok(ref && KUBEVIRT_OPENAPI[ref], `${type}.${field} refers to ${compact}`);
    }
  }
  const vmiFields = KUBEVIRT_OPENAPI['v1.VirtualMachineInstanceStatus']!;
  assert.equal(vmiFields.interfaces, 'array:ref:v1.VirtualMachineInstanceNetworkInterface');
  assert.equal(KUBEVIRT_OPENAPI['v1.VirtualMachineInstanceNetworkInterface']!.ipAddress, 'string');

  const types = Object.keys(KUBEVIRT_OPENAPI).length;
  const fields = Object.values(KUBEVIRT_OPENAPI).reduce((n, f) => n + Object.keys(f).length, 0);
  const paths = Object.fromEntries(Object.entries(KUBEVIRT_KINDS).map(([k, v]) => [k, countPaths(v.type, new Set())]));
  t.diagnostic(`KubeVirt ${KUBEVIRT_RELEASE}: ${types} types, ${fields} fields; field paths per kind: ${JSON.stringify(paths)}`);
  assert.ok(types > 100 && fields > 500, `${types} types, ${fields} fields`);
  assert.ok(paths.VirtualMachineInstance! > 500 && paths.VirtualMachine! > paths.VirtualMachineInstance!, JSON.stringify(paths));
});

/** Field paths below `type`, each list or map counted once; a type already on the path is not entered again. */
function countPaths(type: string, onPath: Set<string>): number {
  let n = 0;
  for (const compact of Object.values(KUBEVIRT_OPENAPI[type]!)) {
    n++;
    const ref = referencedType(compact.replace(/^(array:|map:)+/, ''));
    if (ref && !onPath.has(ref)) n += countPaths(ref, new Set([...onPath, type]));
  }
  return n;
}

test('a VMI and a VM as KubeVirt shows them conform', () => {
  assert.deepEqual(checkConformance('VirtualMachineInstance', runningVmi()), []);
  assert.deepEqual(checkConformance('VirtualMachine', runningVm()), []);
  assertConformsToKubeVirt('VirtualMachineInstance', runningVmi());
});

test('what virtnode makes of a manifest conforms: the defaulted VMI and the VMI of a VM', () => {
  assert.deepEqual(checkConformance('VirtualMachineInstance', applyDefaults(vmi() as never, {})), []);
  const v = vm();
  v.metadata.uid = 'u';
  v.metadata.generation = 3;
  assert.deepEqual(checkConformance('VirtualMachineInstance', vmiFromVM(v as never, 'u2')), []);
});

test("virtnode's own status fields are not KubeVirt's, each named by path", () => {
  const o = runningVmi();
  o.status.interfaces[0] = { name: 'default', mac: '02:00:00:00:00:01', ip: '10.0.2.2', ips: ['10.0.2.2'], infoSource: 'domain' };
  o.status.accelerator = 'tcg';
  o.status.launcherPid = 100;
  o.status.qemuPid = 101;
  assert.deepEqual(checkConformance('VirtualMachineInstance', o), [
    { path: 'status.interfaces[0].ip', message: 'unknown field' },
    { path: 'status.interfaces[0].ips', message: 'unknown field' },
    { path: 'status.accelerator', message: 'unknown field' },
    { path: 'status.launcherPid', message: 'unknown field' },
    { path: 'status.qemuPid', message: 'unknown field' },
  ]);
});

test('enum values: swagger.json enums, and the phase enums it omits (read from the Go types)', () => {
  const o = runningVmi();
  o.status.phase = 'Bogus';
  o.status.phaseTransitionTimestamps[1].phase = 'Started';
  o.status.qosClass = 'Premium';
  o.spec.dnsPolicy = 'Bogus';
  o.spec.volumes[0].containerDisk.imagePullPolicy = 'Sometimes';
  const errors = checkConformance('VirtualMachineInstance', o);
  assert.deepEqual(
    errors.map((e) => e.path).sort(),
    ['spec.dnsPolicy', 'spec.volumes[0].containerDisk.imagePullPolicy', 'status.phase', 'status.phaseTransitionTimestamps[1].phase', 'status.qosClass'],
  );
  assert.equal(
    errors.find((e) => e.path === 'status.phase')!.message,
    'Unsupported value: "Bogus": supported values: "", "Pending", "Scheduling", "Scheduled", "Running", "Succeeded", "Failed", "WaitingForSync", "Unknown"',
  );
  assert.equal(errors.find((e) => e.path.endsWith('imagePullPolicy'))!.message, 'Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"');

  const m = runningVm();
  m.status.printableStatus = 'Up';
  m.status.stateChangeRequests[0].action = 'Restart';
  m.spec.runStrategy = 'Sometimes';
  assert.deepEqual(
    checkConformance('VirtualMachine', m).map((e) => e.path).sort(),
    ['spec.runStrategy', 'status.printableStatus', 'status.stateChangeRequests[0].action'],
  );
});

test('wrong JSON types are named with the type wanted', () => {
  const o = runningVmi();
  o.status.nodeName = 5;
  o.status.interfaces[0].queueCount = '1';
  o.status.interfaces[0].ipAddresses = '10.0.2.2';
  o.status.volumeStatus[0].containerDiskVolume.checksum = 1.5;
  o.status.conditions = { type: 'Ready' };
  o.status.memory.guestCurrent = true;
  o.metadata.labels.app = 1;
  o.spec.domain.devices.autoattachSerialConsole = 'true';
  o.spec.domain.cpu = 2;
  assert.deepEqual(checkConformance('VirtualMachineInstance', o), [
    { path: 'metadata.labels[app]', message: 'must be a string (got 1)' },
    { path: 'spec.domain.devices.autoattachSerialConsole', message: 'must be a boolean (got "true")' },
    { path: 'spec.domain.cpu', message: 'must be an object (got 2)' },
    { path: 'status.nodeName', message: 'must be a string (got 5)' },
    { path: 'status.conditions', message: 'must be a list (got {"type":"Ready"})' },
    { path: 'status.interfaces[0].ipAddresses', message: 'must be a list (got "10.0.2.2")' },
    { path: 'status.interfaces[0].queueCount', message: 'must be an integer (got "1")' },
    { path: 'status.volumeStatus[0].containerDiskVolume.checksum', message: 'must be an integer (got 1.5)' },
    { path: 'status.memory.guestCurrent', message: 'must be a string or a number (got true)' },
  ]);
});

test('null is an unset field; apiVersion and kind must be the kind asked for', () => {
  const o = runningVmi();
  o.status.reason = null;
  o.metadata.deletionTimestamp = null;
  assert.deepEqual(checkConformance('VirtualMachineInstance', o), []);
  o.apiVersion = 'kubevirt.io/v1alpha3';
  delete o.kind;
  assert.deepEqual(checkConformance('VirtualMachineInstance', o), [
    { path: 'apiVersion', message: 'Unsupported value: "kubevirt.io/v1alpha3": supported values: "kubevirt.io/v1"' },
    { path: 'kind', message: 'Required value' },
  ]);
  assert.deepEqual(checkConformance('VirtualMachine', 'vm'), [{ path: '<root>', message: 'must be an object (got "vm")' }]);
  assert.throws(() => checkConformance('Secret', {}), /no kind Secret/);
});

test('assertConformsToKubeVirt checks a List item by item and names every bad path', () => {
  const good = runningVmi();
  const bad = runningVmi();
  bad.status.launcherPid = 7;
  bad.status.interfaces[0].ip = '10.0.2.2';
  const list = { apiVersion: 'v1', kind: 'List', items: [good, bad] };
  assert.deepEqual(conformanceErrors('VirtualMachineInstance', list), [
    { path: 'items[1].status.interfaces[0].ip', message: 'unknown field' },
    { path: 'items[1].status.launcherPid', message: 'unknown field' },
  ]);
  assert.throws(
    () => assertConformsToKubeVirt('VirtualMachineInstance', list),
    (e: unknown) =>
      e instanceof assert.AssertionError &&
      e.message.includes(`does not conform to KubeVirt ${KUBEVIRT_RELEASE}`) &&
      e.message.includes('  items[1].status.interfaces[0].ip: unknown field') &&
      e.message.includes('  items[1].status.launcherPid: unknown field'),
  );
  assert.doesNotThrow(() => assertConformsToKubeVirt('VirtualMachineInstance', { apiVersion: 'v1', kind: 'List', items: [good] }));
});
