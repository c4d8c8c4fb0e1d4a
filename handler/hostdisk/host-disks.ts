// hostDisk volumes: files of the node, beneath the host disk roots its admin
// configured (--host-disk-root), that VMIs use as raw disks. virt-handler's
// pkg/host-disk in KubeVirt; the file is the user's: made once when missing
// (DiskOrCreate), never removed, and kept from two VMs writing it at once.
//
// The safe open. A hostDisk path is the user's string, and what it names can change
// at any moment: a file can be swapped for a symlink to /etc/shadow between Apply,
// preparation and QEMU's open. So no path is ever opened by plain open(2):
//  - Apply (checkHostDisks) and preparation judge the path: beneath a root, no '..',
//    walked by openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) from an O_PATH fd of
//    the root (a symlink leaving the root fails in the kernel), fstat-ed through an
//    O_PATH fd (a regular file: a device or FIFO is never opened), not held writable
//    by another VMI. Preparation creates a missing DiskOrCreate file the same way
//    (O_CREAT|O_EXCL beneath the root, then ftruncate: sparse).
//  - What preparation hands the launcher is the file's identity, not just its path:
//    root, path beneath it, dev and inode (PreparedVolume.hostFile). The handler
//    keeps no fd: an fd of the handler reaches QEMU only through the launcher anyway,
//    and would die with a handler restart, which must not disturb a VM.
//  - The launcher, right before QEMU starts, walks the path again the same way,
//    checks that dev and inode are still the ones prepared, opens that very inode
//    through its O_PATH fd, and QEMU inherits the fd: `-add-fd` puts it in an fdset,
//    and the blockdev's filename is /dev/fdset/N (QEMU's documented way to hand it
//    an opened file). QEMU never walks the user's path, so a swap after the launcher's
//    check cannot matter, and one before it is refused.
// The registry (dev+inode → holders) is what makes "held writable by another VMI"
// mean the same file whatever path or symlink reaches it; it is rebuilt from the
// launch contexts of running VMIs after a handler restart.

import { closeSync, lstatSync, statfsSync, unlinkSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { InvalidSpecError, type FieldError } from '../../proto/errors.js';
import type { HostFile, PreparedVolume } from '../../proto/launch.js';
import { alignedImageBytes } from '../../proto/vmi/devices.js';
import { quantityToBytes } from '../../proto/vmi/quantity.js';
import { hostDiskPathProblem } from '../../proto/vmi/validate-host-disk.js';
import type { HostDisk, VirtualMachineInstance } from '../../proto/vmi/types.js';
import { BeneathError, createSparseBeneath, openRoot, regularFileBeneath, statBeneath, takesDirectIo, type FileIdentity } from '../../native/index.js';

/** Who holds a hostDisk file, and how. */
export interface Holder {
  uid: string;
  namespace: string;
  name: string;
  writable: boolean;
  shared: boolean;
}

/** The VMI asking: a VMI being prepared has its uid; an Apply judges by namespace/name. */
export type Asker = { uid: string } | { namespace: string; name: string };

interface Found {
  volume: string;
  index: number;
  hostDisk: HostDisk;
  writable: boolean;
  shared: boolean;
  root: string;
  rel: string;
  /** The file's identity, or undefined for a DiskOrCreate file still to make. */
  file?: FileIdentity;
}

const FLAG = '--host-disk-root';

export class HostDisks {
  readonly roots: readonly string[];
  /** "dev:ino" → uid → holder. */
  #held = new Map<string, Map<string, Holder & { path: string }>>();
  /** Files this handler made (DiskOrCreate), "dev:ino": a hot-plug undone takes back the file it made. */
  #made = new Set<string>();

  /** `roots`: canonical (config.ts made them so). */
  constructor(roots: readonly string[]) {
    this.roots = [...roots];
  }

  /**
   * What only this node can judge of `vmi`'s hostDisks, as field errors with paths
   * from "spec." (for Apply): roots, existence, the kind of file, other holders.
   */
  check(vmi: VirtualMachineInstance, asker: Asker): FieldError[] {
    const errors: FieldError[] = [];
    this.#judge(vmi, asker, errors);
    return errors;
  }

  /**
   * Judges `vmi`'s hostDisks again (things change between Apply and start), makes
   * each missing DiskOrCreate file, takes the VMI's holds, and returns what the
   * launcher needs per volume. Throws InvalidSpecError naming the fields.
   */
  prepare(vmi: VirtualMachineInstance): Record<string, PreparedVolume> {
    const uid = vmi.metadata.uid!;
    const errors: FieldError[] = [];
    const found = this.#judge(vmi, { uid }, errors);
    if (errors.length) throw new InvalidSpecError(errors);
    const out: Record<string, PreparedVolume> = {};
    for (const f of found) {
      const prepared = this.#prepareOne(vmi, f, errors);
      if (!prepared) break;
      out[f.volume] = prepared;
    }
    if (errors.length) {
      this.release(uid);
      throw new InvalidSpecError(errors);
    }
    return out;
  }

  /**
   * prepare() for one volume of a running VMI (a hot-plug): every hostDisk of `vmi`
   * is judged again (two volumes of one VMI on one file, holders), only `volume`'s
   * file is made when missing and held. A refusal drops no other hold of the VMI.
   */
  prepareVolume(vmi: VirtualMachineInstance, volume: string): PreparedVolume {
    const errors: FieldError[] = [];
    const found = this.#judge(vmi, { uid: vmi.metadata.uid! }, errors);
    const f = found.find((x) => x.volume === volume);
    const mine = errors.filter((e) => e.path.startsWith(`spec.volumes[${(vmi.spec.volumes ?? []).findIndex((v) => v.name === volume)}]`));
    if (mine.length) throw new InvalidSpecError(mine);
    if (!f) throw new InvalidSpecError([{ path: 'spec.volumes', message: `no hostDisk volume named ${JSON.stringify(volume)}` }]);
    const prepared = this.#prepareOne(vmi, f, errors);
    if (!prepared) throw new InvalidSpecError(errors);
    return prepared;
  }

  /** Makes `f`'s file when missing and takes the VMI's hold; undefined (with `errors`) when it cannot. */
  #prepareOne(vmi: VirtualMachineInstance, f: Found, errors: FieldError[]): PreparedVolume | undefined {
    const hp = `spec.volumes[${f.index}].hostDisk`;
    const rootFd = this.#openRoot(f.root, hp, errors);
    if (rootFd === undefined) return undefined;
    try {
      if (!f.file) f.file = this.#create(rootFd, f, hp, errors);
      if (!f.file) return undefined;
      const directIo = takesDirectIo(rootFd, f.rel, f.file);
      const hostFile: HostFile = { root: f.root, path: f.rel, dev: String(f.file.dev), ino: String(f.file.ino) };
      this.#hold(f.file, { uid: vmi.metadata.uid!, namespace: vmi.metadata.namespace ?? 'default', name: vmi.metadata.name, writable: f.writable, shared: f.shared, path: f.hostDisk.path });
      return { path: `${f.root}/${f.rel}`, format: 'raw', ...(directIo ? { directIo } : {}), hostFile };
    } catch (e) {
      errors.push({ path: `${hp}.path`, message: describe(f.hostDisk.path, f.root, e) });
      return undefined;
    } finally {
      closeSync(rootFd);
    }
  }

  /** Drops VMI `uid`'s hold of one file (a hot-plugged volume removed). */
  releaseFile(uid: string, file: HostFile): void {
    const key = keyOf({ dev: BigInt(file.dev), ino: BigInt(file.ino) });
    const holders = this.#held.get(key);
    holders?.delete(uid);
    if (holders?.size === 0) this.#held.delete(key);
  }

  /** Takes the holds of a VMI found running after a handler restart, from its launch context. */
  adopt(vmi: VirtualMachineInstance, volumes: Record<string, PreparedVolume>): void {
    const owner = { uid: vmi.metadata.uid!, namespace: vmi.metadata.namespace ?? 'default', name: vmi.metadata.name };
    const inSpec = new Set<string>();
    for (const [index, v] of (vmi.spec.volumes ?? []).entries()) {
      const file = volumes[v.name]?.hostFile;
      if (!v.hostDisk || !file) continue;
      inSpec.add(v.name);
      const { writable, shared } = useOf(vmi, index);
      this.#hold({ dev: BigInt(file.dev), ino: BigInt(file.ino) }, { ...owner, writable, shared, path: v.hostDisk.path });
    }
    // A hot-plugged volume being removed is gone from the spec but QEMU may hold it still: held as a writer.
    for (const [name, v] of Object.entries(volumes)) {
      if (!v.hostFile || inSpec.has(name)) continue;
      this.#hold({ dev: BigInt(v.hostFile.dev), ino: BigInt(v.hostFile.ino) }, { ...owner, writable: true, shared: false, path: v.path });
    }
  }

  /** Drops every hold of VMI `uid` (its QEMU is gone). */
  release(uid: string): void {
    for (const [key, holders] of this.#held) {
      holders.delete(uid);
      if (holders.size === 0) this.#held.delete(key);
    }
  }

  /** The holders of `file`, for tests and diagnostics. */
  holders(file: FileIdentity): Holder[] {
    return [...(this.#held.get(keyOf(file))?.values() ?? [])].map(({ path: _path, ...h }) => h);
  }

  #hold(file: FileIdentity, h: Holder & { path: string }): void {
    const key = keyOf(file);
    let holders = this.#held.get(key);
    if (!holders) this.#held.set(key, (holders = new Map()));
    holders.set(h.uid, h);
  }

  #judge(vmi: VirtualMachineInstance, asker: Asker, errors: FieldError[]): Found[] {
    const found: Found[] = [];
    for (const [index, v] of (vmi.spec.volumes ?? []).entries()) {
      const hostDisk = v.hostDisk;
      if (!hostDisk) continue;
      const vp = `spec.volumes[${index}]`;
      const pp = `${vp}.hostDisk.path`;
      const path = hostDisk.path;
      if (this.roots.length === 0) {
        // KubeVirt's words for a cluster without its HostDisk feature gate.
        errors.push({ path: vp, message: `HostDisk feature gate is not enabled: this node has no host disk root (${FLAG})` });
        continue;
      }
      const problem = hostDiskPathProblem(path);
      if (problem) {
        errors.push({ path: pp, message: problem });
        continue;
      }
      // The deepest root holding the path: nested roots are each allowed.
      const root = this.roots.filter((r) => path.startsWith(`${r}/`)).sort((a, b) => b.length - a.length)[0];
      if (!root) {
        errors.push({ path: pp, message: `${path} is not under a host disk root of this node (${FLAG})` });
        continue;
      }
      const rel = path.slice(root.length + 1);
      const rootFd = this.#openRoot(root, `${vp}.hostDisk`, errors);
      if (rootFd === undefined) continue;
      const { writable, shared } = useOf(vmi, index);
      const f: Found = { volume: v.name, index, hostDisk, writable, shared, root, rel };
      try {
        f.file = regularFileBeneath(rootFd, rel);
      } catch (e) {
        if (!(e instanceof BeneathError && e.reason === 'missing' && hostDisk.type === 'DiskOrCreate')) {
          errors.push({ path: pp, message: describe(path, root, e, hostDisk.type) });
          continue;
        }
        // To be made: its directory must be there, beneath the root.
        const dirError = directoryProblem(rootFd, rel, path, root);
        if (dirError) {
          errors.push({ path: pp, message: dirError });
          continue;
        }
      } finally {
        closeSync(rootFd);
      }
      if (f.file) {
        const other = this.#conflict(f.file, f, asker);
        if (other) {
          errors.push({ path: pp, message: `${path} is in use by VirtualMachineInstance ${other.namespace}/${other.name}${other.writable ? '' : ' (read-only)'}; two VMIs share a hostDisk only when both set shared: true` });
          continue;
        }
      }
      // Two volumes of one VMI naming the same file would be two writers too.
      const twin = found.find((o) => (o.file && f.file ? keyOf(o.file) === keyOf(f.file) : o.root === f.root && o.rel === f.rel));
      if (twin && (twin.writable || f.writable)) {
        errors.push({ path: pp, message: `${path} is the file of volume ${JSON.stringify(twin.volume)} too` });
        continue;
      }
      found.push(f);
    }
    return found;
  }

  /** Another VMI's hold that `f` may not join: one of them writes, and not both share. */
  #conflict(file: FileIdentity, f: Found, asker: Asker): Holder | undefined {
    for (const h of this.#held.get(keyOf(file))?.values() ?? []) {
      const self = 'uid' in asker ? h.uid === asker.uid : h.namespace === asker.namespace && h.name === asker.name;
      if (self) continue;
      if ((h.writable || f.writable) && !(h.shared && f.shared)) return h;
    }
    return undefined;
  }

  #openRoot(root: string, hp: string, errors: FieldError[]): number | undefined {
    try {
      return openRoot(root);
    } catch (e) {
      errors.push({ path: `${hp}.path`, message: `the host disk root ${root} cannot be used: ${e instanceof Error ? e.message : String(e)}` });
      return undefined;
    }
  }

  /** Makes a DiskOrCreate file: sparse, of the aligned capacity, only where nothing is. */
  #create(rootFd: number, f: Found, hp: string, errors: FieldError[]): FileIdentity | undefined {
    const path = f.hostDisk.path;
    const size = alignedImageBytes(quantityToBytes(f.hostDisk.capacity ?? 0, `${hp}.capacity`));
    // KubeVirt refuses a disk larger than the space left, sparse as it is.
    const fs = statfsSync(f.root, { bigint: true });
    const available = fs.bavail * fs.bsize;
    if (size > available) {
      errors.push({ path: `${hp}.capacity`, message: `unable to create ${path}, not enough space, demanded size ${size} B is bigger than available space ${available} B` });
      return undefined;
    }
    const made = createSparseBeneath(rootFd, f.rel, size);
    this.#made.add(keyOf(made));
    return made;
  }

  /**
   * Removes `file` when this handler made it (DiskOrCreate) and no VMI holds it: a
   * hot-plug undone before the guest ever had the disk leaves no file it made. The
   * file is named through an O_PATH fd of its directory beneath the root and must
   * still be that inode; any other file is left alone. True when removed.
   */
  discardMade(file: HostFile): boolean {
    const id = { dev: BigInt(file.dev), ino: BigInt(file.ino) };
    const key = keyOf(id);
    if (!this.#made.has(key) || (this.#held.get(key)?.size ?? 0) > 0) return false;
    const fds: number[] = [];
    try {
      const rootFd = openRoot(file.root);
      fds.push(rootFd);
      const dir = dirname(file.path);
      const dirFd = dir === '.' ? rootFd : statBeneath(rootFd, dir).fd;
      if (dirFd !== rootFd) fds.push(dirFd);
      const p = `/proc/self/fd/${dirFd}/${basename(file.path)}`;
      const st = lstatSync(p, { bigint: true });
      if (!st.isFile() || st.dev !== id.dev || st.ino !== id.ino) return false;
      unlinkSync(p);
      this.#made.delete(key);
      return true;
    } catch {
      return false;
    } finally {
      for (const fd of fds) closeSync(fd);
    }
  }
}

/** Whether the disk of volume `index` writes, and whether its hostDisk is shared. */
function useOf(vmi: VirtualMachineInstance, index: number): { writable: boolean; shared: boolean } {
  const v = vmi.spec.volumes![index]!;
  const disk = (vmi.spec.domain.devices.disks ?? []).find((d) => d.name === v.name);
  return { writable: disk?.disk?.readonly !== true, shared: v.hostDisk?.shared === true };
}

function keyOf(f: FileIdentity): string {
  return `${f.dev}:${f.ino}`;
}

function directoryProblem(rootFd: number, rel: string, path: string, root: string): string | undefined {
  const dir = dirname(rel);
  if (dir === '.') return undefined;
  try {
    const { fd, st } = statBeneath(rootFd, dir);
    closeSync(fd);
    if (!st.isDirectory()) return `${dirname(path)} is not a directory`;
    return undefined;
  } catch (e) {
    if (e instanceof BeneathError && e.reason === 'missing') return `directory ${dirname(path)} does not exist (DiskOrCreate makes the file, not its directory)`;
    return describe(dirname(path), root, e);
  }
}

/** A refusal of the safe open, in the user's terms. */
export function describe(path: string, root: string, e: unknown, type?: HostDisk['type']): string {
  if (!(e instanceof BeneathError)) return `${path} cannot be opened: ${e instanceof Error ? e.message : String(e)}`;
  const detail = e.message.slice(e.message.indexOf(': ') + 2);
  switch (e.reason) {
    case 'outside':
      return `${path} leads out of the host disk root ${root} (a symbolic link on its way points outside it)`;
    case 'magic-link':
      return `${path} goes through a /proc magic link or a symbolic link loop`;
    case 'missing':
      return type === 'Disk' ? `${path} does not exist (type Disk needs an existing file; DiskOrCreate makes one)` : `${path} ${detail}`;
    case 'not-regular':
    case 'changed':
    case 'exists':
      return `${path} ${detail}`;
    default:
      return `${path} cannot be opened: ${detail}`;
  }
}
