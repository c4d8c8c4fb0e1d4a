// What virtnode knows of a VMI that kubevirt.io/v1 has no status field for, kept
// where Kubernetes keeps such facts: annotations under virtnode.io/, written by the
// handler (never taken from a manifest) and the same in both modes. A real API
// server with KubeVirt's structural CRDs would prune unknown status fields.

import type { ObjectMeta } from './types.js';

export const ANNOTATION_PREFIX = 'virtnode.io/';
/** Where the guest really runs: "kvm" or "tcg". */
export const ACCELERATOR_ANNOTATION = 'virtnode.io/accelerator';
/** Process ids on the node (KubeVirt names pods instead). */
export const LAUNCHER_PID_ANNOTATION = 'virtnode.io/launcher-pid';
export const QEMU_PID_ANNOTATION = 'virtnode.io/qemu-pid';

type Meta = Pick<ObjectMeta, 'annotations'>;

export function vmiAccelerator(o: { metadata: Meta }): 'kvm' | 'tcg' | undefined {
  const v = o.metadata.annotations?.[ACCELERATOR_ANNOTATION];
  return v === 'kvm' || v === 'tcg' ? v : undefined;
}

export function launcherPid(o: { metadata: Meta }): number | undefined {
  return pid(o.metadata.annotations?.[LAUNCHER_PID_ANNOTATION]);
}

export function qemuPid(o: { metadata: Meta }): number | undefined {
  return pid(o.metadata.annotations?.[QEMU_PID_ANNOTATION]);
}

/** Sets (or, with undefined, removes) one of the handler's annotations. */
export function setAnnotation(meta: Meta, key: string, value: string | number | undefined): void {
  if (value === undefined) {
    if (meta.annotations) delete meta.annotations[key];
    return;
  }
  (meta.annotations ??= {})[key] = String(value);
}

/**
 * The handler's annotations of `current` carried over to `next`, whose own
 * virtnode.io/ ones (from a manifest) are dropped: only the handler writes them.
 */
export function keepHandlerAnnotations(next: Record<string, string> | undefined, current: Record<string, string> | undefined): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(next ?? {})) if (!k.startsWith(ANNOTATION_PREFIX)) out[k] = v;
  for (const [k, v] of Object.entries(current ?? {})) if (k.startsWith(ANNOTATION_PREFIX)) out[k] = v;
  return Object.keys(out).length || next ? out : undefined;
}

function pid(v: string | undefined): number | undefined {
  const n = Number(v);
  return v !== undefined && Number.isSafeInteger(n) && n > 0 ? n : undefined;
}
