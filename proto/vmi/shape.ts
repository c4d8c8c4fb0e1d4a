// Strict decoding: walks an object against virtnode's field table (schema.ts) and
// KubeVirt's own schema (kubevirt-openapi.ts, derived from its swagger.json), and
// reports, by full path, every field that is unknown to KubeVirt, known to KubeVirt
// but not implemented here, or of the wrong JSON type. The semantic rules
// (validate-*.ts) run after it and skip any value of the wrong type, so each mistake
// is told once.

import type { FieldError } from '../errors.js';
import { kubevirtFieldType, kubevirtKind, referencedType } from './kubevirt-schema.js';
import { notAQuantity, tryParseQuantity } from './quantity.js';
import { GATE_MESSAGES, RESOURCE_NAMES, SCHEMA, type FieldKind, type GateOptions, type Leaf } from './schema.js';

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The path of member `key` below `path`. A key that is no field name (empty, or
 * holding '.', '[' or a space: only an unknown field can be one) is shown quoted,
 * `spec[""]`, so the path still names it and cannot pass for another.
 */
function join(path: string, key: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(key)) return `${path}[${JSON.stringify(key)}]`;
  return path ? `${path}.${key}` : key;
}

/** Shows a value in a message the way kubectl does: JSON. */
export function show(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}

/** Reports every shape problem of `value`, a `kind` object (VirtualMachine or VirtualMachineInstance). */
export function checkShape(value: unknown, kind: string, path: string, gates: GateOptions, errors: FieldError[]): void {
  const k = kubevirtKind(kind);
  if (!k) throw new Error(`KubeVirt's schema has no kind ${kind}`);
  checkObject(value, kind, k.type, path, gates, errors);
}

/**
 * `value` is of schema.ts type `type` and KubeVirt type `kvType`. A name schema.ts
 * lists is checked as it says; any other name is "not supported yet" when KubeVirt's
 * type has it, and "unknown field" (kubectl's strict decoding words) when it does not.
 */
function checkObject(value: unknown, type: string, kvType: string, path: string, gates: GateOptions, errors: FieldError[]): void {
  const fields = SCHEMA[type];
  if (!fields) throw new Error(`schema has no type ${type}`);
  if (!isObject(value)) {
    errors.push({ path: path || '<root>', message: `must be an object (got ${show(value)})` });
    return;
  }
  for (const [key, v] of Object.entries(value)) {
    const kind = Object.hasOwn(fields, key) ? fields[key] : undefined;
    const kvField = kubevirtFieldType(kvType, key);
    const p = join(path, key);
    if (!kind && kvField === undefined) {
      errors.push({ path: p, message: 'unknown field' });
      continue;
    }
    // JSON null is "unset" for every optional field, as in Kubernetes' decoding
    // (and so is undefined, which a JavaScript caller may leave in an object).
    if (v === null || v === undefined) continue;
    if (!kind) errors.push({ path: p, message: 'not supported yet' });
    else checkField(v, kind, kvField, p, gates, errors);
  }
}

function checkField(v: unknown, kind: FieldKind, kvField: string | undefined, path: string, gates: GateOptions, errors: FieldError[]): void {
  if ('ignored' in kind) return;
  if ('no' in kind) {
    errors.push({ path, message: kind.why });
    return;
  }
  if ('gone' in kind) {
    errors.push({ path, message: kind.gone });
    return;
  }
  if ('leaf' in kind) {
    checkLeaf(v, kind.leaf, path, errors);
    return;
  }
  // schema.ts and the fixture agree on every object type (a unit test walks both).
  const kvType = kvField === undefined ? undefined : referencedType(kvField);
  if (!kvType) throw new Error(`${path}: KubeVirt's schema has no object type here (${kvField})`);
  if ('obj' in kind) {
    checkObject(v, kind.obj, kvType, path, gates, errors);
    return;
  }
  if (!Array.isArray(v)) {
    errors.push({ path, message: `must be a list (got ${show(v)})` });
    return;
  }
  v.forEach((item, i) => {
    const p = `${path}[${i}]`;
    if (kind.gate && !gates[kind.gate]) errors.push({ path: p, message: GATE_MESSAGES[kind.gate] });
    else checkObject(item, kind.list, kvType, p, gates, errors);
  });
}

function checkLeaf(v: unknown, leaf: Leaf, path: string, errors: FieldError[]): void {
  switch (leaf) {
    case 'string':
      if (typeof v !== 'string') errors.push({ path, message: `must be a string (got ${show(v)})` });
      return;
    case 'bool':
      if (typeof v !== 'boolean') errors.push({ path, message: `must be a boolean (got ${show(v)})` });
      return;
    case 'int':
      if (!Number.isSafeInteger(v)) errors.push({ path, message: `must be an integer (got ${show(v)})` });
      return;
    case 'quantity':
      if (!tryParseQuantity(v)) errors.push({ path, message: notAQuantity(v) });
      return;
    case 'stringMap':
      if (!isObject(v)) {
        errors.push({ path, message: `must be a map of strings (got ${show(v)})` });
        return;
      }
      for (const [k, s] of Object.entries(v)) {
        if (typeof s !== 'string') errors.push({ path: `${path}[${k}]`, message: `must be a string (got ${show(s)})` });
      }
      return;
    case 'resourceList':
      if (!isObject(v)) {
        errors.push({ path, message: `must be a map of quantities (got ${show(v)})` });
        return;
      }
      for (const [k, q] of Object.entries(v)) {
        if (!(RESOURCE_NAMES as readonly string[]).includes(k)) errors.push({ path: `${path}[${k}]`, message: 'not supported yet' });
        else if (q !== null && !tryParseQuantity(q)) errors.push({ path: `${path}.${k}`, message: notAQuantity(q) });
      }
      return;
  }
}
