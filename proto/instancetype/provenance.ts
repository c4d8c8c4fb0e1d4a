// Which instance type or preference field put each value into an expanded VM, so
// that whatever the VMI's validation then refuses there is told by the field the
// user can change ("VirtualMachineClusterInstancetype cx1.medium sets
// spec.cpu.dedicatedCPUPlacement ... not supported yet"), not by a template field
// the user never wrote.

import type { FieldError } from '../errors.js';

export interface Source {
  /** spec.instancetype or spec.preference: the VM field that named the object. */
  matcher: 'spec.instancetype' | 'spec.preference';
  /** "VirtualMachineClusterInstancetype u1.small". */
  object: string;
  /** The object's field, e.g. spec.cpu.guest. */
  field: string;
}

/** Paths in the VM (spec.template.spec.domain.cpu.cores) to the field that set them. */
export class Provenance {
  readonly #by = new Map<string, Source>();

  set(path: string, source: Source): void {
    this.#by.set(path, source);
  }

  get size(): number {
    return this.#by.size;
  }

  /**
   * The source of `path` or of the nearest set path above it. (An object made only
   * to hold preferred values, features.hyperv or domain.clock, is marked itself
   * where it is made, since a refusal may name it whole.)
   */
  sourceOf(path: string): { path: string; source: Source } | undefined {
    for (let p = path; p; p = parent(p)) {
      const s = this.#by.get(p);
      if (s) return { path: p, source: s };
    }
    return undefined;
  }

  /**
   * An error at a path an instance type or preference set is told as that
   * object's field, under the matcher that named it; others stay as they are.
   */
  attribute(e: FieldError): FieldError {
    const found = this.sourceOf(e.path);
    if (!found) return e;
    const { source } = found;
    return { path: source.matcher, message: `${source.object} sets ${source.field} (as ${e.path}): ${e.message}` };
  }
}

/** "a.b[2].c" → "a.b[2]" → "a.b" → "a" → "". */
function parent(p: string): string {
  const dot = p.lastIndexOf('.');
  const bracket = p.lastIndexOf('[');
  const cut = Math.max(dot, bracket);
  return cut <= 0 ? '' : p.slice(0, cut);
}
