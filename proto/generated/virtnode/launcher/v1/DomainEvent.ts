// Original file: launcher.proto

import type { DomainState as _virtnode_launcher_v1_DomainState, DomainState__Output as _virtnode_launcher_v1_DomainState__Output } from '../../../virtnode/launcher/v1/DomainState.js';
import type { VolumeTarget as _virtnode_launcher_v1_VolumeTarget, VolumeTarget__Output as _virtnode_launcher_v1_VolumeTarget__Output } from '../../../virtnode/launcher/v1/VolumeTarget.js';
import type { Long } from '@grpc/proto-loader';

export interface DomainEvent {
  'seq'?: (number | string | Long);
  'timestampMs'?: (number | string | Long);
  'state'?: (_virtnode_launcher_v1_DomainState);
  /**
   * KubeVirt-style reason for the state: Unknown, User, Shutdown, Destroyed,
   * Crashed, Panicked, StartingUp, ...
   */
  'reason'?: (string);
  'message'?: (string);
  'qemuPid'?: (number);
  'accelerator'?: (string);
  /**
   * The launcher exits after this event is acknowledged.
   */
  'final'?: (boolean);
  /**
   * The domain's interfaces as the launcher sees them (kubevirt.io/v1
   * VirtualMachineInstanceNetworkInterface list, JSON); empty when unchanged.
   */
  'interfacesJson'?: (string);
  /**
   * What QEMU made of the domain, sent once it runs (empty/0/none otherwise): the
   * machine type it resolved ("q35" is "pc-q35-7.2"), the guest RAM it gave, and
   * each disk's guest device.
   */
  'machineType'?: (string);
  'guestMemoryBytes'?: (number | string | Long);
  'volumes'?: (_virtnode_launcher_v1_VolumeTarget)[];
}

export interface DomainEvent__Output {
  'seq': (number);
  'timestampMs': (number);
  'state': (_virtnode_launcher_v1_DomainState__Output);
  /**
   * KubeVirt-style reason for the state: Unknown, User, Shutdown, Destroyed,
   * Crashed, Panicked, StartingUp, ...
   */
  'reason': (string);
  'message': (string);
  'qemuPid': (number);
  'accelerator': (string);
  /**
   * The launcher exits after this event is acknowledged.
   */
  'final': (boolean);
  /**
   * The domain's interfaces as the launcher sees them (kubevirt.io/v1
   * VirtualMachineInstanceNetworkInterface list, JSON); empty when unchanged.
   */
  'interfacesJson': (string);
  /**
   * What QEMU made of the domain, sent once it runs (empty/0/none otherwise): the
   * machine type it resolved ("q35" is "pc-q35-7.2"), the guest RAM it gave, and
   * each disk's guest device.
   */
  'machineType': (string);
  'guestMemoryBytes': (number);
  'volumes': (_virtnode_launcher_v1_VolumeTarget__Output)[];
}
