// The Node service: what controllers and the `virtnode` CLI call. It validates,
// stores desired state and forwards lifecycle verbs to the controllers; it never
// touches a sandbox or a launcher itself.

import * as grpc from '@grpc/grpc-js';
import { EventEmitter } from 'node:events';
import { InvalidSpecError, NotFoundError, VirtnodeError } from '../../proto/errors.js';
import { handlerPackage, requireProtocol } from '../../proto/rpc.js';
import { KIND_VM, KIND_VMI, type VirtualMachine, type VirtualMachineInstance } from '../../proto/vmi/index.js';
import type { ApplyRequest__Output } from '../../proto/generated/virtnode/handler/v1/ApplyRequest.js';
import type { ApplyResponse } from '../../proto/generated/virtnode/handler/v1/ApplyResponse.js';
import type { ScreenshotRequest__Output } from '../../proto/generated/virtnode/handler/v1/ScreenshotRequest.js';
import type { ScreenshotResponse } from '../../proto/generated/virtnode/handler/v1/ScreenshotResponse.js';
import type { SerialConsoleLogRequest__Output } from '../../proto/generated/virtnode/handler/v1/SerialConsoleLogRequest.js';
import type { SerialConsoleLogResponse } from '../../proto/generated/virtnode/handler/v1/SerialConsoleLogResponse.js';
import type { DeleteRequest__Output } from '../../proto/generated/virtnode/handler/v1/DeleteRequest.js';
import type { LifecycleRequest__Output } from '../../proto/generated/virtnode/handler/v1/LifecycleRequest.js';
import type { ListImagesResponse } from '../../proto/generated/virtnode/handler/v1/ListImagesResponse.js';
import type { ListRequest__Output } from '../../proto/generated/virtnode/handler/v1/ListRequest.js';
import type { ListResponse } from '../../proto/generated/virtnode/handler/v1/ListResponse.js';
import type { DomainStats__Output } from '../../proto/generated/virtnode/handler/v1/DomainStats.js';
import type { DomainStatsRequest__Output } from '../../proto/generated/virtnode/handler/v1/DomainStatsRequest.js';
import type { NodeInfo } from '../../proto/generated/virtnode/handler/v1/NodeInfo.js';
import type { NodeComputeFacts } from '../../proto/node-capabilities.js';
import type { Object as WireObject } from '../../proto/generated/virtnode/handler/v1/Object.js';
import type { ObjectRef__Output } from '../../proto/generated/virtnode/handler/v1/ObjectRef.js';
import type { OperationResponse } from '../../proto/generated/virtnode/handler/v1/OperationResponse.js';
import type { WatchEvent } from '../../proto/generated/virtnode/handler/v1/WatchEvent.js';
import type { WatchRequest__Output } from '../../proto/generated/virtnode/handler/v1/WatchRequest.js';
import type { ImageService } from '../images/index.js';
import type { PodNetworking } from '../network/index.js';
import type { HostDisks } from '../hostdisk/host-disks.js';
import type { Claims } from '../storage/claims.js';
import { KIND_PVC } from '../../proto/storage/pvc.js';
import type { Change, ChangeRef, Kind, RecordedChange, Store, StoredObject } from '../store/store.js';
import type { VmController } from '../controller/vm.js';
import type { VmiController } from '../controller/vmi.js';
import { keepHandlerAnnotations } from '../../proto/vmi/annotations.js';
import { admit, checkHotplugHostDisk, namespaceOf } from './admission.js';
import { admitAddVolume, admitRemoveVolume } from '../../proto/vmi/validate-hotplug.js';
import type { AddVolumeRequest__Output } from '../../proto/generated/virtnode/handler/v1/AddVolumeRequest.js';
import type { RemoveVolumeRequest__Output } from '../../proto/generated/virtnode/handler/v1/RemoveVolumeRequest.js';
import { ManifestReader } from './manifest-reader.js';
import { getObject, isBuiltin, listObjects, normalizeKind, resourceName } from './kinds.js';
import { isTemplateKind } from '../../proto/instancetype/types.js';
import { scopeOf, STORED_KINDS } from '../store/kinds.js';
import { agentService } from './agent-service.js';
import type { FreezeRequest__Output } from '../../proto/generated/virtnode/handler/v1/FreezeRequest.js';
import type { GuestAgentRequest__Output } from '../../proto/generated/virtnode/handler/v1/GuestAgentRequest.js';
import type { GuestAgentResponse } from '../../proto/generated/virtnode/handler/v1/GuestAgentResponse.js';
import { AttachedStreams, byteStreamCall } from './console.js';
import { screenshot, vncSocket } from './vnc.js';
import { serialConsoleLog } from './console-log.js';
import { toServiceError } from './status.js';
import { EncodedCache, type EncodedMessage } from './encoded.js';
import type { StatusLike, StreamCall, UnaryCall } from './grpc-call.js';
import type { ServiceImplementation } from './grpc-server.js';

export interface NodeServiceDeps {
  store: Store;
  vms: VmController;
  vmis: VmiController;
  images: ImageService;
  network: PodNetworking;
  /** The node's host disk roots and the hostDisk files VMIs hold (Apply judges hostDisks by them). */
  hostDisks?: HostDisks;
  /** The PersistentVolumeClaims this node provisions (standalone); none: claims are refused. */
  claims?: Claims;
  /** What the node's CPU and accelerator offer (Apply judges CPU models, features and timers by it); undefined until the probe answered. */
  computeFacts?: () => NodeComputeFacts | undefined;
  /** Transient notifications (image pull progress) that are not stored changes. */
  progress: EventEmitter;
  /** Reads Apply's manifests; default: one of its own. */
  manifests?: ManifestReader;
  nodeInfo(): NodeInfo;
  /** GetDomainStats: one running VMI's domain stats (handler/metrics). */
  domainStats?(ns: string, name: string): Promise<DomainStats__Output>;
}

export { normalizeKind } from './kinds.js';

function wire(o: StoredObject): WireObject {
  return { kind: o.kind, json: JSON.stringify(o), resourceVersion: Number(o.metadata.resourceVersion ?? 0) };
}

type Unary<Req, Res> = (call: UnaryCall<Req>, cb: (err: StatusLike | null, res?: Res) => void) => void;

/** Wraps a unary handler: protocol check, then errors mapped once. */
function unary<Req, Res>(fn: (req: Req, call: UnaryCall<Req>) => Promise<Res> | Res): Unary<Req, Res> {
  return (call, cb) => {
    const refused = requireProtocol(call.metadata);
    if (refused) {
      cb(refused);
      return;
    }
    Promise.resolve()
      .then(() => fn(call.request, call))
      .then(
        (res) => cb(null, res),
        (e) => cb(toServiceError(e)),
      );
  };
}

const ns = namespaceOf;

const DEFAULT_WATCH_KINDS = new Set<string>([KIND_VM, KIND_VMI, 'Event', 'ImagePull']);

export function nodeService(d: NodeServiceDeps): ServiceImplementation {
  const { store, vms, vmis } = d;
  // Who holds each VMI's console and VNC display (one client each).
  const attached = new AttachedStreams();
  const manifests = d.manifests ?? new ManifestReader();
  const agent = agentService({ store, vmis });
  // Room for every object's Get answer on a full node and a few Lists.
  const encoded = new EncodedCache(1024);
  const service = handlerPackage().Node.service;
  const wireSerialize = {
    Get: (o: WireObject): Buffer => service.Get!.responseSerialize(o),
    List: (l: ListResponse): Buffer => service.List!.responseSerialize(l),
  };

  /** A name given to a verb may be a VM or a bare VMI, as virtctl accepts. */
  function resolve(namespace: string, name: string): { vm?: VirtualMachine; vmi?: VirtualMachineInstance } {
    const vm = store.get<VirtualMachine>(KIND_VM, namespace, name);
    const vmi = store.get<VirtualMachineInstance>(KIND_VMI, namespace, name);
    if (!vm && !vmi) throw new NotFoundError(`VirtualMachine or VirtualMachineInstance ${namespace}/${name}`);
    return { vm, vmi };
  }

  function needVmi(namespace: string, name: string): VirtualMachineInstance {
    const { vm, vmi } = resolve(namespace, name);
    if (!vmi) throw new VirtnodeError('VN_ILLEGAL_TRANSITION', `VirtualMachine ${namespace}/${vm!.metadata.name} is not running (it has no VirtualMachineInstance)`);
    return vmi;
  }

  /**
   * virtctl addvolume: admitted whole (the request, the VMI as it would be, this
   * node's host disk roots) before anything is stored; attached before answering;
   * with persist, the VM's template gets the disk and volume once the VMI has them.
   */
  async function addVolume(req: AddVolumeRequest__Output): Promise<OperationResponse> {
    const n = ns(req.namespace);
    const { vm } = resolve(n, req.name);
    const vmi = needVmi(n, req.name);
    let options: unknown;
    try {
      options = JSON.parse(req.optionsJson);
    } catch (e) {
      throw new InvalidSpecError([{ path: '<root>', message: `AddVolumeOptions is not JSON: ${(e as Error).message}` }]);
    }
    const admitted = admitAddVolume(vmi, options);
    const volume = admitted.volume.name;
    if (req.persist) {
      if (!vm) throw new InvalidSpecError([{ path: 'persist', message: `${req.name} is a bare VirtualMachineInstance: only a VirtualMachine's template can keep the volume` }]);
      const t = vm.spec.template.spec;
      if ((t.volumes ?? []).some((v) => v.name === volume) || (t.domain.devices.disks ?? []).some((d) => d.name === volume)) {
        throw new InvalidSpecError([{ path: 'name', message: `Duplicate value: ${JSON.stringify(volume)}: VirtualMachine ${n}/${vm.metadata.name} has a disk or volume of that name in its template` }]);
      }
    }
    checkHotplugHostDisk(vmi, admitted, d.hostDisks);
    const where = `VirtualMachineInstance ${n}/${vmi.metadata.name}`;
    if (req.dryRun) return { message: `volume ${volume} can be added to ${where} (dry run)` };
    const outcome = await vmis.addVolume(n, vmi.metadata.name, admitted);
    const target = outcome.ok ? outcome.status?.target : undefined;
    let message = `volume ${volume} attached to ${where}${target ? ` as ${target}` : ''}`;
    if (req.persist && vm) {
      await store.mutate<VirtualMachine>(KIND_VM, n, vm.metadata.name, (o) => {
        const t = o.spec.template.spec;
        if ((t.volumes ?? []).some((v) => v.name === volume)) return false;
        t.domain.devices.disks = [...(t.domain.devices.disks ?? []), admitted.disk];
        t.volumes = [...(t.volumes ?? []), admitted.volume];
      }).durable;
      message += `; VirtualMachine ${n}/${vm.metadata.name} keeps it in its template`;
    }
    return { message };
  }

  /** virtctl removevolume: only a hot-plugged volume; detached before answering; persist drops it from the VM's template. */
  async function removeVolume(req: RemoveVolumeRequest__Output): Promise<OperationResponse> {
    const n = ns(req.namespace);
    const { vm } = resolve(n, req.name);
    const vmi = needVmi(n, req.name);
    const volume = admitRemoveVolume(vmi, req.volumeName);
    if (req.persist && !vm) throw new InvalidSpecError([{ path: 'persist', message: `${req.name} is a bare VirtualMachineInstance: it has no template to remove the volume from` }]);
    const where = `VirtualMachineInstance ${n}/${vmi.metadata.name}`;
    if (req.dryRun) return { message: `volume ${volume} can be removed from ${where} (dry run)` };
    await vmis.removeVolume(n, vmi.metadata.name, volume);
    let message = `volume ${volume} detached from ${where}`;
    if (req.persist && vm) {
      let had = false;
      await store.mutate<VirtualMachine>(KIND_VM, n, vm.metadata.name, (o) => {
        const t = o.spec.template.spec;
        had = (t.volumes ?? []).some((v) => v.name === volume) || (t.domain.devices.disks ?? []).some((x) => x.name === volume);
        if (!had) return false;
        t.domain.devices.disks = (t.domain.devices.disks ?? []).filter((x) => x.name !== volume);
        t.volumes = (t.volumes ?? []).filter((v) => v.name !== volume);
      }).durable;
      message += had ? `; removed from VirtualMachine ${n}/${vm.metadata.name}'s template` : `; VirtualMachine ${n}/${vm.metadata.name}'s template did not have it`;
    }
    return { message };
  }

  async function apply(req: ApplyRequest__Output): Promise<ApplyResponse> {
    const { objects: defaulted, warnings } = await admit(manifests, req.manifest, store, d.network.node, d.hostDisks, d.computeFacts?.(), d.claims);
    const results: string[] = [];
    const out: WireObject[] = [];
    const resource = resourceName;
    if (req.dryRun) {
      for (const o of defaulted) results.push(`${resource(o.kind)}/${o.metadata.name} valid (dry run)`);
      return { objects: defaulted.map((o) => ({ kind: o.kind, json: JSON.stringify(o), resourceVersion: 0 })), warnings, results };
    }
    const durable: Promise<void>[] = [];
    for (const o of defaulted) {
      const cur = store.get<StoredObject>(o.kind, scopeOf(o.kind, o.metadata.namespace), o.metadata.name);
      if (!cur) {
        const annotations = keepHandlerAnnotations(o.metadata.annotations, undefined);
        const r = store.create({ ...o, metadata: { ...o.metadata, annotations } });
        // Defined once it is stored: a create the store could not write made nothing.
        durable.push(r.durable.then(() => void store.recordEvent({ reason: 'Created', message: `${o.kind} defined`, object: r.object })));
        out.push(wire(r.object));
        results.push(`${resource(o.kind)}/${o.metadata.name} created`);
        continue;
      }
      // virtnode.io/ annotations are the handler's: kept from the stored object, never taken from a manifest.
      const annotations = keepHandlerAnnotations(o.metadata.annotations, cur.metadata.annotations);
      if (JSON.stringify((cur as { spec?: unknown }).spec) === JSON.stringify(o.spec) && JSON.stringify(cur.metadata.labels ?? {}) === JSON.stringify(o.metadata.labels ?? {}) && JSON.stringify(cur.metadata.annotations ?? {}) === JSON.stringify(annotations ?? {})) {
        out.push(wire(cur));
        results.push(`${resource(o.kind)}/${o.metadata.name} unchanged`);
      } else {
        const next = { ...cur, spec: o.spec, metadata: { ...cur.metadata, labels: o.metadata.labels, annotations } } as StoredObject;
        const r = store.update(next);
        durable.push(r.durable);
        out.push(wire(r.object));
        results.push(`${resource(o.kind)}/${o.metadata.name} configured`);
      }
    }
    // Answered once every write has settled, with the first failure (it names the
    // object and the cause: disk full, I/O error); what failed left nothing behind.
    const failed = (await Promise.allSettled(durable)).find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    return { objects: out, warnings, results };
  }

  function watch(call: StreamCall<WatchRequest__Output, WatchEvent>): void {
    const refused = requireProtocol(call.metadata);
    if (refused) {
      call.emit('error', refused);
      return;
    }
    const req = call.request;
    const kinds = new Set<string>((req.kinds ?? []).map((k) => (k === 'Event' || k === 'ImagePull' ? k : normalizeKind(k))));
    // Without a kinds filter a watcher follows what it always has: VMs, VMIs, events, pulls.
    const wanted = kinds.size ? kinds : DEFAULT_WATCH_KINDS;
    const match = (kind: string, ref: ChangeRef | undefined): boolean => {
      if (!wanted.has(kind)) return false;
      if (req.namespace && ref?.namespace !== req.namespace) return false;
      if (req.name && ref?.name !== req.name) return false;
      return true;
    };
    let live = false;
    let last = 0;
    const buffered: RecordedChange[] = [];
    const send = (c: RecordedChange): void => {
      if (c.seq <= last) return;
      last = c.seq;
      if (match(c.kind, c.ref)) call.write({ seq: c.seq, type: c.type, kind: c.kind, json: c.json });
    };
    const onChange = (c: Change): void => {
      if (live) send(c);
      else buffered.push(c);
    };
    const onProgress = (p: Record<string, any>): void => {
      if (match('ImagePull', p.vmi)) call.write({ seq: 0, type: 'PROGRESS', kind: 'ImagePull', json: JSON.stringify(p) });
    };
    store.on('change', onChange);
    d.progress.on('progress', onProgress);
    const stop = (): void => {
      store.off('change', onChange);
      d.progress.off('progress', onProgress);
    };
    call.on('cancelled', stop);
    call.on('close', stop);
    call.on('error', stop);

    const since = Number(req.sinceSeq ?? 0);
    if (req.fromOldest) {
      for (const c of store.oldest()) send(c);
    } else if (since === 0) {
      const seq = store.seq;
      for (const k of STORED_KINDS) {
        if (!wanted.has(k)) continue;
        for (const o of store.listJSON(k, req.namespace || undefined, req.name || undefined)) call.write({ seq, type: 'ADDED', kind: k, json: o.json });
      }
      call.write({ seq, type: 'SNAPSHOT_END', kind: '', json: '' });
      last = seq;
    } else if (since > store.seq) {
      // Kubernetes' "too large resource version": a watcher must not wait silently
      // for changes it would then miss below the number it gave.
      stop();
      call.emit('error', { code: grpc.status.OUT_OF_RANGE, details: `too large resource version: sequence ${since}, the handler is at ${store.seq}; list and watch again` });
      return;
    } else {
      const changes = store.since(since);
      if (!changes) {
        stop();
        call.emit('error', { code: grpc.status.OUT_OF_RANGE, details: `sequence ${since} is older than the handler keeps; list and watch again` });
        return;
      }
      last = since;
      for (const c of changes) send(c);
    }
    for (const c of buffered.splice(0)) send(c);
    live = true;
  }

  return {
    Apply: unary(apply),
    // Answers as bytes from `encoded` (see encoded.ts; the server passes them on).
    Get: unary<ObjectRef__Output, EncodedMessage>((req) => {
      const kind = normalizeKind(req.kind || 'vm');
      const n = scopeOf(kind, req.namespace);
      const o = getObject(store, kind, n, req.name);
      if (!o) throw new NotFoundError(`${kind} ${n ? `${n}/` : ''}${req.name}`);
      return encoded.get(`get/${kind}/${n}/${req.name}`, o.resourceVersion, () => wireSerialize.Get({ kind, ...o }));
    }),
    List: unary<ListRequest__Output, EncodedMessage>((req) => {
      const kind = normalizeKind(req.kind || 'vm');
      const seq = store.seq;
      return encoded.get(`list/${kind}/${req.namespace}`, seq, () =>
        wireSerialize.List({ objects: listObjects(store, kind, req.namespace || undefined).map((o) => ({ kind, ...o })), resourceVersion: seq }),
      );
    }),
    Delete: unary<DeleteRequest__Output, OperationResponse>(async (req) => {
      const ref = req.ref ?? { kind: '', namespace: '', name: '' };
      const n = ns(ref.namespace);
      const grace = Number(req.gracePeriodSeconds) >= 0 ? Number(req.gracePeriodSeconds) : undefined;
      let kind: Kind;
      if (ref.kind) kind = normalizeKind(ref.kind);
      else kind = store.get(KIND_VM, n, ref.name) ? KIND_VM : KIND_VMI;
      if (kind !== KIND_VM && kind !== KIND_VMI) {
        const scope = scopeOf(kind, ref.namespace);
        if (!store.get(kind, scope, ref.name) && isBuiltin(kind, ref.name)) {
          throw new VirtnodeError('VN_ILLEGAL_TRANSITION', `${kind} ${ref.name} is one of the common instance types and preferences that come with the handler: it cannot be deleted (apply one of the same name to replace it)`);
        }
        store.mustGet(kind, scope, ref.name);
        if (kind === KIND_PVC) return { message: await d.claims!.delete(scope, ref.name) };
        await store.delete(kind, scope, ref.name);
        if (isTemplateKind(kind)) store.recordEvent({ reason: 'Deleted', message: `${kind} deleted`, object: { kind, metadata: { name: ref.name, namespace: scope || undefined } } });
        return { message: `${resourceName(kind)} "${ref.name}" deleted` };
      }
      store.mustGet(kind, n, ref.name);
      if (kind === KIND_VM) await vms.deleteVM(n, ref.name, grace);
      else await vmis.requestDelete(n, ref.name, grace);
      return { message: `${kind === KIND_VM ? 'virtualmachine' : 'virtualmachineinstance'}.kubevirt.io "${ref.name}" deleted` };
    }),
    Start: unary<LifecycleRequest__Output, OperationResponse>(async (req) => {
      const { vm } = resolve(ns(req.namespace), req.name);
      if (!vm) throw new VirtnodeError('VN_ILLEGAL_TRANSITION', `${req.name} is a bare VirtualMachineInstance: start applies to VirtualMachines`);
      return { message: await vms.startVM(ns(req.namespace), req.name) };
    }),
    Stop: unary<LifecycleRequest__Output, OperationResponse>(async (req) => {
      const n = ns(req.namespace);
      const { vm } = resolve(n, req.name);
      const grace = req.force ? 0 : Number(req.gracePeriodSeconds) >= 0 ? Number(req.gracePeriodSeconds) : undefined;
      if (vm) return { message: await vms.stopVM(n, req.name, grace) };
      await vmis.requestDelete(n, req.name, grace);
      return { message: `VMI ${req.name} was scheduled to stop` };
    }),
    Restart: unary<LifecycleRequest__Output, OperationResponse>(async (req) => {
      const n = ns(req.namespace);
      const { vm } = resolve(n, req.name);
      if (!vm) throw new VirtnodeError('VN_ILLEGAL_TRANSITION', `${req.name} is a bare VirtualMachineInstance: restart applies to VirtualMachines`);
      const grace = req.force ? 0 : Number(req.gracePeriodSeconds) >= 0 ? Number(req.gracePeriodSeconds) : undefined;
      return { message: await vms.restartVM(n, req.name, grace) };
    }),
    Pause: unary<LifecycleRequest__Output, OperationResponse>(async (req) => {
      const vmi = needVmi(ns(req.namespace), req.name);
      await vmis.verb(vmi.metadata.namespace!, vmi.metadata.name, 'pause');
      return { message: `VMI ${req.name} was scheduled to pause` };
    }),
    Unpause: unary<LifecycleRequest__Output, OperationResponse>(async (req) => {
      const vmi = needVmi(ns(req.namespace), req.name);
      await vmis.verb(vmi.metadata.namespace!, vmi.metadata.name, 'unpause');
      return { message: `VMI ${req.name} was scheduled to unpause` };
    }),
    SoftReboot: unary<LifecycleRequest__Output, OperationResponse>(async (req) => {
      const vmi = needVmi(ns(req.namespace), req.name);
      const how = await vmis.verb(vmi.metadata.namespace!, vmi.metadata.name, 'softReboot');
      return { message: `VMI ${req.name} was scheduled to soft reboot${how ? ` ${how}` : ''}` };
    }),
    Reset: unary<LifecycleRequest__Output, OperationResponse>(async (req) => {
      const vmi = needVmi(ns(req.namespace), req.name);
      await vmis.verb(vmi.metadata.namespace!, vmi.metadata.name, 'reset');
      return { message: `VMI ${req.name} was reset` };
    }),
    AddVolume: unary<AddVolumeRequest__Output, OperationResponse>((req) => addVolume(req)),
    RemoveVolume: unary<RemoveVolumeRequest__Output, OperationResponse>((req) => removeVolume(req)),
    Watch: watch,
    Console: byteStreamCall('console', attached, (namespace, name) => {
      const vmi = needVmi(ns(namespace), name);
      return { namespace: vmi.metadata.namespace!, name, socket: vmis.consoleSocket(vmi.metadata.namespace!, vmi.metadata.name) };
    }),
    VNC: byteStreamCall('vnc', attached, (namespace, name) => {
      const vmi = needVmi(ns(namespace), name);
      return { namespace: vmi.metadata.namespace!, name, socket: vncSocket(vmis, vmi) };
    }),
    Screenshot: unary<ScreenshotRequest__Output, ScreenshotResponse>(async (req) => ({ png: await screenshot(vmis, needVmi(ns(req.namespace), req.name)) })),
    SerialConsoleLog: unary<SerialConsoleLogRequest__Output, SerialConsoleLogResponse>(async (req) => ({ data: await serialConsoleLog(vmis, needVmi(ns(req.namespace), req.name)) })),
    ListImages: unary<unknown, ListImagesResponse>(async () => {
      const images = await d.images.list();
      return {
        images: images.map((i) => ({ reference: i.references.join(', '), digest: i.digest, sizeBytes: i.bytes, users: i.holders.length, pulledAt: i.pulledAt })),
        pulls: d.images.pulls(),
      };
    }),
    GetNodeInfo: unary<unknown, NodeInfo>(() => d.nodeInfo()),
    GuestOSInfo: unary<GuestAgentRequest__Output, GuestAgentResponse>((req) => agent.query(req, 'guestosinfo')),
    FilesystemList: unary<GuestAgentRequest__Output, GuestAgentResponse>((req) => agent.query(req, 'fslist')),
    UserList: unary<GuestAgentRequest__Output, GuestAgentResponse>((req) => agent.query(req, 'userlist')),
    Freeze: unary<FreezeRequest__Output, OperationResponse>((req) => agent.freeze(req)),
    Unfreeze: unary<LifecycleRequest__Output, OperationResponse>((req) => agent.unfreeze(req)),
    GetDomainStats: unary<DomainStatsRequest__Output, DomainStats__Output>(async (req) => {
      if (!req.name) throw new InvalidSpecError([{ path: 'name', message: 'required' }]);
      if (!d.domainStats) throw new VirtnodeError('VN_UNSUPPORTED', 'this handler keeps no domain stats');
      return d.domainStats(ns(req.namespace), req.name);
    }),
  };
}
