// Derives proto/vmi/kubevirt-openapi.ts, the compact KubeVirt schema that admission
// and the conformance checker read, from KubeVirt's published OpenAPI document of a
// named release. swagger.json is ~750 kB, so it is not committed; fetch it, with the
// API's Go types (for the few enums swagger.json leaves out, see GO_ENUMS), and run:
//
//   KV=<a kubevirt/kubevirt git dir>; REL=v1.9.0
//   git --git-dir=$KV show $REL:api/openapi-spec/swagger.json > /tmp/swagger.json
//   git --git-dir=$KV show $REL:staging/src/kubevirt.io/api/core/v1/types.go > /tmp/types.go
//   npx tsc -p tsconfig.json && node dist/test/conformance/derive-fixture.js \
//     --release $REL --commit $(git --git-dir=$KV rev-parse $REL^{commit}) \
//     /tmp/swagger.json /tmp/types.go > proto/vmi/kubevirt-openapi.ts
//
// Only data is taken from KubeVirt: field names, JSON types and enum values.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

/**
 * The kinds virtnode serves (VM, VMI) and those later issues will serve. Kubernetes'
 * own kinds (Secret, ConfigMap, PersistentVolumeClaim) and CDI's DataVolume are not
 * in KubeVirt's swagger.json and so not here.
 */
const ROOTS = [
  'v1.VirtualMachine',
  'v1.VirtualMachineInstance',
  'v1beta1.VirtualMachineInstancetype',
  'v1beta1.VirtualMachineClusterInstancetype',
  'v1beta1.VirtualMachinePreference',
  'v1beta1.VirtualMachineClusterPreference',
  'v1beta1.VirtualMachineSnapshot',
  'v1beta1.VirtualMachineSnapshotContent',
  'v1beta1.VirtualMachineRestore',
];

/**
 * Definitions that swagger.json gives as a bare `type: object` but that hold any JSON
 * object (their Go types marshal themselves). Every other bare object is an empty
 * struct (v1.Rng, v1.InterfaceMasquerade, ...) that takes no fields at all.
 */
const FREE_FORM = new Set([
  'k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1',
  'k8s.io.apimachinery.pkg.runtime.RawExtension',
  'k8s.io.apimachinery.pkg.apis.meta.v1.Patch',
]);

/**
 * String fields whose Go type is a set of constants but which swagger.json lists
 * without `enum` (KubeVirt's Go types carry no +enum marker). Their values are read
 * from types.go: the field's Go type is found in its struct, then that type's constants.
 */
const GO_ENUMS = [
  'v1.VirtualMachineInstanceStatus.phase',
  'v1.VirtualMachineInstancePhaseTransitionTimestamp.phase',
  'v1.VirtualMachineSpec.runStrategy',
  'v1.VirtualMachineStatus.runStrategy',
  'v1.VirtualMachineStatus.printableStatus',
  'v1.VirtualMachineStateChangeRequest.action',
];

interface Schema {
  type?: string | string[];
  format?: string;
  $ref?: string;
  enum?: unknown[];
  items?: Schema;
  additionalProperties?: Schema | boolean;
  properties?: Record<string, Schema>;
}

interface Swagger {
  definitions: Record<string, Schema>;
  paths: Record<string, Record<string, { parameters?: { in?: string; schema?: Schema }[] }>>;
}

function refName(ref: string): string {
  const prefix = '#/definitions/';
  if (!ref.startsWith(prefix)) throw new Error(`unsupported $ref ${ref}`);
  return ref.slice(prefix.length);
}

function enumType(values: unknown[], where: string): string {
  for (const v of values) {
    if (typeof v !== 'string' || v.includes('|')) throw new Error(`${where}: enum value ${JSON.stringify(v)} cannot be written compactly`);
  }
  return `enum:${values.join('|')}`;
}

export class Deriver {
  readonly types = new Map<string, Record<string, string>>();
  readonly #defs: Record<string, Schema>;
  readonly #pending: string[] = [];

  constructor(swagger: Swagger) {
    this.#defs = swagger.definitions;
  }

  /** Adds `name` and every object type it reaches. */
  add(name: string): void {
    this.#want(name);
    for (let next = this.#pending.pop(); next !== undefined; next = this.#pending.pop()) this.#derive(next);
  }

  #want(name: string): void {
    if (!this.types.has(name) && !this.#pending.includes(name)) this.#pending.push(name);
  }

  #derive(name: string): void {
    const def = this.#defs[name];
    if (!def) throw new Error(`swagger.json has no definition ${name}`);
    const fields: Record<string, string> = {};
    for (const [field, schema] of Object.entries(def.properties ?? {})) fields[field] = this.#compact(schema, `${name}.${field}`);
    this.types.set(name, fields);
  }

  /** The compact type of one schema; see the header of the generated module. */
  #compact(s: Schema, where: string): string {
    if (s.$ref !== undefined) return this.#named(refName(s.$ref), where);
    if (s.enum !== undefined) {
      if (s.type !== 'string') throw new Error(`${where}: enum of type ${JSON.stringify(s.type)}`);
      return enumType(s.enum, where);
    }
    if (Array.isArray(s.type)) return unionType(s.type, where);
    switch (s.type) {
      case 'string':
        return s.format === 'int-or-string' ? 'int-or-string' : 'string';
      case 'integer':
      case 'number':
      case 'boolean':
        return s.type;
      case 'array':
        if (!s.items) throw new Error(`${where}: array without items`);
        return `array:${this.#compact(s.items, `${where}[]`)}`;
      case 'object':
        if (s.properties) throw new Error(`${where}: inline object with properties`);
        if (s.additionalProperties === undefined || s.additionalProperties === true) return 'object';
        if (s.additionalProperties === false) throw new Error(`${where}: additionalProperties: false`);
        return `map:${this.#compact(s.additionalProperties, `${where}{}`)}`;
      default:
        throw new Error(`${where}: unsupported schema ${JSON.stringify(s)}`);
    }
  }

  /** A $ref: object types stay references; scalar wrappers (Time, Quantity, ...) are inlined. */
  #named(name: string, where: string): string {
    const def = this.#defs[name];
    if (!def) throw new Error(`${where}: dangling $ref ${name}`);
    if (def.properties || (def.type === 'object' && !FREE_FORM.has(name))) {
      this.#want(name);
      return `ref:${name}`;
    }
    if (FREE_FORM.has(name)) return 'object';
    return this.#compact(def, `${where} (${name})`);
  }

  /** Replaces the type of `Type.field` (a plain string field) with the constants of its Go type. */
  setGoEnum(target: string, typesGo: string): string[] {
    const dot = target.lastIndexOf('.');
    const defName = target.slice(0, dot);
    const field = target.slice(dot + 1);
    const fields = this.types.get(defName);
    if (fields?.[field] !== 'string') throw new Error(`${target}: not a string field of a derived type (${fields?.[field]})`);
    const struct = defName.slice(defName.indexOf('.') + 1);
    const body = new RegExp(`^type ${struct} struct \\{\\n([\\s\\S]*?)^\\}`, 'm').exec(typesGo)?.[1];
    if (!body) throw new Error(`${target}: types.go has no struct ${struct}`);
    const goType = new RegExp(`^\\s*\\w+\\s+\\*?(\\w+)\\s+\`json:"${field}[,"]`, 'm').exec(body)?.[1];
    if (!goType) throw new Error(`${target}: struct ${struct} has no field with json name ${field}`);
    const values = [...typesGo.matchAll(new RegExp(`^\\s*\\w+\\s+${goType}\\s*=\\s*"([^"]*)"`, 'gm'))].map((m) => m[1]!);
    if (values.length === 0) throw new Error(`${target}: types.go has no constants of type ${goType}`);
    fields[field] = enumType(values, target);
    return [goType, ...values];
  }
}

function unionType(types: string[], where: string): string {
  const t = new Set(types.filter((x) => x !== 'null'));
  if (t.size === 1) return [...t][0]!;
  // Quantity is string|integer|number, an IntOrString port string|number.
  if (t.has('string') && (t.has('number') || t.has('integer')) && [...t].every((x) => x === 'string' || x === 'number' || x === 'integer')) return 'string-or-number';
  throw new Error(`${where}: unsupported type list ${JSON.stringify(types)}`);
}

/** apiVersion of each root kind, from the path its create (POST) takes it on. */
export function apiVersions(swagger: Swagger): Map<string, string> {
  const out = new Map<string, string>();
  for (const [path, ops] of Object.entries(swagger.paths)) {
    const body = ops.post?.parameters?.find((p) => p.in === 'body')?.schema?.$ref;
    const m = /^\/apis\/([^/]+)\/([^/]+)\//.exec(path);
    if (body && m) out.set(refName(body), `${m[1]}/${m[2]}`);
  }
  return out;
}

function quote(s: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(s) ? s : `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

function str(s: string): string {
  return `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

export function render(d: Deriver, kinds: [string, { apiVersion: string; type: string }][], meta: { release: string; commit: string; goEnums: string[] }): string {
  const source = `https://github.com/kubevirt/kubevirt/blob/${meta.release}/api/openapi-spec/swagger.json`;
  const names = [...d.types.keys()].sort();
  const fieldCount = names.reduce((n, t) => n + Object.keys(d.types.get(t)!).length, 0);
  const lines = [
    `// KubeVirt's OpenAPI schema (${meta.release}), compacted: every object type reachable`,
    `// from the kinds virtnode serves or will serve, field by field. Generated, do not edit:`,
    `// regenerate with test/conformance/derive-fixture.ts (the command is in its opening comment).`,
    `//`,
    `// Source: ${source}`,
    `// Release ${meta.release}, commit ${meta.commit}; ${names.length} types, ${fieldCount} fields.`,
    `// Enums that swagger.json leaves out, read from staging/src/kubevirt.io/api/core/v1/types.go`,
    `// of the same release:`,
    ...meta.goEnums.map((e) => `//   ${e}`),
    `//`,
    `// Compact types: 'string' | 'integer' | 'number' | 'boolean' | 'int-or-string' |`,
    `// 'string-or-number' (a Quantity) | 'object' (any JSON object) | 'enum:A|B|...' (an`,
    `// empty value is the empty string) | 'array:<type>' | 'map:<type>' (string keys) | 'ref:<type name>'.`,
    ``,
    `export const KUBEVIRT_RELEASE = ${str(meta.release)};`,
    `export const KUBEVIRT_COMMIT = ${str(meta.commit)};`,
    `export const KUBEVIRT_SCHEMA_SOURCE = ${str(source)};`,
    ``,
    `/** Each kind: the apiVersion it is served under and its type below. */`,
    `export const KUBEVIRT_KINDS: Readonly<Record<string, { readonly apiVersion: string; readonly type: string }>> = {`,
    ...kinds.map(([k, v]) => `  ${quote(k)}: { apiVersion: ${str(v.apiVersion)}, type: ${str(v.type)} },`),
    `};`,
    ``,
    `export const KUBEVIRT_OPENAPI: Readonly<Record<string, Readonly<Record<string, string>>>> = {`,
    ...names.map((t) => {
      const fields = Object.entries(d.types.get(t)!).map(([f, ty]) => `${quote(f)}: ${str(ty)}`);
      return `  ${str(t)}: {${fields.length ? ` ${fields.join(', ')} ` : ''}},`;
    }),
    `};`,
    ``,
  ];
  return lines.join('\n');
}

function main(): void {
  const { values, positionals } = parseArgs({
    options: { release: { type: 'string' }, commit: { type: 'string' } },
    allowPositionals: true,
  });
  const [swaggerPath, typesGoPath] = positionals;
  if (!values.release || !values.commit || !swaggerPath || !typesGoPath || positionals.length !== 2) {
    process.stderr.write('usage: derive-fixture --release <tag> --commit <sha> <swagger.json> <types.go>\n');
    process.exit(2);
  }
  const swagger = JSON.parse(readFileSync(swaggerPath, 'utf8')) as Swagger;
  const typesGo = readFileSync(typesGoPath, 'utf8');
  const versions = apiVersions(swagger);
  const d = new Deriver(swagger);
  const kinds: [string, { apiVersion: string; type: string }][] = [];
  for (const root of ROOTS) {
    const apiVersion = versions.get(root);
    if (!apiVersion) throw new Error(`no create path takes ${root}: cannot tell its apiVersion`);
    d.add(root);
    kinds.push([root.slice(root.indexOf('.') + 1), { apiVersion, type: root }]);
  }
  const goEnums = GO_ENUMS.map((target) => {
    const [goType] = d.setGoEnum(target, typesGo);
    return `${target} (${goType})`;
  });
  process.stdout.write(render(d, kinds, { release: values.release, commit: values.commit, goEnums }));
}

// Imported by nothing today; the guard keeps it importable by a test later.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
