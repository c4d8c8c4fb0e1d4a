// Lookups in the generated KubeVirt schema (kubevirt-openapi.ts), shared by admission
// (shape.ts: is a field name KubeVirt's at all?) and the conformance checker
// (conformance.ts: is a whole object what KubeVirt would accept and write?).

import { KUBEVIRT_KINDS, KUBEVIRT_OPENAPI } from './kubevirt-openapi.js';

export { KUBEVIRT_RELEASE } from './kubevirt-openapi.js';

/** The apiVersion and KubeVirt type name of `kind`, or undefined for a kind KubeVirt does not define. */
export function kubevirtKind(kind: string): { readonly apiVersion: string; readonly type: string } | undefined {
  return Object.hasOwn(KUBEVIRT_KINDS, kind) ? KUBEVIRT_KINDS[kind] : undefined;
}

/** The fields of KubeVirt type `type`; throws for a name the fixture does not hold (a caller's bug). */
export function kubevirtFields(type: string): Readonly<Record<string, string>> {
  const fields = Object.hasOwn(KUBEVIRT_OPENAPI, type) ? KUBEVIRT_OPENAPI[type] : undefined;
  if (!fields) throw new Error(`KubeVirt's schema has no type ${type}`);
  return fields;
}

/** The compact type of `field` of KubeVirt type `type`, or undefined when KubeVirt's type has no such field. */
export function kubevirtFieldType(type: string, field: string): string | undefined {
  const fields = kubevirtFields(type);
  return Object.hasOwn(fields, field) ? fields[field] : undefined;
}

/** The object type a field holds, itself or as list items: 'ref:T' and 'array:ref:T' give T. */
export function referencedType(compact: string): string | undefined {
  const t = compact.startsWith('array:') ? compact.slice('array:'.length) : compact;
  return t.startsWith('ref:') ? t.slice('ref:'.length) : undefined;
}
