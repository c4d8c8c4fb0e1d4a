// metadata rules: what the Kubernetes API server checks on every object (name,
// namespace, label and annotation syntax) plus KubeVirt's reserved VMI labels.

import { isDNS1123Label, isDNS1123Subdomain, isQualifiedName, isValidLabelValue } from './k8s-names.js';
import { fail, obj, REQUIRED, str, type Ctx, type Obj } from './validate-context.js';

// Labels only KubeVirt's own service accounts may set on a VMI (vmi-create-admitter.go).
const RESERVED_VMI_LABELS = new Set([
  'kubevirt.io/created-by',
  'kubevirt.io/migrationJobUID',
  'kubevirt.io/nodeName',
  'kubevirt.io/migrationTargetNodeName',
  'kubevirt.io/schedulable',
  'kubevirt.io/install-strategy',
]);

// Kubernetes' TotalAnnotationSizeLimitB.
const ANNOTATIONS_MAX_BYTES = 256 * 1024;

function invalid(value: string, msg: string): string {
  return `Invalid value: ${JSON.stringify(value)}: ${msg}`;
}

/** An object's own metadata: name (DNS-1123 subdomain, as for every custom resource), namespace (label). */
export function validateObjectMeta(meta: Obj | undefined, ctx: Ctx, reserveVmiLabels: boolean): void {
  const name = str(meta, 'name');
  if (!name) {
    if (meta?.name === undefined || meta.name === null || meta.name === '') fail(ctx, 'metadata.name', REQUIRED);
  } else {
    for (const msg of isDNS1123Subdomain(name)) fail(ctx, 'metadata.name', invalid(name, msg));
  }
  const ns = str(meta, 'namespace');
  if (ns !== undefined && ns !== '') {
    for (const msg of isDNS1123Label(ns)) fail(ctx, 'metadata.namespace', invalid(ns, msg));
  }
  validateLabelsAndAnnotations(meta, 'metadata', ctx, reserveVmiLabels);
}

/** labels and annotations of `meta` found at `path` (metadata, or spec.template.metadata). */
export function validateLabelsAndAnnotations(meta: Obj | undefined, path: string, ctx: Ctx, reserveVmiLabels: boolean): void {
  const labels = obj(meta, 'labels');
  if (labels) {
    validateLabels(labels, `${path}.labels`, ctx);
    if (reserveVmiLabels) {
      const reserved = Object.keys(labels).filter((k) => RESERVED_VMI_LABELS.has(k));
      if (reserved.length > 0) {
        fail(ctx, `${path}.labels`, `creation of the following reserved kubevirt.io/ labels on a VMI object is prohibited: ${reserved.join(', ')}`);
      }
    }
  }
  const annotations = obj(meta, 'annotations');
  if (annotations) validateAnnotations(annotations, `${path}.annotations`, ctx);
}

/** Label keys are qualified names, values at most 63 characters of the same alphabet. */
export function validateLabels(labels: Obj, path: string, ctx: Ctx): void {
  for (const [k, v] of Object.entries(labels)) {
    for (const msg of isQualifiedName(k)) fail(ctx, path, invalid(k, msg));
    if (typeof v === 'string') for (const msg of isValidLabelValue(v)) fail(ctx, path, invalid(v, msg));
  }
}

/** Annotation keys are qualified names (checked lower-cased, as Kubernetes does); values are free, 256 KiB in all. */
export function validateAnnotations(annotations: Obj, path: string, ctx: Ctx): void {
  let bytes = 0;
  for (const [k, v] of Object.entries(annotations)) {
    for (const msg of isQualifiedName(k.toLowerCase())) fail(ctx, path, invalid(k, msg));
    bytes += Buffer.byteLength(k) + (typeof v === 'string' ? Buffer.byteLength(v) : 0);
  }
  if (bytes > ANNOTATIONS_MAX_BYTES) fail(ctx, path, `Too long: must have at most ${ANNOTATIONS_MAX_BYTES} bytes`);
}
