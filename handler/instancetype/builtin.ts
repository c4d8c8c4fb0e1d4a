// The common instance types and preferences KubeVirt's virt-operator installs
// (kubevirt/common-instancetypes, data/*.yaml with their source in each header),
// available on every node without being applied. They are not stored: they are a
// read-only layer under the store, so an object of the same kind and name applied
// by the user takes its place (and deleting that brings the common one back), and
// a newer handler brings a newer bundle without rewriting anyone's store.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { uuidV5 } from '../../proto/vmi/vm.js';
import { isTemplateKind, type TemplateKind, type TemplateObject } from '../../proto/instancetype/types.js';

export const BUNDLES = ['common-clusterinstancetypes-bundle.yaml', 'common-clusterpreferences-bundle.yaml'];
/** The label the bundle puts on every object, with its release. */
export const VERSION_LABEL = 'instancetype.kubevirt.io/common-instancetypes-version';
// A fixed namespace for the builtins' uids: one name and bundle version, one uid, on every node.
const UID_NAMESPACE = '3f0e9d4c-2b1a-5c6d-8e7f-0a1b2c3d4e5f';

// Compiled files live in dist/handler/instancetype/; the data stays beside the sources.
const here = dirname(fileURLToPath(import.meta.url));
export const DATA_DIR = here.includes(join('dist', 'handler')) ? join(here, '..', '..', '..', 'handler', 'instancetype', 'data') : join(here, 'data');

let loaded: Map<string, TemplateObject> | undefined;
const loadedAt = new Date().toISOString();

function key(kind: string, name: string): string {
  return `${kind}/${name}`;
}

/** Reads the bundles (once). Throws when a bundle is missing or not what it should be: a broken install, not user input. */
function load(dir = DATA_DIR): Map<string, TemplateObject> {
  const out = new Map<string, TemplateObject>();
  for (const file of BUNDLES) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      const o = doc.toJS() as TemplateObject | null;
      if (!o) continue;
      if (!isTemplateKind(o.kind) || !o.metadata?.name) throw new Error(`${file}: not an instance type or preference: ${JSON.stringify(o).slice(0, 200)}`);
      const version = o.metadata.labels?.[VERSION_LABEL] ?? '';
      o.metadata.uid = uuidV5(UID_NAMESPACE, `${o.kind}/${o.metadata.name}/${version}`);
      o.metadata.generation = 1;
      o.metadata.resourceVersion = '0';
      o.metadata.creationTimestamp = loadedAt;
      out.set(key(o.kind, o.metadata.name), o);
    }
  }
  return out;
}

/** The common object of `kind` named `name`, a copy. Cluster kinds only: the bundles hold no namespaced ones. */
export function builtin(kind: TemplateKind, name: string): TemplateObject | undefined {
  loaded ??= load();
  const o = loaded.get(key(kind, name));
  return o && structuredClone(o);
}

/** Every common object of `kind`, ordered by name. */
export function builtins(kind: TemplateKind): TemplateObject[] {
  loaded ??= load();
  return [...loaded.values()].filter((o) => o.kind === kind).sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1)).map((o) => structuredClone(o));
}
