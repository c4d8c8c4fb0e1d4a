// What admission can judge from a manifest alone, without the node: read it, then
// validate and default every object, keeping each object's field errors under its
// place in the manifest ("[1] VirtualMachine vm-a: spec..."). A pure function of the
// text, so the handler can run it off its event loop (handler/api/manifest-reader.ts);
// what only the node can judge (its pod network, the stored objects) comes after.

import { InvalidSpecError, type FieldError } from '../errors.js';
import { applyDefaults } from './defaults.js';
import { parseManifests, type ManifestObject } from './manifest.js';
import { validate, type ValidateOptions } from './validate.js';
import { isTemplateKind, type TemplateObject } from '../instancetype/types.js';
import { defaultTemplateObject, validateTemplateObject } from '../instancetype/validate.js';
import { defaultPvc, KIND_PVC, validatePvc, type PersistentVolumeClaim } from '../storage/pvc.js';

export interface JudgedObject {
  /** "[i] <kind> <name>: " in a manifest of several objects, else "". */
  prefix: string;
  /** Validated and defaulted, when `errors` is empty. */
  object?: ManifestObject;
  errors: FieldError[];
}

export interface JudgedManifest {
  objects: JudgedObject[];
  warnings: string[];
}

/** Throws InvalidSpecError for a manifest that cannot be read at all; field errors stay per object. */
export function judgeManifest(text: string, options: Partial<ValidateOptions>): JudgedManifest {
  const { objects, warnings } = parseManifests(text);
  if (objects.length === 0) throw new InvalidSpecError([{ path: 'manifest', message: 'no objects found' }]);
  return {
    warnings,
    objects: objects.map((o, i): JudgedObject => {
      const prefix = objects.length > 1 ? `[${i}] ${o.kind} ${o.metadata?.name ?? ''}: ` : '';
      try {
        if (isTemplateKind(o.kind)) {
          warnings.push(...validateTemplateObject(o).warnings.map((w) => `${prefix}${w}`));
          return { prefix, object: defaultTemplateObject(o as TemplateObject), errors: [] };
        }
        if (o.kind === KIND_PVC) {
          warnings.push(...validatePvc(o).warnings.map((w) => `${prefix}${w}`));
          return { prefix, object: defaultPvc(o as PersistentVolumeClaim), errors: [] };
        }
        warnings.push(...validate(o, options).warnings);
        return { prefix, object: applyDefaults(o as Exclude<ManifestObject, TemplateObject | PersistentVolumeClaim>, options), errors: [] };
      } catch (e) {
        if (!(e instanceof InvalidSpecError)) throw e;
        return { prefix, errors: e.fields.map((f) => ({ path: `${prefix}${f.path}`, message: f.message })) };
      }
    }),
  };
}
