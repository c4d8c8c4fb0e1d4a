// PersistentVolumeClaims in standalone mode: the handler plays a local CSI driver
// with CDI's layout for filesystem claims. Each claim is one directory of the
// storage dir, <namespace>/pvc-<uid>/, holding a sparse disk.img of the requested
// size (KubeVirt's disk for a filesystem PVC), made when the claim is applied and
// grown when its request grows (while no VMI holds it; else at the VMI's next start).
//
// A VMI's claim is handed to QEMU exactly as a hostDisk file is (hostdisk/host-disks.ts:
// vetted by identity, opened by the launcher beneath the storage dir, inherited as an
// fd), through a HostDisks of its own whose one root is the storage dir: the same
// holder registry keeps a ReadWriteOnce claim to one writing VMI, and is rebuilt after
// a handler restart from the launch contexts of running VMIs. The storage dir is never
// a host disk root, so no hostDisk path reaches a claim's file.
//
// kubernetes.io/pvc-protection: a claim a VMI uses is not removed on Delete; it
// is marked deleted and goes when the last VMI using it is gone.

import { closeSync, fstatSync, ftruncateSync, mkdirSync, openSync, realpathSync, rmSync, statfsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { InvalidSpecError, type FieldError } from '../../proto/errors.js';
import type { PreparedVolume } from '../../proto/launch.js';
import { KIND_PVC, PVC_PROTECTION_FINALIZER, requestedBytes, type PersistentVolumeClaim } from '../../proto/storage/pvc.js';
import { KIND_VMI, type VirtualMachineInstance, type Volume } from '../../proto/vmi/types.js';
import { isFinalPhase } from '../controller/vmi-phase.js';
import { HostDisks } from '../hostdisk/host-disks.js';
import type { Change, Store } from '../store/store.js';

/** The node's one storage class: any other a claim names is accepted with a warning. */
export const STORAGE_CLASS = 'local';

/** A claim's disk is a whole number of 512-byte sectors (what a block device shows). */
function diskBytes(pvc: PersistentVolumeClaim): bigint {
  return (requestedBytes(pvc) / 512n) * 512n;
}

/** Where a claim is, beneath the storage dir: by uid, so a claim made again under the same name starts empty. */
export function claimDir(pvc: PersistentVolumeClaim): string {
  return `${pvc.metadata.namespace || 'default'}/pvc-${pvc.metadata.uid}`;
}

export function claimDiskPath(pvc: PersistentVolumeClaim): string {
  return `${claimDir(pvc)}/disk.img`;
}

/** The claim a VMI's volume names, in the VMI's namespace. */
function claimOf(vmi: VirtualMachineInstance, v: Volume): { namespace: string; name: string } | undefined {
  return v.persistentVolumeClaim ? { namespace: vmi.metadata.namespace || 'default', name: v.persistentVolumeClaim.claimName } : undefined;
}

function formatBytes(n: bigint): string {
  const gib = Number(n) / 2 ** 30;
  return gib >= 1 ? `${gib.toFixed(2)} GiB` : `${(Number(n) / 2 ** 20).toFixed(1)} MiB`;
}

export class Claims {
  readonly dir: string;
  readonly #store: Store;
  readonly #log: Logger;
  /** Holds of the claims' files by running VMIs (RWO), as for hostDisks. */
  readonly #disks: HostDisks;
  /** Tells a running VMI's QEMU that a volume's file grew (VmiController.resizeVolume); unset: growth reaches it at its next start. */
  resizer?: (namespace: string, name: string, volume: string, sizeBytes: bigint) => Promise<void>;

  /** `dir`: made when missing. */
  constructor(dir: string, store: Store, log: Logger) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.dir = realpathSync(dir);
    this.#store = store;
    this.#log = log;
    this.#disks = new HostDisks([this.dir]);
  }

  /** Provisions what is not yet (after a restart too), removes what waited for its last user; then follows the store. */
  async start(): Promise<void> {
    await this.#syncAll();
    this.#store.on('change', (c: Change) => {
      // A VMI gone lets go of its claims: those deleted meanwhile go, those grown meanwhile grow.
      if (c.kind === KIND_VMI && (c.type === 'DELETED' || isFinalPhase((c.object as VirtualMachineInstance).status?.phase))) void this.#syncAll();
      if (c.kind === KIND_PVC && c.type !== 'DELETED') void this.#sync(c.object as PersistentVolumeClaim).catch((e) => this.#log.error({ err: String(e) }, 'claim sync failed'));
    });
  }

  /**
   * Admission of a claim against the node: the storage dir's free space holds the
   * new disk (or its growth). `pending`: bytes other claims of the same Apply take.
   */
  checkFits(pvc: PersistentVolumeClaim, cur: PersistentVolumeClaim | undefined, pending = 0n): { errors: FieldError[]; bytes: bigint } {
    const want = diskBytes(pvc);
    const have = cur ? diskBytes(cur) : 0n;
    const need = want > have ? want - have : 0n;
    if (need === 0n) return { errors: [], bytes: 0n };
    const fs = statfsSync(this.dir, { bigint: true });
    const free = fs.bavail * fs.bsize;
    if (need + pending <= free) return { errors: [], bytes: need };
    const others = pending > 0n ? ` (${formatBytes(pending)} of it taken by the claims before this one in the manifest)` : '';
    return {
      errors: [{ path: 'spec.resources.requests.storage', message: `${pvc.spec.resources.requests.storage} (${want} bytes${cur ? `, ${need} more than now` : ''}) does not fit: the storage dir ${this.dir} has ${free} bytes (${formatBytes(free)}) free${others}` }],
      bytes: need,
    };
  }

  /** The VMIs (not ended) whose volumes name claim `namespace/name`. */
  users(namespace: string, name: string): VirtualMachineInstance[] {
    return this.#store.list<VirtualMachineInstance>(KIND_VMI, namespace).filter((vmi) => !isFinalPhase(vmi.status?.phase) && (vmi.spec.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === name));
  }

  /**
   * Delete, as with the pvc-protection finalizer: removed now when no VMI uses it,
   * else marked deleted and removed when its last user has gone.
   */
  async delete(namespace: string, name: string): Promise<string> {
    const pvc = this.#store.mustGet<PersistentVolumeClaim>(KIND_PVC, namespace, name);
    const users = this.users(namespace, name);
    if (users.length === 0) {
      await this.#remove(pvc);
      return `persistentvolumeclaim "${name}" deleted`;
    }
    if (!pvc.metadata.deletionTimestamp) {
      await this.#store.mutate<PersistentVolumeClaim>(KIND_PVC, namespace, name, (o) => {
        o.metadata.deletionTimestamp = new Date().toISOString();
      }).durable;
    }
    const who = users.map((u) => u.metadata.name).join(', ');
    return `persistentvolumeclaim "${name}" deleted (waits for ${PVC_PROTECTION_FINALIZER}: in use by VirtualMachineInstance ${who})`;
  }

  /**
   * Why `vmi` cannot start yet, as KubeVirt's virt-controller says it (the VMI waits,
   * Pending): a claim missing, being deleted or not bound. Undefined: all there.
   */
  waiting(vmi: VirtualMachineInstance): string | undefined {
    for (const v of vmi.spec.volumes ?? []) {
      const c = claimOf(vmi, v);
      if (!c) continue;
      const pvc = this.#store.get<PersistentVolumeClaim>(KIND_PVC, c.namespace, c.name);
      if (!pvc) return `PVC ${c.namespace}/${c.name} does not exist, waiting for it to appear`;
      if (pvc.metadata.deletionTimestamp) return `PVC ${c.namespace}/${c.name} is being deleted`;
      if (pvc.status?.phase !== 'Bound') return `PVC ${c.namespace}/${c.name} is not bound yet`;
    }
    return undefined;
  }

  /**
   * The claims' disks of `vmi`, judged and held for it (a ReadWriteOnce claim another
   * VMI writes is refused), grown first to what the claim asks when it grew while
   * in use. Throws InvalidSpecError naming the volume's claimName.
   */
  prepare(vmi: VirtualMachineInstance): Record<string, PreparedVolume> {
    const probe = this.#asHostDisks(vmi, true);
    if (!probe.spec.volumes?.length) return {};
    try {
      return this.#disks.prepare(probe);
    } catch (e) {
      if (!(e instanceof InvalidSpecError)) throw e;
      throw new InvalidSpecError(e.fields.map((f) => this.#inClaimTerms(vmi, f)));
    }
  }

  /** Takes the holds of a VMI found running after a handler restart. */
  adopt(vmi: VirtualMachineInstance, volumes: Record<string, PreparedVolume>): void {
    this.#disks.adopt(this.#asHostDisks(vmi, false, true), volumes);
  }

  /** Drops every hold of VMI `uid` (its QEMU is gone). */
  release(uid: string): void {
    this.#disks.release(uid);
  }

  /** The VMI as HostDisks judges it: each claim a hostDisk of its disk.img, other volumes left out. */
  #asHostDisks(vmi: VirtualMachineInstance, grow = false, lenient = false): VirtualMachineInstance {
    const volumes: Volume[] = [];
    const disks = [];
    for (const v of vmi.spec.volumes ?? []) {
      const c = claimOf(vmi, v);
      const pvc = c && this.#store.get<PersistentVolumeClaim>(KIND_PVC, c.namespace, c.name);
      if (!c || (!pvc && lenient)) continue;
      if (!pvc) throw new InvalidSpecError([{ path: `spec.volumes[${(vmi.spec.volumes ?? []).indexOf(v)}].persistentVolumeClaim.claimName`, message: `PVC ${c.namespace}/${c.name} does not exist` }]);
      if (grow) this.#grow(pvc);
      // One writer whatever the access modes: QEMU locks the file, and two guests writing one raw disk would corrupt it (ReadWriteMany sharing is to come).
      const shared = false;
      volumes.push({ name: v.name, hostDisk: { path: `${this.dir}/${claimDiskPath(pvc)}`, type: 'Disk', shared } });
      const disk = (vmi.spec.domain.devices.disks ?? []).find((d) => d.name === v.name);
      // What the launcher opens read-only (host-files.ts), so a reader's hold is a reader's.
      const readonly = disk?.disk?.readonly === true || v.persistentVolumeClaim?.readOnly === true;
      disks.push({ name: v.name, disk: { ...(disk?.disk ?? {}), readonly } });
    }
    return { ...vmi, spec: { ...vmi.spec, volumes, domain: { ...vmi.spec.domain, devices: { ...vmi.spec.domain.devices, disks } } } };
  }

  #inClaimTerms(vmi: VirtualMachineInstance, f: FieldError): FieldError {
    const m = /^spec\.volumes\[(\d+)\]/.exec(f.path);
    const probeIndex = m ? Number(m[1]) : -1;
    const claimVolumes = (vmi.spec.volumes ?? []).map((v, i) => [v, i] as const).filter(([v]) => v.persistentVolumeClaim);
    const entry = claimVolumes[probeIndex];
    if (!entry) return f;
    const [v, i] = entry;
    const message = f.message.replace(/^\S+ is in use by/, `PersistentVolumeClaim ${v.persistentVolumeClaim!.claimName} is in use by`).replace(/; two VMIs share a hostDisk only when both set shared: true$/, ': a claim has one writing VMI at a time');
    return { path: `spec.volumes[${i}].persistentVolumeClaim.claimName`, message };
  }

  /** Makes a claim's disk when missing, grows it when its request grew and no VMI holds it; status Bound. */
  async #sync(pvc: PersistentVolumeClaim): Promise<void> {
    if (pvc.metadata.deletionTimestamp) {
      if (this.users(pvc.metadata.namespace || 'default', pvc.metadata.name).length === 0) await this.#remove(pvc);
      return;
    }
    const users = this.users(pvc.metadata.namespace || 'default', pvc.metadata.name);
    const held = users.some((u) => u.status?.phase === 'Running' || u.status?.phase === 'Scheduled' || u.status?.phase === 'Scheduling');
    const cur = pvc.status;
    const before = cur?.capacity?.storage;
    // Online expansion: the file grows, then each running user's QEMU is told
    // (block_resize); one that cannot be told sees the new size at its next start.
    const online = held && cur?.phase === 'Bound' && this.resizer !== undefined && users.every((u) => u.status?.phase === 'Running');
    const size = this.#grow(pvc, held && !online);
    if (online && before !== String(size)) {
      try {
        for (const u of users) {
          for (const v of u.spec.volumes ?? []) {
            if (v.persistentVolumeClaim?.claimName === pvc.metadata.name) await this.resizer!(u.metadata.namespace || 'default', u.metadata.name, v.name, size);
          }
        }
      } catch (e) {
        this.#store.recordEvent({ type: 'Warning', reason: 'VolumeResizeFailed', message: `disk.img grown to ${size} bytes; the running VMI could not be told (${e instanceof Error ? e.message : String(e)}): it sees the new size at its next start`, object: pvc });
        return;
      }
    }
    const capacity = String(size);
    if (cur?.phase === 'Bound' && before === capacity) return;
    const { namespace, name } = pvc.metadata;
    await this.#store.mutate<PersistentVolumeClaim>(KIND_PVC, namespace || 'default', name, (o) => {
      if (o.metadata.uid !== pvc.metadata.uid) return false;
      o.status = { phase: 'Bound', accessModes: [...o.spec.accessModes], capacity: { storage: capacity } };
    }).durable;
    if (cur?.phase !== 'Bound') this.#store.recordEvent({ reason: 'ProvisioningSucceeded', message: `Successfully provisioned volume ${claimDir(pvc)} (${capacity} bytes) in ${this.dir}`, object: pvc });
    else this.#store.recordEvent({ reason: 'FileSystemResizeSuccessful', message: `disk.img grown to ${capacity} bytes${online ? ', and the running VMI sees it' : ''}`, object: pvc });
  }

  /** Makes or (unless `keep`) grows the claim's disk.img to its request (sparse: ftruncate); never shrinks it. Its size. */
  #grow(pvc: PersistentVolumeClaim, keep = false): bigint {
    const path = join(this.dir, claimDiskPath(pvc));
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const fd = openSync(path, 'a+', 0o600);
    try {
      const want = diskBytes(pvc);
      const size = fstatSync(fd, { bigint: true }).size;
      if (size < want && !(keep && size > 0n)) {
        ftruncateSync(fd, Number(want));
        this.#log.info({ claim: `${pvc.metadata.namespace}/${pvc.metadata.name}`, bytes: String(want) }, 'claim disk made or grown');
      }
      return fstatSync(fd, { bigint: true }).size;
    } finally {
      closeSync(fd);
    }
  }

  async #remove(pvc: PersistentVolumeClaim): Promise<void> {
    const { namespace, name } = pvc.metadata;
    rmSync(join(this.dir, claimDir(pvc)), { recursive: true, force: true });
    const cur = this.#store.get<PersistentVolumeClaim>(KIND_PVC, namespace || 'default', name);
    if (cur?.metadata.uid === pvc.metadata.uid) await this.#store.delete(KIND_PVC, namespace || 'default', name);
    this.#store.recordEvent({ reason: 'Deleted', message: `PersistentVolumeClaim deleted; its volume ${claimDir(pvc)} removed`, object: pvc });
  }

  async #syncAll(): Promise<void> {
    for (const pvc of this.#store.list<PersistentVolumeClaim>(KIND_PVC)) {
      await this.#sync(pvc).catch((e) => this.#log.error({ err: String(e) }, 'claim sync failed'));
    }
  }
}
