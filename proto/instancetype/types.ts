// The instancetype.kubevirt.io/v1beta1 kinds (instance types and preferences), the
// VM's matchers that name them, and the apps/v1 ControllerRevision a VM keeps of
// what it started with, named as in KubeVirt's staging/src/kubevirt.io/api. Only
// the fields virtnode reads are typed; the rest pass through as KubeVirt's JSON
// and are judged where they land (expand.ts maps them onto the VMI spec, whose
// validation refuses what virtnode cannot do, by the instance type's own path).

import type { ObjectMeta, Quantity } from '../vmi/types.js';

export const INSTANCETYPE_API_VERSION = 'instancetype.kubevirt.io/v1beta1';
export const KIND_INSTANCETYPE = 'VirtualMachineInstancetype';
export const KIND_CLUSTER_INSTANCETYPE = 'VirtualMachineClusterInstancetype';
export const KIND_PREFERENCE = 'VirtualMachinePreference';
export const KIND_CLUSTER_PREFERENCE = 'VirtualMachineClusterPreference';
export const KIND_CONTROLLER_REVISION = 'ControllerRevision';
export const CONTROLLER_REVISION_API_VERSION = 'apps/v1';

export const INSTANCETYPE_KINDS = [KIND_INSTANCETYPE, KIND_CLUSTER_INSTANCETYPE] as const;
export const PREFERENCE_KINDS = [KIND_PREFERENCE, KIND_CLUSTER_PREFERENCE] as const;
export type InstancetypeKind = (typeof INSTANCETYPE_KINDS)[number];
export type PreferenceKind = (typeof PREFERENCE_KINDS)[number];
export type TemplateKind = InstancetypeKind | PreferenceKind;
export const TEMPLATE_KINDS: readonly TemplateKind[] = [...INSTANCETYPE_KINDS, ...PREFERENCE_KINDS];

/** Cluster-scoped kinds have no namespace (the store keeps them under none). */
export function isClusterScoped(kind: string): boolean {
  return kind === KIND_CLUSTER_INSTANCETYPE || kind === KIND_CLUSTER_PREFERENCE;
}

export function isTemplateKind(kind: unknown): kind is TemplateKind {
  return (TEMPLATE_KINDS as readonly unknown[]).includes(kind);
}

// Annotations KubeVirt puts on a VMI started from an instance type or preference
// (core/v1 InstancetypeAnnotation and friends).
export const INSTANCETYPE_ANNOTATION = 'kubevirt.io/instancetype-name';
export const CLUSTER_INSTANCETYPE_ANNOTATION = 'kubevirt.io/cluster-instancetype-name';
export const PREFERENCE_ANNOTATION = 'kubevirt.io/preference-name';
export const CLUSTER_PREFERENCE_ANNOTATION = 'kubevirt.io/cluster-preference-name';

// Labels of a ControllerRevision of an instance type or preference (instancetype/register.go).
export const REVISION_OBJECT_GENERATION_LABEL = 'instancetype.kubevirt.io/object-generation';
export const REVISION_OBJECT_KIND_LABEL = 'instancetype.kubevirt.io/object-kind';
export const REVISION_OBJECT_NAME_LABEL = 'instancetype.kubevirt.io/object-name';
export const REVISION_OBJECT_UID_LABEL = 'instancetype.kubevirt.io/object-uid';
export const REVISION_OBJECT_VERSION_LABEL = 'instancetype.kubevirt.io/object-version';

/** Any KubeVirt JSON below a typed field. */
export type Json = Record<string, unknown>;

export interface InstancetypeSpec {
  cpu: {
    guest: number;
    model?: string;
    dedicatedCPUPlacement?: boolean;
    isolateEmulatorThread?: boolean;
    numa?: Json;
    realtime?: Json;
    maxSockets?: number;
  };
  memory: {
    guest: Quantity;
    hugepages?: Json;
    maxGuest?: Quantity;
    overcommitPercent?: number;
  };
  nodeSelector?: Record<string, string>;
  schedulerName?: string;
  ioThreadsPolicy?: string;
  ioThreads?: { supplementalPoolThreadCount?: number };
  launchSecurity?: Json;
  gpus?: Json[];
  hostDevices?: Json[];
  annotations?: Record<string, string>;
}

export type PreferredCPUTopology = 'sockets' | 'cores' | 'threads' | 'spread' | 'any' | 'preferSockets' | 'preferCores' | 'preferThreads' | 'preferSpread' | 'preferAny';
export type SpreadAcross = 'SocketsCores' | 'CoresThreads' | 'SocketsCoresThreads';

/** Preferences: every field optional, applied only where the VM left the VMI field unset. */
export interface PreferenceSpec {
  cpu?: { preferredCPUTopology?: PreferredCPUTopology; spreadOptions?: { across?: SpreadAcross; ratio?: number }; preferredCPUFeatures?: Json[] };
  devices?: Json;
  features?: Json;
  firmware?: Json;
  machine?: { preferredMachineType?: string };
  clock?: Json;
  volumes?: { preferredStorageClassName?: string };
  requirements?: { cpu?: { guest: number }; memory?: { guest: Quantity }; architecture?: string };
  preferredSubdomain?: string;
  preferredTerminationGracePeriodSeconds?: number;
  preferSpreadSocketToCoreRatio?: number;
  preferredArchitecture?: string;
  preferredLaunchSecurity?: Json;
  annotations?: Record<string, string>;
}

export interface InstancetypeObject {
  apiVersion: string;
  kind: InstancetypeKind;
  metadata: ObjectMeta;
  spec: InstancetypeSpec;
}

export interface PreferenceObject {
  apiVersion: string;
  kind: PreferenceKind;
  metadata: ObjectMeta;
  spec: PreferenceSpec;
}

export type TemplateObject = InstancetypeObject | PreferenceObject;

export type { Matcher, StatusRef } from '../vmi/types.js';

/**
 * apps/v1 ControllerRevision: an immutable copy of an instance type or preference
 * as a VM started with it. `data` is the whole object (apiVersion, kind, spec).
 */
export interface ControllerRevision {
  apiVersion: typeof CONTROLLER_REVISION_API_VERSION;
  kind: typeof KIND_CONTROLLER_REVISION;
  metadata: ObjectMeta;
  data: TemplateObject;
  revision: number;
}
