// What the node's kernel says about each prepared volume, read by the launcher just
// before it builds the domain: whether the path is a block device, and a block
// device's own sector sizes. Only a lun needs the first (scsi-block passes SCSI
// commands through to a host device) and only blockSize.matchVolume the second.
// The handler makes every volume a file today; the facts are read here, where the
// volume is opened, rather than trusted from the wire.

import { readFileSync, statSync } from 'node:fs';
import type { LaunchContext } from '../../proto/launch.js';

export interface HostVolume {
  blockDevice: boolean;
  /** A block device's logical and physical sector sizes and discard granularity (sysfs queue/). */
  blockSizes?: { logical: number; physical: number; discardGranularity: number };
}

/** Volume name → what the host has there; a volume missing here is taken for a file. */
export type HostVolumes = Readonly<Record<string, HostVolume>>;

export function probeVolumes(ctx: LaunchContext): HostVolumes {
  const out: Record<string, HostVolume> = {};
  for (const [name, v] of Object.entries(ctx.volumes)) {
    let st;
    try {
      st = statSync(v.path);
    } catch {
      continue; // QEMU names the missing file when it opens it
    }
    if (!st.isBlockDevice()) {
      out[name] = { blockDevice: false };
      continue;
    }
    out[name] = { blockDevice: true, ...blockSizes(st.rdev) };
  }
  return out;
}

/** Linux's dev_t: major in bits 8-19 and 32-43, minor in bits 0-7 and 20-31. */
function majorMinor(rdev: number): [number, number] {
  const major = ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
  const minor = (rdev & 0xff) | ((rdev >>> 12) & ~0xff);
  return [major, minor];
}

function blockSizes(rdev: number): Pick<HostVolume, 'blockSizes'> {
  const [major, minor] = majorMinor(rdev);
  const queue = `/sys/dev/block/${major}:${minor}/queue`;
  const read = (f: string): number | undefined => {
    try {
      const n = Number(readFileSync(`${queue}/${f}`, 'utf8').trim());
      return Number.isSafeInteger(n) ? n : undefined;
    } catch {
      return undefined;
    }
  };
  const logical = read('logical_block_size');
  const physical = read('physical_block_size');
  if (!logical && !physical) return {};
  // KubeVirt's getOptimalBlockIOForDevice: a missing size is the other one; a
  // granularity that is not a multiple of the logical size becomes the physical size.
  const l = logical || physical!;
  const p = physical || logical!;
  let discardGranularity = read('discard_granularity') ?? 0;
  if (discardGranularity % l !== 0) discardGranularity = p;
  return { blockSizes: { logical: l, physical: p, discardGranularity } };
}
