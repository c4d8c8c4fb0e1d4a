// Conformance to KubeVirt's published schema: walks an object against the generated
// fixture (kubevirt-openapi.ts) and reports, by full path, every field KubeVirt's
// type does not have, every value of the wrong JSON type and every value outside an
// enum. It says nothing about what virtnode supports (that is admission's job): it
// answers "would a KubeVirt client read this object as we meant it?", which is what
// the e2e suite asks of everything the API and `virtnode get -o json` return.

import type { FieldError } from '../errors.js';
import { kubevirtFields, kubevirtKind } from './kubevirt-schema.js';
import { isObject, show } from './shape.js';
import { REQUIRED, unsupportedValue } from './validate-context.js';

/**
 * Every conformance problem of `object`, a `kind` object (VirtualMachine,
 * VirtualMachineInstance, ...), with its path. Throws for a kind KubeVirt does not define.
 */
export function checkConformance(kind: string, object: unknown): FieldError[] {
  const k = kubevirtKind(kind);
  if (!k) throw new Error(`KubeVirt's schema has no kind ${kind}`);
  if (!isObject(object)) return [{ path: '<root>', message: `must be an object (got ${show(object)})` }];
  const errors: FieldError[] = [];
  // A KubeVirt client picks the Go type by these two, so they are checked, not just typed.
  for (const [field, want] of [['apiVersion', k.apiVersion], ['kind', kind]] as const) {
    const v = object[field];
    if (v === undefined || v === null) errors.push({ path: field, message: REQUIRED });
    else if (v !== want) errors.push({ path: field, message: unsupportedValue(typeof v === 'string' ? v : show(v), [want]) });
  }
  checkObject(object, k.type, '', errors);
  return errors;
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function checkObject(o: Record<string, unknown>, type: string, path: string, errors: FieldError[]): void {
  const fields = kubevirtFields(type);
  for (const [key, v] of Object.entries(o)) {
    const p = join(path, key);
    const compact = Object.hasOwn(fields, key) ? fields[key] : undefined;
    if (compact === undefined) errors.push({ path: p, message: 'unknown field' });
    // JSON null is "unset" to Go's decoder, and Go's encoder writes it for a nil
    // pointer, slice or map without omitempty (creationTimestamp: null is common).
    else if (v !== null && v !== undefined) checkValue(v, compact, p, errors);
  }
}

/** Checks one value against a compact type (grammar in kubevirt-openapi.ts's header). */
function checkValue(v: unknown, compact: string, path: string, errors: FieldError[]): void {
  const bad = (what: string): void => void errors.push({ path, message: `must be ${what} (got ${show(v)})` });
  if (compact.startsWith('ref:')) {
    if (isObject(v)) checkObject(v, compact.slice('ref:'.length), path, errors);
    else bad('an object');
    return;
  }
  if (compact.startsWith('array:')) {
    if (!Array.isArray(v)) return bad('a list');
    const items = compact.slice('array:'.length);
    v.forEach((item, i) => checkValue(item, items, `${path}[${i}]`, errors));
    return;
  }
  if (compact.startsWith('map:')) {
    if (!isObject(v)) return bad('a map');
    const values = compact.slice('map:'.length);
    for (const [k, item] of Object.entries(v)) checkValue(item, values, `${path}[${k}]`, errors);
    return;
  }
  if (compact.startsWith('enum:')) {
    const allowed = compact.slice('enum:'.length).split('|');
    if (typeof v !== 'string') bad('a string');
    else if (!allowed.includes(v)) errors.push({ path, message: unsupportedValue(v, allowed) });
    return;
  }
  switch (compact) {
    case 'string':
      if (typeof v !== 'string') bad('a string');
      return;
    case 'boolean':
      if (typeof v !== 'boolean') bad('a boolean');
      return;
    case 'integer':
      if (!Number.isInteger(v)) bad('an integer');
      return;
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v)) bad('a number');
      return;
    case 'int-or-string':
      if (typeof v !== 'string' && !Number.isInteger(v)) bad('an integer or a string');
      return;
    case 'string-or-number':
      if (typeof v !== 'string' && !(typeof v === 'number' && Number.isFinite(v))) bad('a string or a number');
      return;
    case 'object':
      if (!isObject(v)) bad('an object');
      return;
    default:
      throw new Error(`${path}: unknown compact type ${compact} in the KubeVirt fixture`);
  }
}
