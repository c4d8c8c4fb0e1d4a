// The e2e suite's check that what virtnode returns is what KubeVirt would return:
// every object the API and `virtnode get -o json` give back goes through here.

import { AssertionError } from 'node:assert';
import type { FieldError } from '../../proto/errors.js';
import { checkConformance } from '../../proto/vmi/conformance.js';
import { KUBEVIRT_RELEASE } from '../../proto/vmi/kubevirt-schema.js';

/** The problems of `obj`, a `kind` object or a `v1` List of them (as `get -o json` prints several). */
export function conformanceErrors(kind: string, obj: unknown): FieldError[] {
  const o = obj as { apiVersion?: unknown; kind?: unknown; items?: unknown } | null;
  if (o?.kind !== 'List') return checkConformance(kind, obj);
  const errors: FieldError[] = [];
  if (o.apiVersion !== 'v1') errors.push({ path: 'apiVersion', message: `must be "v1" in a List (got ${JSON.stringify(o.apiVersion)})` });
  for (const key of Object.keys(o)) if (!['apiVersion', 'kind', 'metadata', 'items'].includes(key)) errors.push({ path: key, message: 'unknown field' });
  if (!Array.isArray(o.items)) return [...errors, { path: 'items', message: `must be a list (got ${JSON.stringify(o.items)})` }];
  o.items.forEach((item, i) => {
    for (const e of checkConformance(kind, item)) errors.push({ path: e.path === '<root>' ? `items[${i}]` : `items[${i}].${e.path}`, message: e.message });
  });
  return errors;
}

/** How many objects this process has checked, by kind (the e2e files print it). */
export const checked = new Map<string, number>();

/** Throws an AssertionError naming every path of `obj` that KubeVirt's schema refuses. */
export function assertConformsToKubeVirt(kind: string, obj: unknown): void {
  const errors = conformanceErrors(kind, obj);
  checked.set(kind, (checked.get(kind) ?? 0) + 1);
  if (errors.length === 0) return;
  const name = (obj as { metadata?: { name?: unknown } } | null)?.metadata?.name;
  throw new AssertionError({
    message: `${kind}${typeof name === 'string' ? ` ${name}` : ''} does not conform to KubeVirt ${KUBEVIRT_RELEASE}'s schema:\n${errors.map((e) => `  ${e.path}: ${e.message}`).join('\n')}`,
    actual: errors,
    expected: [],
    operator: 'conformsToKubeVirt',
  });
}
