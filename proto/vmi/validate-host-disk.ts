// The hostDisk volume source: KubeVirt's rules (vmi-create-admitter.go) in its
// words, plus what virtnode needs to open the file safely. What only a node can
// judge (its host disk roots, whether the file exists and is a regular file, who
// else holds it) is the handler's checkHostDisks, at Apply and again at start.

import { posix } from 'node:path';
import { alignedImageBytes } from './devices.js';
import { quantityToBytes } from './quantity.js';
import { fail, isSet, quantity, quote, REQUIRED, str, type Ctx, type Obj } from './validate-context.js';

export const HOST_DISK_TYPES = ['Disk', 'DiskOrCreate'] as const;
export type HostDiskType = (typeof HOST_DISK_TYPES)[number];

/** The largest file DiskOrCreate makes (4 PiB): a size Node's ftruncate takes exactly. */
export const MAX_HOST_DISK_BYTES = 1n << 52n;

/** Why `path` cannot name a hostDisk file, or undefined when its form is fine. */
export function hostDiskPathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return 'must be an absolute path';
  if (path.includes('\0')) return 'must not contain a NUL character';
  if (path.split('/').includes('..')) return "must not contain '..': a hostDisk stays beneath its host disk root";
  if (path === '/') return 'must not point to root';
  if (posix.normalize(path) !== path || path.endsWith('/')) return 'must be an absolute path to a file without relative components';
  return undefined;
}

/** `hostDisk` of the volume at `vp` (spec.volumes[i]). */
export function validateHostDisk(hostDisk: Obj, vp: string, volumeName: string, ctx: Ctx): void {
  const hp = `${vp}.hostDisk`;
  const path = str(hostDisk, 'path');
  if (path === undefined || path === '') {
    if (!isSet(hostDisk, 'path') || path === '') fail(ctx, `${hp}.path`, `${hp}.path is required for hostDisk volume`);
  } else {
    const problem = hostDiskPathProblem(path);
    if (problem) fail(ctx, `${hp}.path`, problem);
  }

  const type = str(hostDisk, 'type');
  if (type === undefined && isSet(hostDisk, 'type')) return; // the wrong JSON type: shape.ts said so
  if (!(HOST_DISK_TYPES as readonly (string | undefined)[]).includes(type)) {
    fail(ctx, `${hp}.type`, `${hp}.type has invalid value '${type ?? ''}', allowed are '${HOST_DISK_TYPES[0]}' or '${HOST_DISK_TYPES[1]}'`);
    return;
  }

  const cp = `${hp}.capacity`;
  const cap = quantity(hostDisk, 'capacity', cp);
  if (type === 'Disk') {
    // The file exists and has its size: a capacity could only disagree with it.
    if (cap && cap.q.num !== 0n) fail(ctx, cp, `${cp} is allowed to pass only with ${hp}.type equal to 'DiskOrCreate'`);
    return;
  }
  if (!isSet(hostDisk, 'capacity')) {
    fail(ctx, cp, REQUIRED);
    return;
  }
  if (!cap) return; // not a quantity: shape.ts said so
  if (cap.q.num <= 0n) {
    fail(ctx, cp, `${quote(cap.q.text)} must be greater than 0`);
    return;
  }
  const bytes = alignedImageBytes(quantityToBytes(cap.q.text, cp));
  if (bytes === 0n) fail(ctx, cp, `${quote(cap.q.text)} is smaller than 1Mi: volume ${quote(volumeName)} would be an empty disk (sizes are aligned down to 1Mi)`);
  else if (bytes > MAX_HOST_DISK_BYTES) fail(ctx, cp, `${quote(cap.q.text)} must be at most 4Pi, the largest file virtnode makes`);
}
