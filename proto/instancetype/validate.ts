// Admission of an instance type or preference object: KubeVirt's schema (every
// field KubeVirt knows, of its type: conformance.ts), the rules of KubeVirt's
// instancetype and preference webhooks, and the metadata rules of any object.
//
// An instance type may hold fields virtnode cannot honour yet (the common cx1
// series asks for dedicated CPUs and hugepages): it is stored as KubeVirt would
// store it, and a VM that uses it is refused naming that field (expand.ts). So
// that nobody learns this only then, the object's admission warns of each such
// field, found by expanding it onto a plain probe VM.

import { InvalidSpecError, type FieldError } from '../errors.js';
import { checkConformance } from '../vmi/conformance.js';
import { isDNS1123Subdomain } from '../vmi/k8s-names.js';
import { compareQuantities, notAQuantity, tryParseQuantity } from '../vmi/quantity.js';
import type { VirtualMachine } from '../vmi/types.js';
import { validate } from '../vmi/validate.js';
import { validateLabelsAndAnnotations } from '../vmi/validate-meta.js';
import { DEFAULT_VALIDATE_OPTIONS, type Ctx } from '../vmi/validate-context.js';
import { isObj, type Obj } from './apply-instancetype.js';
import { expandVM } from './expand.js';
import { DEPRECATED_TOPOLOGIES, PREFERRED_CPU_TOPOLOGIES, SPREAD_ACROSS } from './topology.js';
import {
  INSTANCETYPE_API_VERSION,
  INSTANCETYPE_KINDS,
  isClusterScoped,
  isTemplateKind,
  type InstancetypeObject,
  type InstancetypeSpec,
  type PreferenceObject,
  type PreferenceSpec,
  type TemplateObject,
} from './types.js';

const ZERO = tryParseQuantity(0)!;

/**
 * Validates an instance type or preference object as written. Throws
 * InvalidSpecError naming every bad field; returns the warnings.
 */
export function validateTemplateObject(o: unknown): { warnings: string[] } {
  if (!isObj(o)) throw new InvalidSpecError([{ path: '<root>', message: 'must be an object' }]);
  const kind = o.kind;
  if (!isTemplateKind(kind)) throw new InvalidSpecError([{ path: 'kind', message: `Unsupported value: ${JSON.stringify(kind)}` }]);
  const ctx: Ctx = { opts: { ...DEFAULT_VALIDATE_OPTIONS }, errors: [], warnings: [] };
  const { status: _status, ...rest } = o;
  ctx.errors.push(...checkConformance(kind, rest));

  const meta = isObj(o.metadata) ? o.metadata : undefined;
  const name = typeof meta?.name === 'string' ? meta.name : '';
  if (!name) ctx.errors.push({ path: 'metadata.name', message: 'Required value' });
  else for (const m of isDNS1123Subdomain(name)) ctx.errors.push({ path: 'metadata.name', message: `Invalid value: ${JSON.stringify(name)}: ${m}` });
  if (meta) validateLabelsAndAnnotations(meta, 'metadata', ctx, false);
  if (isClusterScoped(kind) && typeof meta?.namespace === 'string' && meta.namespace !== '') {
    ctx.warnings.push(`${kind} ${name} is cluster-scoped: metadata.namespace ${meta.namespace} is ignored`);
  }

  const spec = isObj(o.spec) ? o.spec : undefined;
  if (!spec) {
    if (o.spec === undefined || o.spec === null) ctx.errors.push({ path: 'spec', message: 'Required value' });
  } else if ((INSTANCETYPE_KINDS as readonly string[]).includes(kind)) {
    validateInstancetypeSpec(spec, ctx);
  } else {
    validatePreferenceSpec(spec, ctx);
  }
  if (ctx.errors.length) throw new InvalidSpecError(ctx.errors);
  ctx.warnings.push(...supportWarnings(o as unknown as TemplateObject));
  return { warnings: ctx.warnings };
}

function quantityAt(o: Obj | undefined, k: string, path: string, ctx: Ctx, required: boolean): void {
  const v = o?.[k];
  if (v === undefined || v === null) {
    if (required) ctx.errors.push({ path, message: 'Required value' });
    return;
  }
  const q = tryParseQuantity(v);
  if (!q) ctx.errors.push({ path, message: notAQuantity(v) });
  else if (compareQuantities(q, ZERO) <= 0) ctx.errors.push({ path, message: `${JSON.stringify(q.text)} must be greater than 0` });
}

function validateInstancetypeSpec(spec: Obj, ctx: Ctx): void {
  const cpu = isObj(spec.cpu) ? spec.cpu : undefined;
  const memory = isObj(spec.memory) ? spec.memory : undefined;
  if (!cpu) {
    if (spec.cpu == null) ctx.errors.push({ path: 'spec.cpu', message: 'Required value' });
  } else if (cpu.guest == null) {
    ctx.errors.push({ path: 'spec.cpu.guest', message: 'Required value' });
  } else if (Number.isInteger(cpu.guest) && (cpu.guest as number) < 1) {
    ctx.errors.push({ path: 'spec.cpu.guest', message: `must be greater than or equal to 1 (got ${String(cpu.guest)})` });
  }
  if (!memory) {
    if (spec.memory == null) ctx.errors.push({ path: 'spec.memory', message: 'Required value' });
    return;
  }
  quantityAt(memory, 'guest', 'spec.memory.guest', ctx, true);
  quantityAt(memory, 'maxGuest', 'spec.memory.maxGuest', ctx, false);
  const pct = memory.overcommitPercent;
  if (Number.isInteger(pct)) {
    // KubeVirt's webhook: percentValueMustBeInRangeMessagePattern, and no hugepages beside it.
    if ((pct as number) < 0 || (pct as number) > 100) {
      ctx.errors.push({ path: 'spec.memory.overcommitPercent', message: `spec.memory.overcommitPercent '${String(pct)}': must be in range between 0 and 100.` });
    }
    if ((pct as number) > 0 && memory.hugepages != null) {
      ctx.errors.push({ path: 'spec.memory.overcommitPercent', message: 'spec.memory.overcommitPercent and spec.memory.hugepages should not be requested together.' });
    }
  }
}

function validatePreferenceSpec(spec: Obj, ctx: Ctx): void {
  const cpu = isObj(spec.cpu) ? spec.cpu : undefined;
  const topology = cpu?.preferredCPUTopology;
  if (typeof topology === 'string') {
    if (!(PREFERRED_CPU_TOPOLOGIES as readonly string[]).includes(topology)) {
      ctx.errors.push({ path: 'spec.cpu.preferredCPUTopology', message: `unknown preferredCPUTopology ${topology}` });
    } else if (Object.hasOwn(DEPRECATED_TOPOLOGIES, topology)) {
      ctx.warnings.push(`PreferredCPUTopology ${topology} is deprecated for removal in a future release, please use ${DEPRECATED_TOPOLOGIES[topology]} instead`);
    }
  }
  const spread = isObj(cpu?.spreadOptions) ? cpu.spreadOptions : undefined;
  const across = spread?.across;
  if (typeof across === 'string' && !(SPREAD_ACROSS as readonly string[]).includes(across)) {
    ctx.errors.push({ path: 'spec.cpu.spreadOptions.across', message: `across ${across} is not supported` });
  }
  const ratio = spread?.ratio ?? spec.preferSpreadSocketToCoreRatio;
  if (Number.isInteger(ratio) && (ratio as number) < 1) {
    ctx.errors.push({ path: spread?.ratio != null ? 'spec.cpu.spreadOptions.ratio' : 'spec.preferSpreadSocketToCoreRatio', message: `must be greater than or equal to 1 (got ${String(ratio)})` });
  }
  if ((topology === 'spread' || topology === 'preferSpread') && across === 'CoresThreads' && spread?.ratio != null && spread.ratio !== 2) {
    ctx.errors.push({ path: 'spec.cpu.spreadOptions.ratio', message: 'only a ratio of 2 (1 core 2 threads) is allowed when spreading vCPUs over cores and threads' });
  }
  const req = isObj(spec.requirements) ? spec.requirements : undefined;
  const reqCpu = isObj(req?.cpu) ? req.cpu : undefined;
  if (reqCpu && reqCpu.guest == null) ctx.errors.push({ path: 'spec.requirements.cpu.guest', message: 'Required value' });
  const reqMem = isObj(req?.memory) ? req.memory : undefined;
  if (reqMem) quantityAt(reqMem, 'guest', 'spec.requirements.memory.guest', ctx, true);
}

/** A VM as plain as can be, for finding what of an instance type or preference virtnode refuses. */
function probeVM(): VirtualMachine {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name: 'probe', namespace: 'default' },
    spec: {
      runStrategy: 'Halted',
      template: {
        spec: {
          domain: { devices: {} },
          volumes: [{ name: 'disk', containerDisk: { image: 'registry.invalid/probe:1' } }],
        },
      },
    },
  };
}

/** The fields of `o` that a VM using it would be refused for, as warnings. */
export function supportWarnings(o: TemplateObject): string[] {
  const vm = probeVM();
  const name = o.metadata?.name ?? '';
  const t = (INSTANCETYPE_KINDS as readonly string[]).includes(o.kind)
    ? { instancetype: { kind: o.kind as InstancetypeObject['kind'], name, spec: o.spec as InstancetypeSpec } }
    : { preference: { kind: o.kind as PreferenceObject['kind'], name, spec: o.spec as PreferenceSpec } };
  // A preference alone sizes nothing: the probe brings its own memory.
  if (!t.instancetype) vm.spec.template.spec.domain.memory = { guest: '1Gi' };
  let fields: FieldError[];
  try {
    const e = expandVM(vm, t, { podNetworking: true });
    try {
      validate(e.vm, { podNetworking: true });
      return [];
    } catch (err) {
      if (!(err instanceof InvalidSpecError)) throw err;
      fields = err.fields.map((f) => e.provenance.attribute(f));
    }
  } catch (err) {
    if (!(err instanceof InvalidSpecError)) throw err;
    fields = err.fields;
  }
  const own = fields.filter((f) => f.path === 'spec.instancetype' || f.path === 'spec.preference');
  return [...new Set(own.map((f) => `${f.message}; a VirtualMachine using it will be refused`))];
}

export { INSTANCETYPE_API_VERSION };

const SERVER_SET_META = ['creationTimestamp', 'resourceVersion', 'generation', 'managedFields', 'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'uid'];

/** A validated instance type or preference as it is stored: no server-set metadata, the namespace only where it has one. */
export function defaultTemplateObject<T extends TemplateObject>(o: T): T {
  const c = structuredClone(o);
  const meta = c.metadata as unknown as Record<string, unknown>;
  for (const k of SERVER_SET_META) delete meta[k];
  if (isClusterScoped(c.kind)) delete meta.namespace;
  else c.metadata.namespace ||= 'default';
  return c;
}
