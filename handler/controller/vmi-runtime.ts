// What runs for one VMI on this node, and what the VMI controller's rooms (prepare,
// recover, teardown) are given to act on it: the node's parts as narrow interfaces,
// so the controller's unit tests can hand in fakes and run without QEMU.

import type { Logger } from 'pino';
import type { AcceleratorChoice } from '../../proto/accelerator.js';
import type { SmbiosConfig } from '../../proto/launch.js';
import type { VirtualMachineInstance } from '../../proto/vmi/types.js';
import type { ImageService } from '../images/index.js';
import type { PodNetworking } from '../network/index.js';
import type { VmStateDirs } from '../sandbox/device-state.js';
import type { Claims } from '../storage/claims.js';
import type { HostDisks } from '../hostdisk/host-disks.js';
import type { SandboxProvider, VmSandbox } from '../sandbox/provider.js';
import type { Store } from '../store/store.js';
import type { LauncherHandle } from './launcher-handle.js';

export const KIND = 'VirtualMachineInstance';

export interface VmiRuntime {
  uid: string;
  /** "<namespace>/<name>", the work queue's key. */
  key: string;
  namespace: string;
  name: string;
  sandbox?: VmSandbox;
  launcher?: LauncherHandle;
  /** Aborted when the VMI is deleted or torn down: a preparation in flight gives up. */
  abort: AbortController;
  tornDown: boolean;
}

/** The image service as the VMI controller uses it. */
export type VmiImages = Pick<ImageService, 'pullContainerDisk' | 'pullKernelBoot' | 'createOverlay' | 'createEmptyDisk' | 'release'>;

/** The pod networking as the VMI controller uses it. */
export type VmiNetwork = Pick<PodNetworking, 'createPodNetwork' | 'destroyPodNetwork' | 'listPodNetworks' | 'removeLeftover'>;

export interface VmiControllerDeps {
  store: Store;
  log: Logger;
  nodeName: string;
  images: VmiImages;
  network: VmiNetwork;
  sandboxes: SandboxProvider;
  /** The node's accelerator decision for a new VMI; throws when none is usable. */
  chooseAccelerator(): Promise<AcceleratorChoice>;
  /** Progress of image pulls, for watchers (not stored). */
  onPullProgress?(vmi: VirtualMachineInstance, p: { image: string; bytesDone: number; bytesTotal: number }): void;
  /** SMBIOS type 1 fields every guest of the node shows. */
  smbios?: SmbiosConfig;
  /** hostDisk volumes: the node's roots and who holds which file (none: hostDisk is refused). */
  hostDisks?: HostDisks;
  /** Per-VM directories of persistent device state (none: it lives with each VMI). */
  vmStateDirs?: VmStateDirs;
  /** PersistentVolumeClaim volumes: the claims this node provisions and who holds their disks (none: a claim never binds). */
  claims?: Claims;
  /** Retry delays of failed reconciles (tests make them short). */
  backoff?: { baseMs: number; maxMs: number };
}

export function keyOf(ns: string, name: string): string {
  return `${ns}/${name}`;
}

export function newRuntime(vmi: VirtualMachineInstance, sandbox?: VmSandbox): VmiRuntime {
  return {
    uid: vmi.metadata.uid!,
    key: keyOf(vmi.metadata.namespace!, vmi.metadata.name),
    namespace: vmi.metadata.namespace!,
    name: vmi.metadata.name,
    sandbox,
    abort: new AbortController(),
    tornDown: false,
  };
}
