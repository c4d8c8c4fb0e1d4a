import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidSpecError, type FieldError } from '../../proto/errors.js';
import { parseManifests } from '../../proto/vmi/index.js';
import { GETTING_STARTED_VM } from './vmi-fixtures.js';

function refused(text: string): FieldError[] {
  try {
    parseManifests(text);
  } catch (e) {
    assert.ok(e instanceof InvalidSpecError);
    return e.fields;
  }
  assert.fail('expected InvalidSpecError');
}

const VMI_DOC = `apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata:
  name: a
spec: {}
`;

test("KubeVirt's getting-started VM without apiVersion is read, with a warning", () => {
  const { objects, warnings } = parseManifests(GETTING_STARTED_VM);
  assert.equal(objects.length, 1);
  const vm = objects[0]!;
  assert.equal(vm.kind, 'VirtualMachine');
  assert.equal(vm.apiVersion, 'kubevirt.io/v1');
  assert.equal(vm.metadata.name, 'vm-cirros');
  assert.deepEqual(warnings, ['VirtualMachine vm-cirros: apiVersion is missing, assuming kubevirt.io/v1 (kubectl would refuse this manifest)']);
  // 64M stays a string: YAML must not turn quantities into numbers.
  assert.equal((vm.spec as any).template.spec.domain.resources.requests.memory, '64M');
});

test('multi-document YAML: empty documents and comments are skipped, order kept', () => {
  const text = `---\n# only a comment\n---\n${VMI_DOC}---\n---\n${GETTING_STARTED_VM.replace('kind:', 'apiVersion: kubevirt.io/v1\nkind:')}...\n`;
  const { objects, warnings } = parseManifests(text);
  assert.deepEqual(
    objects.map((o) => [o.kind, o.metadata.name]),
    [
      ['VirtualMachineInstance', 'a'],
      ['VirtualMachine', 'vm-cirros'],
    ],
  );
  assert.deepEqual(warnings, []);
});

test('empty input gives no objects', () => {
  assert.deepEqual(parseManifests(''), { objects: [], warnings: [] });
  assert.deepEqual(parseManifests('# nothing\n---\n'), { objects: [], warnings: [] });
});

test('JSON input is read', () => {
  const json = JSON.stringify({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance', metadata: { name: 'j' }, spec: { domain: { devices: {} } } }, null, '\t');
  const { objects } = parseManifests(json);
  assert.equal(objects[0]!.metadata.name, 'j');
});

test('kubevirt.io/v1alpha3 is read as v1 with a warning', () => {
  const { objects, warnings } = parseManifests(VMI_DOC.replace('kubevirt.io/v1', 'kubevirt.io/v1alpha3'));
  assert.equal(objects[0]!.apiVersion, 'kubevirt.io/v1');
  assert.deepEqual(warnings, ['VirtualMachineInstance a: apiVersion kubevirt.io/v1alpha3 is deprecated, read as kubevirt.io/v1']);
});

test('other apiVersions are refused', () => {
  assert.deepEqual(refused(VMI_DOC.replace('kubevirt.io/v1', 'kubevirt.io/v2')), [
    { path: 'apiVersion', message: 'Unsupported value: "kubevirt.io/v2": supported values: "kubevirt.io/v1"' },
  ]);
  assert.deepEqual(refused(VMI_DOC.replace('kubevirt.io/v1', 'v1')), [{ path: 'apiVersion', message: 'Unsupported value: "v1": supported values: "kubevirt.io/v1"' }]);
});

test('a kind other than VirtualMachine or VirtualMachineInstance is refused naming kind', () => {
  assert.deepEqual(refused('apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n'), [
    { path: 'kind', message: 'Unsupported value: "Pod": expected VirtualMachine, VirtualMachineInstance, PersistentVolumeClaim or one of VirtualMachineInstancetype, VirtualMachineClusterInstancetype, VirtualMachinePreference, VirtualMachineClusterPreference' },
  ]);
  assert.deepEqual(refused('metadata:\n  name: p\n'), [{ path: 'kind', message: 'Required value: expected VirtualMachine, VirtualMachineInstance, PersistentVolumeClaim or one of VirtualMachineInstancetype, VirtualMachineClusterInstancetype, VirtualMachinePreference, VirtualMachineClusterPreference' }]);
});

test('errors of several documents are reported together, each naming its document', () => {
  const text = `kind: Pod\n---\n${VMI_DOC}---\n${VMI_DOC.replace('kubevirt.io/v1', 'kubevirt.io/v9')}`;
  assert.deepEqual(refused(text), [
    { path: 'kind', message: 'Unsupported value: "Pod" (document 1): expected VirtualMachine, VirtualMachineInstance, PersistentVolumeClaim or one of VirtualMachineInstancetype, VirtualMachineClusterInstancetype, VirtualMachinePreference, VirtualMachineClusterPreference' },
    { path: 'apiVersion', message: 'Unsupported value: "kubevirt.io/v9" (document 3): supported values: "kubevirt.io/v1"' },
  ]);
});

test('YAML syntax errors give line and column', () => {
  const text = 'kind: VirtualMachine\nmetadata:\n  name: x\n   bad: indent\nspec: {}\n';
  const fields = refused(text);
  assert.ok(fields.length >= 1);
  assert.equal(fields[0]!.path, 'line 3, column 9');
  assert.equal(fields[0]!.message, 'Nested mappings are not allowed in compact mappings');
  assert.doesNotMatch(fields[0]!.message, /line \d+/);

  assert.deepEqual(refused('kind: VirtualMachine\nkind: VirtualMachineInstance\n'), [{ path: 'line 2, column 1', message: 'Map keys must be unique: "kind" is repeated' }]);
  const flow = refused('kind: VirtualMachine\nspec: [1, 2\n');
  assert.match(flow[0]!.path, /^line \d+, column \d+$/);
});

test('a document that is not an object is refused', () => {
  assert.deepEqual(refused('- a\n- b\n'), [{ path: 'document 1', message: 'must be an object (got ["a","b"])' }]);
  assert.deepEqual(refused(`${VMI_DOC}---\njust text\n`), [{ path: 'document 2', message: 'must be an object (got "just text")' }]);
});

test('status is dropped on input', () => {
  const { objects } = parseManifests(`${VMI_DOC}status:\n  phase: Running\n`);
  assert.equal('status' in objects[0]!, false);
});

test('an alias bomb or an alias without anchor is refused naming its document, not thrown as a ReferenceError', () => {
  // Found by the fuzzer (fuzz-admission.test.ts): the yaml library throws while resolving aliases.
  const levels = ['a0: &a0 [x, y]'];
  for (let i = 1; i <= 4; i++) levels.push(`a${i}: &a${i} [*a${i - 1}, *a${i - 1}]`);
  const bomb = `${VMI_DOC}${levels.join('\n')}\nb: *a3\n`;
  assert.deepEqual(refused(bomb), [{ path: 'document 1', message: 'Excessive alias count indicates a resource exhaustion attack' }]);
  assert.deepEqual(refused(`${VMI_DOC}---\n${bomb}`).map((f) => f.path), ['document 2']);
  assert.deepEqual(refused(`${VMI_DOC}a: *x\n`), [{ path: 'document 1', message: 'Unresolved alias (the anchor must be set before the alias): x' }]);
});

test('an unpaired surrogate escape reads as U+FFFD, as the Kubernetes API server reads it', () => {
  // Found by the fuzzer (fuzz-admission.test.ts): firmware.serial "\ud800" passed Apply
  // and reached QEMU's -smbios as U+FFFD (Node writes argv in UTF-8) while the store kept "\ud800".
  const json = '{"apiVersion":"kubevirt.io/v1","kind":"VirtualMachineInstance","metadata":{"name":"a"},"spec":{"domain":{"firmware":{"serial":"a\\ud800b"},"devices":{"disks":[{"name":"d","serial":"\\udfff"}]}}}}';
  const yaml = `${VMI_DOC.replace('spec: {}', 'spec:')}\n  domain: {firmware: {kernelBoot: {kernelArgs: "x=\\ud800 \\U0001F600 \\ud83d\\ude00"}}}\n`;
  const [fromJson] = parseManifests(json).objects as any[];
  assert.equal(fromJson.spec.domain.firmware.serial, 'a\ufffdb');
  assert.equal(fromJson.spec.domain.devices.disks[0].serial, '\ufffd');
  const [fromYaml] = parseManifests(yaml).objects as any[];
  assert.equal(fromYaml.spec.domain.firmware.kernelBoot.kernelArgs, 'x=\ufffd 😀 😀');
});

test('YAML 1.1 tags read as the plain list, map or string: never a Map, Set, Buffer or Date', () => {
  // Found by the fuzzer (fuzz-admission.test.ts): `features: !!omap [{acpi: {enabled: false}}]`
  // read as a Map, whose entries no rule sees: the VMI passed Apply with ACPI on.
  const text = `${VMI_DOC.replace('spec: {}', 'spec:')}
  domain:
    features: !!omap [{acpi: {enabled: false}}]
    devices: {rng: !!set {a: null}}
  hostname: !!binary aGk=
  subdomain: !!timestamp 2001-12-14
`;
  const [o] = parseManifests(text).objects as any[];
  assert.deepEqual(o.spec, { domain: { features: [{ acpi: { enabled: false } }], devices: { rng: { a: null } } }, hostname: 'aGk=', subdomain: '2001-12-14' });
  assert.deepEqual(JSON.parse(JSON.stringify(o)), o);
});

test('thousands of repeated keys: fifty named, the rest counted; the message stays short', () => {
  const text = ['kind: VirtualMachineInstance', 'metadata:', '  labels:', ...Array.from({ length: 5001 }, () => '    a: b')].join('\n');
  let err: unknown;
  try {
    parseManifests(text);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof InvalidSpecError);
  assert.equal(err.fields.length, 51);
  assert.deepEqual(err.fields[0], { path: 'line 5, column 5', message: 'Map keys must be unique: "a" is repeated' });
  assert.deepEqual(err.fields[50], { path: 'manifest', message: '4,950 more keys are repeated' });
});

test('an InvalidSpecError spells out a hundred field errors and counts the rest', () => {
  const fields: FieldError[] = Array.from({ length: 250 }, (_, i) => ({ path: `spec.x[${i}]`, message: 'bad' }));
  const e = new InvalidSpecError(fields);
  assert.equal(e.fields.length, 250);
  assert.match(e.message, /^spec\.x\[0\]: bad; /);
  assert.match(e.message, /spec\.x\[99\]: bad; … and 150 more$/);
  assert.doesNotMatch(e.message, /spec\.x\[100\]/);
});
