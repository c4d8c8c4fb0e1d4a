// Admission of a VirtualMachine or VirtualMachineInstance, as KubeVirt's validating
// webhook does it: every problem is collected with its full field path, then all are
// thrown at once as one InvalidSpecError. Runs on the object as the user wrote it
// (before applyDefaults), and passes unchanged on its defaulted form.

import { InvalidSpecError, type FieldError } from '../errors.js';
import { checkShape, isObject, show } from './shape.js';
import { API_VERSION, KIND_VM, KIND_VMI } from './types.js';
import { validateComputeSpec } from './validate-compute.js';
import { validateDomainFeatures } from './validate-features.js';
import { DEFAULT_VALIDATE_OPTIONS, fail, isSet, obj, REQUIRED, str, unsupportedValue, type Ctx, type Obj, type ValidateOptions } from './validate-context.js';
import { validateLimits } from './validate-limits.js';
import { validateLabelsAndAnnotations, validateObjectMeta } from './validate-meta.js';
import { validateNetworking } from './validate-network.js';
import { validateStorage, type BootOrders } from './validate-storage.js';
import { validateMatchers } from '../instancetype/matcher.js';

export { DEFAULT_VALIDATE_OPTIONS, type ValidateOptions } from './validate-context.js';

export interface ValidationResult {
  /** Accepted but worth telling the user (deprecated or ignored fields), as admission warnings. */
  warnings: string[];
}

export const RUN_STRATEGIES = ['Always', 'RerunOnFailure', 'Manual', 'Halted', 'Once'] as const;

/**
 * Validates a VM or VMI. Throws InvalidSpecError listing every field error; returns
 * the warnings otherwise. Options default to DEFAULT_VALIDATE_OPTIONS.
 */
export function validate(object: unknown, options: Partial<ValidateOptions> = {}): ValidationResult {
  const ctx: Ctx = { opts: { ...DEFAULT_VALIDATE_OPTIONS, ...options }, errors: [], warnings: [] };
  if (!isObject(object)) throw new InvalidSpecError([{ path: '<root>', message: `must be an object (got ${show(object)})` }]);

  const kind = object.kind;
  if (kind !== KIND_VM && kind !== KIND_VMI) {
    throw new InvalidSpecError([
      kind === undefined || kind === null
        ? { path: 'kind', message: REQUIRED }
        : { path: 'kind', message: unsupportedValue(typeof kind === 'string' ? kind : show(kind), [KIND_VM, KIND_VMI]) },
    ]);
  }
  const apiVersion = object.apiVersion;
  if (apiVersion === undefined || apiVersion === null) fail(ctx, 'apiVersion', REQUIRED);
  else if (apiVersion !== API_VERSION) fail(ctx, 'apiVersion', unsupportedValue(String(apiVersion), [API_VERSION]));

  checkShape(object, kind, '', ctx.opts, ctx.errors);
  const metadata = obj(object, 'metadata');
  if (!isSet(object, 'metadata')) fail(ctx, 'metadata.name', REQUIRED);
  else if (metadata) validateObjectMeta(metadata, ctx, kind === KIND_VMI);

  const spec = obj(object, 'spec');
  if (!spec) {
    if (!isSet(object, 'spec')) fail(ctx, 'spec', REQUIRED);
  } else if (kind === KIND_VM) {
    validateVMSpec(spec, ctx);
  } else {
    validateVMISpec(spec, 'spec', ctx);
  }

  if (ctx.errors.length > 0) throw new InvalidSpecError(dedupe(ctx.errors));
  return { warnings: ctx.warnings };
}

function validateVMSpec(spec: Obj, ctx: Ctx): void {
  const running = spec.running;
  const runStrategy = str(spec, 'runStrategy');
  const hasRunning = running !== undefined && running !== null;
  const hasStrategy = isSet(spec, 'runStrategy');
  if (hasRunning && hasStrategy) {
    fail(ctx, 'spec.running', 'Running and RunStrategy are mutually exclusive. Note that Running is deprecated, please use RunStrategy instead');
  } else if (!hasRunning && !hasStrategy) {
    // KubeVirt refuses a VM that says neither (vms-admitter.go validateRunStrategy).
    fail(ctx, 'spec.runStrategy', 'RunStrategy must be specified');
  } else if (hasRunning) {
    ctx.warnings.push('spec.running is deprecated, please use spec.runStrategy instead.');
  }
  if (runStrategy !== undefined && !(RUN_STRATEGIES as readonly string[]).includes(runStrategy)) {
    fail(ctx, 'spec.runStrategy', runStrategy === 'WaitAsReceiver' ? 'not supported yet: WaitAsReceiver (no decentralized live migration)' : `Invalid RunStrategy (${runStrategy})`);
  }

  const template = obj(spec, 'template');
  if (!template) {
    if (!isSet(spec, 'template')) fail(ctx, 'spec.template', REQUIRED);
    return;
  }
  validateLabelsAndAnnotations(obj(template, 'metadata'), 'spec.template.metadata', ctx, true);
  const tspec = obj(template, 'spec');
  if (!tspec) {
    if (!isSet(template, 'spec')) fail(ctx, 'spec.template.spec', REQUIRED);
    return;
  }
  ctx.errors.push(...validateMatchers(spec));
  // With an instance type or preference the template is only half the VMI: the
  // handler expands it (proto/instancetype/expand.ts) and judges the result by
  // these same rules; alone, it may lack memory an instance type will give it.
  if (isSet(spec, 'instancetype') || isSet(spec, 'preference')) return;
  validateVMISpec(tspec, 'spec.template.spec', ctx);
}

/** The rules of a VirtualMachineInstanceSpec found at `p`. */
function validateVMISpec(spec: Obj, p: string, ctx: Ctx): void {
  const bootOrders: BootOrders = new Map();
  validateComputeSpec(spec, p, ctx);
  validateDomainFeatures(spec, p, ctx);
  validateStorage(spec, p, ctx, bootOrders);
  validateNetworking(spec, p, ctx);
  validateLimits(spec, p, ctx);
}

/** One line per distinct problem, even when two rules see the same one. */
function dedupe(errors: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const k = `${e.path}\0${e.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
