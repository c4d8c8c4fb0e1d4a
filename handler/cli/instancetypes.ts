// `virtnode get instancetypes|preferences|controllerrevisions` (and KubeVirt's
// resource names for each kind): the instance types and preferences this node
// knows — the common ones that come with the handler and any applied — as tables.

import type { UnaryClient } from './unary.js';
import { age, table } from './format.js';
import type { ListResponse__Output } from '../../proto/generated/virtnode/handler/v1/ListResponse.js';
import type { Object__Output } from '../../proto/generated/virtnode/handler/v1/Object.js';
import type { ControllerRevision, InstancetypeObject, PreferenceObject, TemplateObject } from '../../proto/instancetype/types.js';

const IT = 'VirtualMachineInstancetype';
const CIT = 'VirtualMachineClusterInstancetype';
const PREF = 'VirtualMachinePreference';
const CPREF = 'VirtualMachineClusterPreference';
const CR = 'ControllerRevision';

const WORDS: [RegExp, string[]][] = [
  [/^instancetypes?$/, [CIT, IT]],
  [/^preferences?$/, [CPREF, PREF]],
  [/^(virtualmachineclusterinstancetypes?|vmclusterinstancetypes?|vmcfs?)$/, [CIT]],
  [/^(virtualmachineinstancetypes?|vminstancetypes?|vmfs?)$/, [IT]],
  [/^(virtualmachineclusterpreferences?|vmclusterprefs?|vmcps?)$/, [CPREF]],
  [/^(virtualmachinepreferences?|vmprefs?|vmps?)$/, [PREF]],
  [/^controllerrevisions?$/, [CR]],
];

/** The kinds a `get` word names, or undefined when it is no instance type word. */
export function templateKinds(word: string): string[] | undefined {
  const w = word.toLowerCase();
  return WORDS.find(([re]) => re.test(w))?.[1];
}

type Listed = TemplateObject | ControllerRevision;

export async function getTemplates(c: UnaryClient, kinds: string[], name: string | undefined, output: string | undefined, ns: string, allNs: boolean, out: (s: string) => void): Promise<number> {
  const objs: Listed[] = [];
  let missing: unknown;
  for (const kind of kinds) {
    if (name) {
      // `get instancetype u1.small` asks each kind; only none having it is an error.
      try {
        const o = await c.call<unknown, Object__Output>('Get', { kind, namespace: ns, name });
        objs.push(JSON.parse(o.json) as Listed);
      } catch (e) {
        missing = e;
      }
    } else {
      const l = await c.call<unknown, ListResponse__Output>('List', { kind, namespace: allNs ? '' : ns });
      objs.push(...l.objects.map((o) => JSON.parse(o.json) as Listed));
    }
  }
  if (name && objs.length === 0) throw missing;
  if (output === 'json' || output === 'yaml') {
    const value = name && objs.length === 1 ? objs[0] : { apiVersion: 'v1', kind: 'List', items: objs };
    if (output === 'json') out(JSON.stringify(value, null, 2) + '\n');
    else out((await import('yaml')).stringify(value));
    return 0;
  }
  if (objs.length === 0) {
    out(`No resources found${allNs ? '' : ` in ${ns} namespace`}.\n`);
    return 0;
  }
  out(rows(objs, kinds.length > 1, allNs));
  return 0;
}

const VENDOR = 'instancetype.kubevirt.io/vendor';

function rows(objs: Listed[], showKind: boolean, allNs: boolean): string {
  const first = objs[0]!;
  const head = [...(showKind ? ['KIND'] : []), ...(allNs ? ['NAMESPACE'] : [])];
  const lead = (o: Listed): string[] => [...(showKind ? [o.kind] : []), ...(allNs ? [o.metadata.namespace ?? ''] : [])];
  if (first.kind === CR) {
    return table([...head, 'NAME', 'OBJECT', 'GENERATION', 'AGE'], (objs as ControllerRevision[]).map((r) => [...lead(r), r.metadata.name, `${r.data?.kind}/${r.data?.metadata?.name}`, String(r.data?.metadata?.generation ?? ''), age(r.metadata.creationTimestamp)]));
  }
  if (first.kind === IT || first.kind === CIT) {
    return table([...head, 'NAME', 'CPU', 'MEMORY', 'VENDOR', 'AGE'], (objs as InstancetypeObject[]).map((o) => [...lead(o), o.metadata.name, String(o.spec.cpu?.guest ?? ''), String(o.spec.memory?.guest ?? ''), o.metadata.labels?.[VENDOR] ?? '', age(o.metadata.creationTimestamp)]));
  }
  return table([...head, 'NAME', 'OS', 'MIN-CPU', 'MIN-MEMORY', 'VENDOR', 'AGE'], (objs as PreferenceObject[]).map((o) => [
    ...lead(o),
    o.metadata.name,
    o.spec.annotations?.['vm.kubevirt.io/os'] ?? '',
    String(o.spec.requirements?.cpu?.guest ?? ''),
    String(o.spec.requirements?.memory?.guest ?? ''),
    o.metadata.labels?.[VENDOR] ?? '',
    age(o.metadata.creationTimestamp),
  ]));
}
