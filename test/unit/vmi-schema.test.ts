// virtnode's field table (schema.ts) against KubeVirt's schema (kubevirt-openapi.ts):
// every name it lists must be a field of the KubeVirt type at the same place, of a
// matching type, so a typo in schema.ts cannot make a real field "unknown" or
// invent one KubeVirt does not have.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KUBEVIRT_OPENAPI, KUBEVIRT_RELEASE } from '../../proto/vmi/kubevirt-openapi.js';
import { kubevirtKind, referencedType } from '../../proto/vmi/kubevirt-schema.js';
import { SCHEMA, type Leaf } from '../../proto/vmi/schema.js';
import { assertRejected, specOf, vm, vmi } from './vmi-fixtures.js';

/** The compact KubeVirt types each schema.ts leaf may stand for. */
const LEAF_TYPES: Record<Leaf, (compact: string) => boolean> = {
  string: (c) => c === 'string' || c.startsWith('enum:'),
  bool: (c) => c === 'boolean',
  int: (c) => c === 'integer',
  quantity: (c) => c === 'string-or-number',
  stringMap: (c) => c === 'map:string',
  resourceList: (c) => c === 'map:string-or-number',
};

/** Walks schema.ts from `type` beside KubeVirt's `kvType`; returns the problems and records each pair met. */
function compare(type: string, kvType: string, path: string, pairs: Map<string, Set<string>>, problems: string[]): void {
  const met = pairs.get(type) ?? new Set<string>();
  if (met.has(kvType)) return;
  pairs.set(type, met.add(kvType));
  const kv = KUBEVIRT_OPENAPI[kvType]!;
  for (const [field, kind] of Object.entries(SCHEMA[type]!)) {
    const at = `${path}.${field} (schema.ts ${type}, KubeVirt ${kvType})`;
    const compact = Object.hasOwn(kv, field) ? kv[field] : undefined;
    if (compact === undefined) {
      problems.push(`${at}: not a field in KubeVirt ${KUBEVIRT_RELEASE}`);
      continue;
    }
    if ('leaf' in kind) {
      if (!LEAF_TYPES[kind.leaf](compact)) problems.push(`${at}: leaf ${kind.leaf} but KubeVirt says ${compact}`);
    } else if ('obj' in kind || 'list' in kind) {
      const isList = 'list' in kind;
      const ref = referencedType(compact);
      if (!ref || compact.startsWith('array:') !== isList) problems.push(`${at}: ${isList ? 'list' : 'object'} but KubeVirt says ${compact}`);
      else compare(isList ? kind.list : kind.obj, ref, `${path}.${field}${isList ? '[]' : ''}`, pairs, problems);
    }
  }
}

test(`every field schema.ts lists is KubeVirt's, at the same place and of a matching type`, () => {
  const pairs = new Map<string, Set<string>>();
  const problems: string[] = [];
  for (const kind of ['VirtualMachine', 'VirtualMachineInstance']) compare(kind, kubevirtKind(kind)!.type, kind, pairs, problems);
  assert.deepEqual(problems, []);
  // A type schema.ts holds but never reaches is dead, or mis-linked.
  assert.deepEqual(Object.keys(SCHEMA).filter((t) => !pairs.has(t)), []);
  // One schema.ts type may stand for several KubeVirt types only when they agree field for field.
  for (const [type, kvTypes] of pairs) {
    const shapes = new Set([...kvTypes].map((t) => JSON.stringify(KUBEVIRT_OPENAPI[t])));
    assert.equal(shapes.size, 1, `schema.ts ${type} stands for ${[...kvTypes].join(', ')}, which differ`);
  }
});

test("a field KubeVirt has and schema.ts does not list is not supported yet; one it lacks is unknown", () => {
  for (const make of [vm, vmi]) {
    const o = make();
    const p = o.kind === 'VirtualMachine' ? 'spec.template.spec' : 'spec';
    specOf(o).domain.cpu = { cores: 1, realtime: {}, realTime: {}, numa: null };
    o.metadata.ownerReferences = [];
    assertRejected(o, [
      { path: `${p}.domain.cpu.realtime`, message: 'not supported yet' },
      { path: `${p}.domain.cpu.realTime`, message: 'unknown field' },
      { path: 'metadata.ownerReferences', message: 'not supported yet' },
    ]);
  }
});

test('an unknown field whose name is no field name is named quoted: the path is never empty or another field', () => {
  // Found by the fuzzer (fuzz-admission.test.ts): a key "" at the root gave the path "".
  for (const make of [vm, vmi]) {
    const o = make();
    const p = o.kind === 'VirtualMachine' ? 'spec.template.spec' : 'spec';
    o[''] = 1;
    o['metadata.name'] = 'x';
    specOf(o).domain['cpu.cores'] = 2;
    specOf(o).domain['a b'] = {};
    assertRejected(o, [
      { path: '[""]', message: 'unknown field' },
      { path: '["metadata.name"]', message: 'unknown field' },
      { path: `${p}.domain["cpu.cores"]`, message: 'unknown field' },
      { path: `${p}.domain["a b"]`, message: 'unknown field' },
    ]);
  }
});
