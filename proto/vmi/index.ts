// The kubevirt.io/v1 VM/VMI schema shared by the handler and the launcher:
// read manifests, validate as KubeVirt's admission webhook does, apply KubeVirt's
// defaults, make a VM's VMI, and read sizes out of a spec.
//
// The order the handler follows, as KubeVirt does on create:
//   const { objects, warnings } = parseManifests(text);
//   for (const o of objects) { warnings.push(...validate(o, opts).warnings); store(applyDefaults(o, opts)); }

export * from './types.js';
export { parseManifests, type ParsedManifests } from './manifest.js';
export { validate, RUN_STRATEGIES, DEFAULT_VALIDATE_OPTIONS, type ValidateOptions, type ValidationResult } from './validate.js';
export {
  applyDefaults,
  defaultPullPolicy,
  DEFAULT_MACHINE_TYPE,
  DEFAULT_NAMESPACE,
  DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS,
  type DefaultsOptions,
} from './defaults.js';
export { vmiFromVM, stableFirmwareUUID, uuidV5, VM_GENERATION_ANNOTATION } from './vm.js';
export {
  parseQuantity,
  tryParseQuantity,
  quantityToBytes,
  quantityToMillis,
  quantityValue,
  quantityMilliValue,
  compareQuantities,
  type ParsedQuantity,
  type QuantityFormat,
} from './quantity.js';
export { guestMemoryBytes, cpuTopology, vcpuCount, type CpuTopology } from './resources.js';
export { parseImageReference, type ImageReference } from './image-ref.js';
export { GATE_MESSAGES, type GateOptions } from './schema.js';
