// The CLI's hand-written protobuf tables (handler/cli/wire.ts) against handler.proto
// as proto-loader reads it: the same fields and methods, bytes that grpc-js's
// serializers read back, answers decoded exactly as grpc-js decodes them. When
// handler.proto changes, this says what the CLI's copy must follow.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NEGOTIATE, NODE_METHODS, decode, encode, type MessageType, type UnaryMethod } from '../../handler/cli/wire.js';
import { handlerPackage, handlerPackageDefinition } from '../../proto/rpc.js';

interface FieldDescriptor {
  name: string;
  number: number;
  label: string;
  type: string;
  typeName: string;
}

const PKG = 'virtnode.handler.v1';
const definition = handlerPackageDefinition();
const services = { Info: handlerPackage().Info.service, Node: handlerPackage().Node.service } as const;

const SCALARS: Record<string, string> = { string: 'TYPE_STRING', bytes: 'TYPE_BYTES', bool: 'TYPE_BOOL', uint32: 'TYPE_UINT32', uint64: 'TYPE_UINT64', int64: 'TYPE_INT64' };

function assertSameFields(ours: MessageType): void {
  const def = definition[`${PKG}.${ours.name}`] as { type: { field: FieldDescriptor[] } } | undefined;
  assert.ok(def, `${ours.name} is in handler.proto`);
  const theirs = def.type.field.map((f) => ({ no: f.number, name: f.name, type: f.type === 'TYPE_MESSAGE' ? f.typeName : f.type, repeated: f.label === 'LABEL_REPEATED' }));
  const mine = ours.fields.map((f) => ({ no: f.no, name: f.name, type: typeof f.type === 'object' ? f.type.name : SCALARS[f.type], repeated: f.repeated ?? false }));
  assert.deepEqual(mine, theirs, `${ours.name}: the CLI's fields are handler.proto's`);
  for (const f of ours.fields) if (typeof f.type === 'object') assertSameFields(f.type);
}

const methods: [string, string, UnaryMethod][] = [['Info', 'Negotiate', NEGOTIATE], ...Object.entries(NODE_METHODS).map(([n, m]): [string, string, UnaryMethod] => ['Node', n, m])];

test('every unary method: the path, request and answer of handler.proto', () => {
  for (const [service, name, m] of methods) {
    const def = services[service as keyof typeof services][name as 'List'];
    assert.ok(def, `${service}.${name} is in handler.proto`);
    assert.equal(m.path, def.path);
    assert.equal(def.requestStream || def.responseStream, false, `${name} is unary`);
    assertSameFields(m.request);
    assertSameFields(m.response);
  }
});

test('the Node service has no unary method the CLI lacks', () => {
  const unary = Object.entries(services.Node).filter(([, d]) => !d.requestStream && !d.responseStream).map(([n]) => n);
  assert.deepEqual(Object.keys(NODE_METHODS).sort(), unary.sort());
});

/** Requests as the CLI builds them, with the edge values a user can type. */
const REQUESTS: [keyof typeof NODE_METHODS | 'Negotiate', Record<string, unknown>][] = [
  ['Negotiate', { supportedVersions: [1], client: 'virtnode-cli' }],
  ['Negotiate', { supportedVersions: [1, 2, 300, 70000], client: '' }],
  ['Apply', { manifest: 'kind: VirtualMachine\nmetadata:\n  name: ünïcode ✓\n'.repeat(3000), dryRun: true }],
  ['Apply', { manifest: '', dryRun: false }],
  ['Get', { kind: 'VirtualMachineInstance', namespace: 'default', name: 'vm-cirros' }],
  ['List', { kind: 'VirtualMachine', namespace: '' }],
  ['Delete', { ref: { kind: 'VirtualMachine', name: 'a', namespace: 'ns' }, gracePeriodSeconds: -1 }],
  ['Delete', { ref: { kind: 'VirtualMachineInstance', name: 'b', namespace: 'default' }, gracePeriodSeconds: 30 }],
  ['Stop', { namespace: 'default', name: 'x', gracePeriodSeconds: 0, force: true }],
  // `--grace-period abc` and `1.5`: protobufjs sends 0 and 1.
  ['Stop', { namespace: 'default', name: 'x', gracePeriodSeconds: Number('abc'), force: false }],
  ['Stop', { namespace: 'default', name: 'x', gracePeriodSeconds: 1.5, force: false }],
  ['Stop', { namespace: 'default', name: 'x', gracePeriodSeconds: 2 ** 40, force: false }],
  ['ListImages', {}],
  ['AddVolume', { namespace: 'default', name: 'vm', optionsJson: '{"name":"hp","disk":{"name":"hp","disk":{"bus":"scsi"}},"volumeSource":{"hostDisk":{"path":"/srv/ü,=.img","type":"Disk"}}}', persist: true, dryRun: false }],
  ['RemoveVolume', { namespace: 'ns', name: 'vm', volumeName: 'hp', persist: false, dryRun: true }],
  ['GetNodeInfo', {}],
  ['GetDomainStats', { namespace: 'default', name: 'vm-cirros' }],
  ['GetDomainStats', { namespace: '', name: '' }],
  ['Screenshot', { namespace: 'default', name: 'vm-cirros' }],
  ['SerialConsoleLog', { namespace: '', name: 'vm' }],
];

test('requests: grpc-js reads the CLI bytes back as what it would have sent', () => {
  for (const [name, req] of REQUESTS) {
    const m = name === 'Negotiate' ? NEGOTIATE : NODE_METHODS[name];
    const def = name === 'Negotiate' ? services.Info.Negotiate : services.Node[name];
    const ours = encode(m.request, req);
    assert.deepEqual(def.requestDeserialize(ours), def.requestDeserialize(def.requestSerialize(req)), `${name} ${JSON.stringify(req).slice(0, 80)}`);
  }
});

const object = (i: number) => ({ kind: 'VirtualMachineInstance', json: JSON.stringify({ metadata: { name: `vm-${i}` }, status: { phase: 'Running', note: 'ünïcode ✓' } }), resourceVersion: 2 ** 40 + i });

const ANSWERS: [keyof typeof NODE_METHODS | 'Negotiate', Record<string, unknown>][] = [
  ['Negotiate', { version: 1, server: 'handler' }],
  ['Negotiate', {}],
  ['Apply', { objects: [object(1), object(2)], warnings: ['VirtualMachine vm-cirros: apiVersion is missing'], results: ['virtualmachine.kubevirt.io/vm-cirros created'] }],
  ['Apply', {}],
  ['Get', object(7)],
  ['Get', {}],
  ['List', { objects: Array.from({ length: 300 }, (_, i) => object(i)), resourceVersion: 123456 }],
  ['List', { objects: [], resourceVersion: 0 }],
  ['Delete', { message: 'virtualmachine.kubevirt.io "a" deleted' }],
  ['Pause', {}],
  [
    'ListImages',
    {
      images: [{ reference: 'quay.io/kubevirt/cirros-container-disk-demo:latest', digest: 'sha256:' + 'ab'.repeat(32), sizeBytes: 5 * 2 ** 32 + 3, users: 2, pulledAt: '2026-01-01T00:00:00Z' }],
      pulls: [{ reference: 'x', bytesDone: 1, bytesTotal: 2 ** 35 }],
    },
  ],
  ['GetNodeInfo', { nodeName: 'vm', mode: 'standalone', version: '0.1.0', acceleratorJson: '{"kvm":{}}', allowEmulation: true, protocolVersion: 1, infoJson: '{"labels":{}}' }],
  ['GetNodeInfo', {}],
  [
    'GetDomainStats',
    {
      namespace: 'default',
      name: 'vm-cirros',
      timestampMs: 1_790_000_000_000,
      qemuPid: 4242,
      cpu: { timeNs: 2 ** 45 + 7, userNs: 2 ** 44, systemNs: 12 },
      vcpus: [{ id: 0, threadId: 4250, timeNs: 123_456_789_012, delayNs: 5 }, { id: 1, threadId: 4251, timeNs: 0, delayNs: 0 }],
      // -1: not reported by the guest yet; must come back as -1, not as 2^64 - 1 rounded.
      memory: { domainBytes: 64e6, actualBalloonBytes: 64e6, residentBytes: 2 ** 28, availableBytes: -1, unusedBytes: -1, usableBytes: 40_000_000, cachedBytes: -1, swapInBytes: 0, swapOutBytes: -1, majorFaults: -1, minorFaults: 17, guestStatsUpdated: 1_790_000_000 },
      blocks: [{ drive: 'containerdisk', target: 'vda', rdBytes: 2 ** 33, wrBytes: 5, rdOperations: 9, wrOperations: 1, flushOperations: 3, rdTotalTimeNs: 2 ** 50, wrTotalTimeNs: 7, flushTotalTimeNs: 8 }],
      interfaces: [{ name: 'default', tap: 'tap0', rxBytes: 1, rxPackets: 2, rxErrors: 3, rxDropped: 4, txBytes: 2 ** 40, txPackets: 6, txErrors: 7, txDropped: 8 }],
      launcher: { pid: 4200, pssBytes: 30 * 2 ** 20, rssBytes: 50 * 2 ** 20, cpuNs: 1_230_000_000 },
    },
  ],
  ['GetDomainStats', {}],
  // Every byte value, and a PNG-sized answer: bytes come back as grpc-js gives them (a Buffer).
  ['Screenshot', { png: Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.alloc(3 << 20, 0x5a)]) }],
  ['Screenshot', {}],
  ['SerialConsoleLog', { data: Buffer.from('\x1b[0m login: \xff\xfe') }],
  ['SerialConsoleLog', {}],
];

test('answers: decoded exactly as grpc-js decodes them', () => {
  for (const [name, res] of ANSWERS) {
    const m = name === 'Negotiate' ? NEGOTIATE : NODE_METHODS[name];
    const def = name === 'Negotiate' ? services.Info.Negotiate : services.Node[name];
    const bytes = def.responseSerialize(res);
    assert.deepEqual(decode(m.response, bytes), { ...(def.responseDeserialize(bytes) as object) }, `${name} ${JSON.stringify(res).slice(0, 80)}`);
  }
});

test('answers: unknown fields are skipped, as a newer handler may send them', () => {
  // Object with field 9 (varint), 10 (string), 11 (fixed64), 12 (fixed32) that this CLI does not know.
  const known = services.Node.Get.responseSerialize(object(1));
  const extra = Buffer.from([0x48, 0x96, 0x01, 0x52, 0x02, 0x68, 0x69, 0x59, 1, 2, 3, 4, 5, 6, 7, 8, 0x65, 1, 2, 3, 4]);
  assert.deepEqual(decode(NODE_METHODS.Get.response, Buffer.concat([extra, known, extra])), { ...(services.Node.Get.responseDeserialize(known) as object) });
});

test('answers: a cut-off message is an error, not a wrong object', () => {
  const bytes = services.Node.Get.responseSerialize(object(1));
  for (const cut of [1, 5, bytes.length - 1]) assert.throws(() => decode(NODE_METHODS.Get.response, bytes.subarray(0, cut)), /truncated/);
});
