// Reads manifests: YAML (one or more '---' separated documents) or JSON text, into
// VirtualMachine and VirtualMachineInstance objects, as `kubectl apply -f` would read
// them, with two indulgences reported as warnings: a missing apiVersion (KubeVirt's
// getting-started VM is often copied without it) and the old v1alpha3 name.
// The objects are not validated here: validate() does that.

import { isScalar, LineCounter, parseAllDocuments, visit, type Document } from 'yaml';
import { InvalidSpecError, type FieldError } from '../errors.js';
import { isObject, show } from './shape.js';
import { API_VERSION, KIND_VM, KIND_VMI, type KubeVirtObject } from './types.js';
import { INSTANCETYPE_API_VERSION, isTemplateKind, TEMPLATE_KINDS, type TemplateObject } from '../instancetype/types.js';
import { KIND_PVC, PVC_API_VERSION, type PersistentVolumeClaim } from '../storage/pvc.js';

/** What Apply takes: VMs and VMIs, instance types and preferences, PersistentVolumeClaims. */
export type ManifestObject = KubeVirtObject | TemplateObject | PersistentVolumeClaim;

const EXPECTED = `expected ${KIND_VM}, ${KIND_VMI}, ${KIND_PVC} or one of ${TEMPLATE_KINDS.join(', ')}`;

export interface ParsedManifests {
  /** One object per non-empty document, in order, apiVersion normalised, status dropped. */
  objects: ManifestObject[];
  warnings: string[];
}

const ALIASES = new Set(['kubevirt.io/v1alpha3']);

/** kube-apiserver's largest request body: a manifest past it is refused unread. */
export const MAX_MANIFEST_BYTES = 3 * 1024 * 1024;

/** Repeated keys named one by one; past these they are counted. */
const DUPLICATES_NAMED = 50;

/**
 * Duplicate keys, found in one pass with a set per map. The yaml library's own check
 * compares every key with every other (quadratic: 20,000 labels took 2.9 s here, and
 * a manifest of 100,000 held the handler for minutes), so it is turned off.
 */
function duplicateKeys(doc: Document.Parsed, lines: LineCounter, errors: FieldError[]): void {
  let repeated = 0;
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const item of map.items) {
        const key = isScalar(item.key) ? item.key.value : item.key;
        if (!seen.has(key)) {
          seen.add(key);
          continue;
        }
        // The first fifty are named; a manifest of 400,000 repeats is counted, not listed.
        if (++repeated > DUPLICATES_NAMED) continue;
        const at = isScalar(item.key) && item.key.range ? lines.linePos(item.key.range[0]) : undefined;
        errors.push({ path: at ? `line ${at.line}, column ${at.col}` : 'manifest', message: `Map keys must be unique: ${show(String(key)).slice(0, 200)} is repeated` });
      }
    },
  });
  if (repeated > DUPLICATES_NAMED) errors.push({ path: 'manifest', message: `${(repeated - DUPLICATES_NAMED).toLocaleString('en-US')} more keys are repeated` });
}

/** A UTF-16 surrogate without its pair: what a "\ud800" escape in JSON or YAML makes. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

/**
 * Every string value with its unpaired surrogates replaced by U+FFFD, in place, as
 * Go's encoding/json (so the Kubernetes API server) reads them: what is judged,
 * stored and given to QEMU is then one string. Left alone, such a string was
 * stored as it is but reached QEMU's argv as U+FFFD (Node writes argv in UTF-8).
 * Keys need nothing: every map key is checked as a
 * name and every other key is an unknown field, so one holding a surrogate is
 * refused. Iterative: a document may nest as deep as the yaml library reads.
 */
function wellFormedStrings(root: object): void {
  const stack: object[] = [root];
  for (let o = stack.pop(); o !== undefined; o = stack.pop()) {
    const record = o as Record<string, unknown>;
    for (const k of Object.keys(record)) {
      const v = record[k];
      if (typeof v === 'string') {
        if (LONE_SURROGATE.test(v)) record[k] = v.replace(LONE_SURROGATES, '\ufffd');
      } else if (typeof v === 'object' && v !== null && !ArrayBuffer.isView(v)) {
        stack.push(v);
      }
    }
  }
}

export function parseManifests(text: string): ParsedManifests {
  const errors: FieldError[] = [];
  const warnings: string[] = [];
  const docs: { index: number; value: Record<string, unknown> }[] = [];

  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_MANIFEST_BYTES) throw new InvalidSpecError([{ path: 'manifest', message: `is ${bytes} bytes; at most ${MAX_MANIFEST_BYTES} (3 MiB, the Kubernetes API server's request limit)` }]);
  const lines = new LineCounter();
  // resolveKnownTags off: YAML 1.1's !!omap, !!set, !!binary and !!timestamp would read
  // as a Map, Set, Buffer or Date, which the rules see as empty objects or nothing
  // (`features: !!omap [{acpi: {enabled: false}}]` passed with ACPI on). Unresolved,
  // a tagged node reads as the list, map or string it is, as Go's YAML reader (and so
  // kubectl) reads such tags: data is JSON, or refused as the wrong type.
  const parsed = parseAllDocuments(text, { uniqueKeys: false, lineCounter: lines, resolveKnownTags: false });
  // A stream that is only a '---' inside a block scalar, or binary junk, is not an array.
  const documents = Array.isArray(parsed) ? parsed : [parsed];
  documents.forEach((doc, i) => {
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const at = e.linePos?.[0];
        const msg = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
        errors.push({ path: at ? `line ${at.line}, column ${at.col}` : `document ${i + 1}`, message: msg });
      }
      return;
    }
    const before = errors.length;
    duplicateKeys(doc, lines, errors);
    if (errors.length > before) return;
    let value: unknown;
    try {
      value = doc.toJS();
    } catch (e) {
      // The yaml library throws here, not in doc.errors, for what only resolving
      // aliases shows: an alias bomb ("billion laughs": "Excessive alias count
      // indicates a resource exhaustion attack") and an alias without its anchor.
      errors.push({ path: `document ${i + 1}`, message: e instanceof Error ? e.message : String(e) });
      return;
    }
    if (value === null || value === undefined) return; // empty document: '---' twice, or comments only
    if (!isObject(value)) {
      errors.push({ path: `document ${i + 1}`, message: `must be an object (got ${show(value)})` });
      return;
    }
    wellFormedStrings(value);
    docs.push({ index: i + 1, value });
  });
  if (errors.length > 0) throw new InvalidSpecError(errors);

  const many = docs.length > 1;
  const objects: ManifestObject[] = [];
  for (const { index, value } of docs) {
    const where = many ? ` (document ${index})` : '';
    const kind = value.kind;
    if (isTemplateKind(kind)) {
      // No indulgence here: instance types came after kubevirt.io/v1alpha3.
      if (value.apiVersion !== INSTANCETYPE_API_VERSION) {
        errors.push({ path: 'apiVersion', message: `Unsupported value: ${show(value.apiVersion)}${where}: supported values: "${INSTANCETYPE_API_VERSION}"` });
        continue;
      }
      const { status: _status, ...rest } = value;
      objects.push(rest as unknown as TemplateObject);
      continue;
    }
    if (kind === KIND_PVC) {
      if (value.apiVersion !== PVC_API_VERSION) {
        errors.push({ path: 'apiVersion', message: `Unsupported value: ${show(value.apiVersion)}${where}: supported values: "${PVC_API_VERSION}"` });
        continue;
      }
      const { status: _status, ...rest } = value;
      objects.push(rest as unknown as PersistentVolumeClaim);
      continue;
    }
    if (kind !== KIND_VM && kind !== KIND_VMI) {
      errors.push({
        path: 'kind',
        message: kind === undefined || kind === null ? `Required value${where}: ${EXPECTED}` : `Unsupported value: ${show(kind)}${where}: ${EXPECTED}`,
      });
      continue;
    }
    const name = isObject(value.metadata) && typeof value.metadata.name === 'string' ? ` ${value.metadata.name}` : '';
    const apiVersion = value.apiVersion;
    if (apiVersion === undefined || apiVersion === null || apiVersion === '') {
      warnings.push(`${kind}${name}${where}: apiVersion is missing, assuming ${API_VERSION} (kubectl would refuse this manifest)`);
    } else if (typeof apiVersion === 'string' && ALIASES.has(apiVersion)) {
      warnings.push(`${kind}${name}${where}: apiVersion ${apiVersion} is deprecated, read as ${API_VERSION}`);
    } else if (apiVersion !== API_VERSION) {
      errors.push({ path: 'apiVersion', message: `Unsupported value: ${show(apiVersion)}${where}: supported values: "${API_VERSION}"` });
      continue;
    }
    // Status is the server's; one read from a saved `get -o yaml` is dropped unread.
    const { status: _status, ...rest } = value;
    objects.push({ ...rest, apiVersion: API_VERSION } as unknown as KubeVirtObject);
  }
  if (errors.length > 0) throw new InvalidSpecError(errors);
  return { objects, warnings };
}
