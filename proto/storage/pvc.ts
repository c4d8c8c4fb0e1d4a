// core/v1 PersistentVolumeClaim: the part of Kubernetes' object and of its API
// server's validation (ValidatePersistentVolumeClaim) that a standalone node needs.
// The handler provisions each claim itself (handler/storage/), as a local CSI
// driver with CDI's filesystem layout would: one sparse disk.img per claim.

import { InvalidSpecError, type FieldError } from '../errors.js';
import { isDNS1123Subdomain } from '../vmi/k8s-names.js';
import { quantityValue, tryParseQuantity } from '../vmi/quantity.js';
import { isObject } from '../vmi/shape.js';
import type { ObjectMeta } from '../vmi/types.js';
import { validateLabelsAndAnnotations } from '../vmi/validate-meta.js';
import { DEFAULT_VALIDATE_OPTIONS, type Ctx } from '../vmi/validate-context.js';

export const KIND_PVC = 'PersistentVolumeClaim';
export const PVC_API_VERSION = 'v1';

export const ACCESS_MODES = ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'] as const;
export const VOLUME_MODES = ['Filesystem', 'Block'] as const;
export type VolumeMode = (typeof VOLUME_MODES)[number];

/** Kubernetes' finalizer that keeps a claim a pod (here: a VMI) uses until it is let go. */
export const PVC_PROTECTION_FINALIZER = 'kubernetes.io/pvc-protection';

export interface PersistentVolumeClaim {
  apiVersion: string;
  kind: typeof KIND_PVC;
  metadata: ObjectMeta & { finalizers?: string[] };
  spec: {
    accessModes: string[];
    resources: { requests: { storage: string }; limits?: Record<string, string> };
    volumeMode?: VolumeMode;
    storageClassName?: string;
    volumeName?: string;
  };
  status?: {
    phase: 'Pending' | 'Bound' | 'Lost';
    accessModes?: string[];
    capacity?: { storage: string };
    conditions?: { type: string; status: string; message?: string; lastTransitionTime?: string }[];
  };
}

const SPEC_FIELDS = new Set(['accessModes', 'resources', 'volumeMode', 'storageClassName', 'volumeName', 'selector', 'dataSource', 'dataSourceRef', 'volumeAttributesClassName']);
const UNSUPPORTED = new Set(['selector', 'dataSource', 'dataSourceRef', 'volumeAttributesClassName']);

/** The byte count of a claim's `resources.requests.storage` (validated). */
export function requestedBytes(pvc: PersistentVolumeClaim): bigint {
  const q = tryParseQuantity(pvc.spec.resources.requests.storage);
  if (!q) throw new InvalidSpecError([{ path: 'spec.resources.requests.storage', message: 'not a quantity' }]);
  return quantityValue(q);
}

/**
 * Validates a PersistentVolumeClaim as written (the API server's create rules);
 * `storageClass`: the node's one class, any other is accepted with a warning.
 */
export function validatePvc(o: unknown, storageClass = 'local'): { warnings: string[] } {
  const ctx: Ctx = { opts: { ...DEFAULT_VALIDATE_OPTIONS }, errors: [], warnings: [] };
  const fail = (path: string, message: string): void => void ctx.errors.push({ path, message });
  if (!isObject(o)) throw new InvalidSpecError([{ path: '<root>', message: 'must be an object' }]);
  const meta = isObject(o.metadata) ? o.metadata : undefined;
  const name = typeof meta?.name === 'string' ? meta.name : '';
  if (!name) fail('metadata.name', 'Required value');
  else for (const m of isDNS1123Subdomain(name)) fail('metadata.name', `Invalid value: ${JSON.stringify(name)}: ${m}`);
  if (meta) validateLabelsAndAnnotations(meta, 'metadata', ctx, false);
  if (meta?.namespace !== undefined) {
    if (typeof meta.namespace !== 'string') fail('metadata.namespace', 'must be a string');
    else if (meta.namespace !== '') for (const m of isDNS1123Subdomain(meta.namespace)) fail('metadata.namespace', `Invalid value: ${JSON.stringify(meta.namespace)}: ${m}`);
  }
  for (const k of Object.keys(o)) if (!['apiVersion', 'kind', 'metadata', 'spec'].includes(k)) fail(k, 'unknown field');
  const spec = isObject(o.spec) ? o.spec : undefined;
  if (!spec) {
    fail('spec', 'Required value');
    throw new InvalidSpecError(ctx.errors);
  }
  for (const k of Object.keys(spec)) {
    if (!SPEC_FIELDS.has(k)) fail(`spec.${k}`, 'unknown field');
    else if (UNSUPPORTED.has(k)) fail(`spec.${k}`, 'not supported yet: standalone virtnode provisions empty claims only');
  }
  const modes = spec.accessModes;
  if (!Array.isArray(modes) || modes.length === 0) fail('spec.accessModes', 'Required value: at least 1 access mode is required');
  else {
    modes.forEach((m, i) => {
      if (!(ACCESS_MODES as readonly unknown[]).includes(m)) fail(`spec.accessModes[${i}]`, `Unsupported value: ${JSON.stringify(m)}: supported values: ${ACCESS_MODES.map((a) => `"${a}"`).join(', ')}`);
    });
    if (modes.includes('ReadWriteOncePod') && modes.length > 1) fail('spec.accessModes', 'may not use ReadWriteOncePod with other access modes');
  }
  const resources = isObject(spec.resources) ? spec.resources : undefined;
  const requests = isObject(resources?.requests) ? resources.requests : undefined;
  const storage = requests?.storage;
  if (storage === undefined) fail('spec.resources[storage]', 'Required value');
  else {
    const q = tryParseQuantity(storage);
    if (!q) fail('spec.resources.requests[storage]', `Invalid value: ${JSON.stringify(storage)}: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`);
    else if (quantityValue(q) <= 0n) fail('spec.resources.requests[storage]', `Invalid value: ${JSON.stringify(storage)}: must be greater than zero`);
  }
  const mode = spec.volumeMode;
  if (mode !== undefined && !(VOLUME_MODES as readonly unknown[]).includes(mode)) fail('spec.volumeMode', `Unsupported value: ${JSON.stringify(mode)}: supported values: "Block", "Filesystem"`);
  else if (mode === 'Block') fail('spec.volumeMode', 'not supported yet: standalone virtnode provisions Filesystem claims (a disk.img) only; Block (a loop device) is to come');
  const sc = spec.storageClassName;
  if (sc !== undefined && typeof sc !== 'string') fail('spec.storageClassName', 'must be a string');
  else if (typeof sc === 'string' && sc !== '' && sc !== storageClass) ctx.warnings.push(`PersistentVolumeClaim ${name}: storageClassName ${JSON.stringify(sc)} is not this node's; it is provisioned by the node's own class ${JSON.stringify(storageClass)}`);
  if (spec.volumeName !== undefined && typeof spec.volumeName !== 'string') fail('spec.volumeName', 'must be a string');
  if (ctx.errors.length) throw new InvalidSpecError(ctx.errors);
  return { warnings: ctx.warnings };
}

/** Defaults of the API server: volumeMode Filesystem, and the pvc-protection finalizer its admission adds. Status is the handler's: dropped. */
export function defaultPvc(o: PersistentVolumeClaim): PersistentVolumeClaim {
  const { status: _s, ...rest } = o;
  const finalizers = [...new Set([...(o.metadata.finalizers ?? []), PVC_PROTECTION_FINALIZER])];
  return { ...rest, apiVersion: PVC_API_VERSION, metadata: { ...o.metadata, finalizers }, spec: { ...o.spec, volumeMode: o.spec.volumeMode ?? 'Filesystem' } };
}

/**
 * An update of a stored claim: only the storage request may change, and only grow
 * (Kubernetes: "spec is immutable after creation except resources.requests ...",
 * "field can not be less than previous value").
 */
export function validatePvcUpdate(next: PersistentVolumeClaim, cur: PersistentVolumeClaim): FieldError[] {
  const errors: FieldError[] = [];
  const { resources: _a, ...a } = next.spec;
  const { resources: _b, ...b } = cur.spec;
  const norm = (s: Record<string, unknown>): string => JSON.stringify(Object.keys(s).sort().map((k) => [k, s[k]]));
  if (norm(a) !== norm(b)) errors.push({ path: 'spec', message: 'Forbidden: spec is immutable after creation except resources.requests for bound claims' });
  if (requestedBytes(next) < requestedBytes(cur)) errors.push({ path: 'spec.resources.requests.storage', message: `Forbidden: field can not be less than previous value (${cur.spec.resources.requests.storage})` });
  return errors;
}

export type { FieldError };
