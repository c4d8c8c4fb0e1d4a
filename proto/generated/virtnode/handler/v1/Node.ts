// Original file: handler.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { AddVolumeRequest as _virtnode_handler_v1_AddVolumeRequest, AddVolumeRequest__Output as _virtnode_handler_v1_AddVolumeRequest__Output } from '../../../virtnode/handler/v1/AddVolumeRequest.js';
import type { ApplyRequest as _virtnode_handler_v1_ApplyRequest, ApplyRequest__Output as _virtnode_handler_v1_ApplyRequest__Output } from '../../../virtnode/handler/v1/ApplyRequest.js';
import type { ApplyResponse as _virtnode_handler_v1_ApplyResponse, ApplyResponse__Output as _virtnode_handler_v1_ApplyResponse__Output } from '../../../virtnode/handler/v1/ApplyResponse.js';
import type { ConsoleInput as _virtnode_handler_v1_ConsoleInput, ConsoleInput__Output as _virtnode_handler_v1_ConsoleInput__Output } from '../../../virtnode/handler/v1/ConsoleInput.js';
import type { ConsoleOutput as _virtnode_handler_v1_ConsoleOutput, ConsoleOutput__Output as _virtnode_handler_v1_ConsoleOutput__Output } from '../../../virtnode/handler/v1/ConsoleOutput.js';
import type { DeleteRequest as _virtnode_handler_v1_DeleteRequest, DeleteRequest__Output as _virtnode_handler_v1_DeleteRequest__Output } from '../../../virtnode/handler/v1/DeleteRequest.js';
import type { DomainStats as _virtnode_handler_v1_DomainStats, DomainStats__Output as _virtnode_handler_v1_DomainStats__Output } from '../../../virtnode/handler/v1/DomainStats.js';
import type { DomainStatsRequest as _virtnode_handler_v1_DomainStatsRequest, DomainStatsRequest__Output as _virtnode_handler_v1_DomainStatsRequest__Output } from '../../../virtnode/handler/v1/DomainStatsRequest.js';
import type { FreezeRequest as _virtnode_handler_v1_FreezeRequest, FreezeRequest__Output as _virtnode_handler_v1_FreezeRequest__Output } from '../../../virtnode/handler/v1/FreezeRequest.js';
import type { GuestAgentRequest as _virtnode_handler_v1_GuestAgentRequest, GuestAgentRequest__Output as _virtnode_handler_v1_GuestAgentRequest__Output } from '../../../virtnode/handler/v1/GuestAgentRequest.js';
import type { GuestAgentResponse as _virtnode_handler_v1_GuestAgentResponse, GuestAgentResponse__Output as _virtnode_handler_v1_GuestAgentResponse__Output } from '../../../virtnode/handler/v1/GuestAgentResponse.js';
import type { LifecycleRequest as _virtnode_handler_v1_LifecycleRequest, LifecycleRequest__Output as _virtnode_handler_v1_LifecycleRequest__Output } from '../../../virtnode/handler/v1/LifecycleRequest.js';
import type { ListImagesRequest as _virtnode_handler_v1_ListImagesRequest, ListImagesRequest__Output as _virtnode_handler_v1_ListImagesRequest__Output } from '../../../virtnode/handler/v1/ListImagesRequest.js';
import type { ListImagesResponse as _virtnode_handler_v1_ListImagesResponse, ListImagesResponse__Output as _virtnode_handler_v1_ListImagesResponse__Output } from '../../../virtnode/handler/v1/ListImagesResponse.js';
import type { ListRequest as _virtnode_handler_v1_ListRequest, ListRequest__Output as _virtnode_handler_v1_ListRequest__Output } from '../../../virtnode/handler/v1/ListRequest.js';
import type { ListResponse as _virtnode_handler_v1_ListResponse, ListResponse__Output as _virtnode_handler_v1_ListResponse__Output } from '../../../virtnode/handler/v1/ListResponse.js';
import type { NodeInfo as _virtnode_handler_v1_NodeInfo, NodeInfo__Output as _virtnode_handler_v1_NodeInfo__Output } from '../../../virtnode/handler/v1/NodeInfo.js';
import type { NodeInfoRequest as _virtnode_handler_v1_NodeInfoRequest, NodeInfoRequest__Output as _virtnode_handler_v1_NodeInfoRequest__Output } from '../../../virtnode/handler/v1/NodeInfoRequest.js';
import type { Object as _virtnode_handler_v1_Object, Object__Output as _virtnode_handler_v1_Object__Output } from '../../../virtnode/handler/v1/Object.js';
import type { ObjectRef as _virtnode_handler_v1_ObjectRef, ObjectRef__Output as _virtnode_handler_v1_ObjectRef__Output } from '../../../virtnode/handler/v1/ObjectRef.js';
import type { OperationResponse as _virtnode_handler_v1_OperationResponse, OperationResponse__Output as _virtnode_handler_v1_OperationResponse__Output } from '../../../virtnode/handler/v1/OperationResponse.js';
import type { RemoveVolumeRequest as _virtnode_handler_v1_RemoveVolumeRequest, RemoveVolumeRequest__Output as _virtnode_handler_v1_RemoveVolumeRequest__Output } from '../../../virtnode/handler/v1/RemoveVolumeRequest.js';
import type { ScreenshotRequest as _virtnode_handler_v1_ScreenshotRequest, ScreenshotRequest__Output as _virtnode_handler_v1_ScreenshotRequest__Output } from '../../../virtnode/handler/v1/ScreenshotRequest.js';
import type { ScreenshotResponse as _virtnode_handler_v1_ScreenshotResponse, ScreenshotResponse__Output as _virtnode_handler_v1_ScreenshotResponse__Output } from '../../../virtnode/handler/v1/ScreenshotResponse.js';
import type { SerialConsoleLogRequest as _virtnode_handler_v1_SerialConsoleLogRequest, SerialConsoleLogRequest__Output as _virtnode_handler_v1_SerialConsoleLogRequest__Output } from '../../../virtnode/handler/v1/SerialConsoleLogRequest.js';
import type { SerialConsoleLogResponse as _virtnode_handler_v1_SerialConsoleLogResponse, SerialConsoleLogResponse__Output as _virtnode_handler_v1_SerialConsoleLogResponse__Output } from '../../../virtnode/handler/v1/SerialConsoleLogResponse.js';
import type { WatchEvent as _virtnode_handler_v1_WatchEvent, WatchEvent__Output as _virtnode_handler_v1_WatchEvent__Output } from '../../../virtnode/handler/v1/WatchEvent.js';
import type { WatchRequest as _virtnode_handler_v1_WatchRequest, WatchRequest__Output as _virtnode_handler_v1_WatchRequest__Output } from '../../../virtnode/handler/v1/WatchRequest.js';

export interface NodeClient extends grpc.Client {
  /**
   * Volume hotplug, as virtctl's addvolume and removevolume: a disk and its volume
   * added to (removed from) a running VMI, attached in the guest before the call
   * returns; with persist, the VM's template gets (loses) them too.
   */
  AddVolume(argument: _virtnode_handler_v1_AddVolumeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  AddVolume(argument: _virtnode_handler_v1_AddVolumeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  AddVolume(argument: _virtnode_handler_v1_AddVolumeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  AddVolume(argument: _virtnode_handler_v1_AddVolumeRequest, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Volume hotplug, as virtctl's addvolume and removevolume: a disk and its volume
   * added to (removed from) a running VMI, attached in the guest before the call
   * returns; with persist, the VM's template gets (loses) them too.
   */
  addVolume(argument: _virtnode_handler_v1_AddVolumeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  addVolume(argument: _virtnode_handler_v1_AddVolumeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  addVolume(argument: _virtnode_handler_v1_AddVolumeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  addVolume(argument: _virtnode_handler_v1_AddVolumeRequest, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Creates or updates VirtualMachines / VirtualMachineInstances from a manifest
   * (YAML or JSON, several documents allowed). All documents are validated before
   * any is stored: a rejected manifest changes nothing.
   */
  Apply(argument: _virtnode_handler_v1_ApplyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  Apply(argument: _virtnode_handler_v1_ApplyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  Apply(argument: _virtnode_handler_v1_ApplyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  Apply(argument: _virtnode_handler_v1_ApplyRequest, callback: grpc.requestCallback<_virtnode_handler_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Creates or updates VirtualMachines / VirtualMachineInstances from a manifest
   * (YAML or JSON, several documents allowed). All documents are validated before
   * any is stored: a rejected manifest changes nothing.
   */
  apply(argument: _virtnode_handler_v1_ApplyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  apply(argument: _virtnode_handler_v1_ApplyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  apply(argument: _virtnode_handler_v1_ApplyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  apply(argument: _virtnode_handler_v1_ApplyRequest, callback: grpc.requestCallback<_virtnode_handler_v1_ApplyResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * The serial console of a running VMI. The first message names the VMI; every
   * later message carries bytes typed by the user. One client at a time: another is
   * refused (ALREADY_EXISTS, "already attached") unless its first message sets
   * force, which ends the first client's stream (virtctl console's takeover).
   */
  Console(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_virtnode_handler_v1_ConsoleInput, _virtnode_handler_v1_ConsoleOutput__Output>;
  Console(options?: grpc.CallOptions): grpc.ClientDuplexStream<_virtnode_handler_v1_ConsoleInput, _virtnode_handler_v1_ConsoleOutput__Output>;
  /**
   * The serial console of a running VMI. The first message names the VMI; every
   * later message carries bytes typed by the user. One client at a time: another is
   * refused (ALREADY_EXISTS, "already attached") unless its first message sets
   * force, which ends the first client's stream (virtctl console's takeover).
   */
  console(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_virtnode_handler_v1_ConsoleInput, _virtnode_handler_v1_ConsoleOutput__Output>;
  console(options?: grpc.CallOptions): grpc.ClientDuplexStream<_virtnode_handler_v1_ConsoleInput, _virtnode_handler_v1_ConsoleOutput__Output>;
  
  /**
   * Deletes a VM (and its VMI) or a VMI. Graceful: the guest gets its
   * terminationGracePeriodSeconds unless grace_period_seconds overrides it.
   */
  Delete(argument: _virtnode_handler_v1_DeleteRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  Delete(argument: _virtnode_handler_v1_DeleteRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  Delete(argument: _virtnode_handler_v1_DeleteRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  Delete(argument: _virtnode_handler_v1_DeleteRequest, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Deletes a VM (and its VMI) or a VMI. Graceful: the guest gets its
   * terminationGracePeriodSeconds unless grace_period_seconds overrides it.
   */
  delete(argument: _virtnode_handler_v1_DeleteRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  delete(argument: _virtnode_handler_v1_DeleteRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  delete(argument: _virtnode_handler_v1_DeleteRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  delete(argument: _virtnode_handler_v1_DeleteRequest, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  
  FilesystemList(argument: _virtnode_handler_v1_GuestAgentRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_GuestAgentResponse__Output>): grpc.ClientUnaryCall;
  FilesystemList(argument: _virtnode_handler_v1_GuestAgentRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_GuestAgentResponse__Output>): grpc.ClientUnaryCall;
  FilesystemList(argument: _virtnode_handler_v1_GuestAgentRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_GuestAgentResponse__Output>): grpc.ClientUnaryCall;
  FilesystemList(argument: _virtnode_handler_v1_GuestAgentRequest, callback: grpc.requestCallback<_virtnode_handler_v1_GuestAgentResponse__Output>): grpc.ClientUnaryCall;
  filesystemList(argument: _virtnode_handler_v1_GuestAgentRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_GuestAgentResponse__Output>): grpc.ClientUnaryCall;
  filesystemList(argument: _virtnode_handler_v1_GuestAgentRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_GuestAgentResponse__Output>): grpc.ClientUnaryCall;
  filesystemList(argument: _virtnode_handler_v1_GuestAgentRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_GuestAgentResponse__Output>): grpc.ClientUnaryCall;
  filesystemList(argument: _virtnode_handler_v1_GuestAgentRequest, callback: grpc.requestCallback<_virtnode_handler_v1_GuestAgentResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * virtctl freeze and unfreeze: the guest's filesystems frozen through its agent
   * (status.fsFreezeStatus "frozen"), thawed by Unfreeze or by the launcher itself
   * after unfreeze_timeout_seconds.
   */
  Freeze(argument: _virtnode_handler_v1_FreezeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  Freeze(argument: _virtnode_handler_v1_FreezeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  Freeze(argument: _virtnode_handler_v1_FreezeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  Freeze(argument: _virtnode_handler_v1_FreezeRequest, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  /**
   * virtctl freeze and unfreeze: the guest's filesystems frozen through its agent
   * (status.fsFreezeStatus "frozen"), thawed by Unfreeze or by the launcher itself
   * after unfreeze_timeout_seconds.
   */
  freeze(argument: _virtnode_handler_v1_FreezeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  freeze(argument: _virtnode_handler_v1_FreezeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  freeze(argument: _virtnode_handler_v1_FreezeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  freeze(argument: _virtnode_handler_v1_FreezeRequest, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  
  Get(argument: _virtnode_handler_v1_ObjectRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_Object__Output>): grpc.ClientUnaryCall;
  Get(argument: _virtnode_handler_v1_ObjectRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_Object__Output>): grpc.ClientUnaryCall;
  Get(argument: _virtnode_handler_v1_ObjectRef, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_Object__Output>): grpc.ClientUnaryCall;
  Get(argument: _virtnode_handler_v1_ObjectRef, callback: grpc.requestCallback<_virtnode_handler_v1_Object__Output>): grpc.ClientUnaryCall;
  get(argument: _virtnode_handler_v1_ObjectRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_Object__Output>): grpc.ClientUnaryCall;
  get(argument: _virtnode_handler_v1_ObjectRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_Object__Output>): grpc.ClientUnaryCall;
  get(argument: _virtnode_handler_v1_ObjectRef, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_Object__Output>): grpc.ClientUnaryCall;
  get(argument: _virtnode_handler_v1_ObjectRef, callback: grpc.requestCallback<_virtnode_handler_v1_Object__Output>): grpc.ClientUnaryCall;
  
  /**
   * What a running VMI's domain uses now: CPU, memory, disks, interfaces, and what
   * its launcher costs beside QEMU. Counters are totals since the domain started.
   */
  GetDomainStats(argument: _virtnode_handler_v1_DomainStatsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_DomainStats__Output>): grpc.ClientUnaryCall;
  GetDomainStats(argument: _virtnode_handler_v1_DomainStatsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_DomainStats__Output>): grpc.ClientUnaryCall;
  GetDomainStats(argument: _virtnode_handler_v1_DomainStatsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_DomainStats__Output>): grpc.ClientUnaryCall;
  GetDomainStats(argument: _virtnode_handler_v1_DomainStatsRequest, callback: grpc.requestCallback<_virtnode_handler_v1_DomainStats__Output>): grpc.ClientUnaryCall;
  /**
   * What a running VMI's domain uses now: CPU, memory, disks, interfaces, and what
   * its launcher costs beside QEMU. Counters are totals since the domain started.
   */
  getDomainStats(argument: _virtnode_handler_v1_DomainStatsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_DomainStats__Output>): grpc.ClientUnaryCall;
  getDomainStats(argument: _virtnode_handler_v1_DomainStatsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_DomainStats__Output>): grpc.ClientUnaryCall;
  getDomainStats(argument: _virtnode_handler_v1_DomainStatsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_DomainStats__Output>): grpc.ClientUnaryCall;
  getDomainStats(argument: _virtnode_handler_v1_DomainStatsRequest, callback: grpc.requestCallback<_virtnode_handler_v1_DomainStats__Output>): grpc.ClientUnaryCall;
  
  GetNodeInfo(argument: _virtnode_handler_v1_NodeInfoRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_NodeInfo__Output>): grpc.ClientUnaryCall;
  GetNodeInfo(argument: _virtnode_handler_v1_NodeInfoRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_NodeInfo__Output>): grpc.ClientUnaryCall;
  GetNodeInfo(argument: _virtnode_handler_v1_NodeInfoRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_NodeInfo__Output>): grpc.ClientUnaryCall;
  GetNodeInfo(argument: _virtnode_handler_v1_NodeInfoRequest, callback: grpc.requestCallback<_virtnode_handler_v1_NodeInfo__Output>): grpc.ClientUnaryCall;
  getNodeInfo(argument: _virtnode_handler_v1_NodeInfoRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_NodeInfo__Output>): grpc.ClientUnaryCall;
  getNodeInfo(argument: _virtnode_handler_v1_NodeInfoRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_NodeInfo__Output>): grpc.ClientUnaryCall;
  getNodeInfo(argument: _virtnode_handler_v1_NodeInfoRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_NodeInfo__Output>): grpc.ClientUnaryCall;
  getNodeInfo(argument: _virtnode_handler_v1_NodeInfoRequest, callback: grpc.requestCallback<_virtnode_handler_v1_NodeInfo__Output>): grpc.ClientUnaryCall;
  
  /**
   * What the guest agent of a running VMI answers now, as virtctl's guestosinfo,
   * fslist and userlist: kubevirt.io/v1 VirtualMachineInstanceGuestAgentInfo,
   * VirtualMachineInstanceFileSystemList and VirtualMachineInstanceGuestOSUserList.
   */
  GuestOSInfo(argument: _virtnode_handler_v1_GuestAgentRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_GuestAgentResponse__Output>): grpc.ClientUnaryCall;
  GuestOSInfo(argument: _virtnode_handler_v1_GuestAgentRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_GuestAgentResponse__Output>): grpc.ClientUnaryCall;
  GuestOSInfo(argument: _virtnode_handler_v1_GuestAgentRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_GuestAgentResponse__Output>): grpc.ClientUnaryCall;
  GuestOSInfo(argument: _virtnode_handler_v1_GuestAgentRequest, callback: grpc.requestCallback<_virtnode_handler_v1_GuestAgentResponse__Output>): grpc.ClientUnaryCall;
  /**
   * What the guest agent of a running VMI answers now, as virtctl's guestosinfo,
   * fslist and userlist: kubevirt.io/v1 VirtualMachineInstanceGuestAgentInfo,
   * VirtualMachineInstanceFileSystemList and VirtualMachineInstanceGuestOSUserList.
   */
  guestOsInfo(argument: _virtnode_handler_v1_GuestAgentRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_GuestAgentResponse__Output>): grpc.ClientUnaryCall;
  guestOsInfo(argument: _virtnode_handler_v1_GuestAgentRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_GuestAgentResponse__Output>): grpc.ClientUnaryCall;
  guestOsInfo(argument: _virtnode_handler_v1_GuestAgentRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_GuestAgentResponse__Output>): grpc.ClientUnaryCall;
  guestOsInfo(argument: _virtnode_handler_v1_GuestAgentRequest, callback: grpc.requestCallback<_virtnode_handler_v1_GuestAgentResponse__Output>): grpc.ClientUnaryCall;
  
  List(argument: _virtnode_handler_v1_ListRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  List(argument: _virtnode_handler_v1_ListRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  List(argument: _virtnode_handler_v1_ListRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  List(argument: _virtnode_handler_v1_ListRequest, callback: grpc.requestCallback<_virtnode_handler_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  list(argument: _virtnode_handler_v1_ListRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  list(argument: _virtnode_handler_v1_ListRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  list(argument: _virtnode_handler_v1_ListRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  list(argument: _virtnode_handler_v1_ListRequest, callback: grpc.requestCallback<_virtnode_handler_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * The images in the node's content store, and pulls in progress.
   */
  ListImages(argument: _virtnode_handler_v1_ListImagesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_ListImagesResponse__Output>): grpc.ClientUnaryCall;
  ListImages(argument: _virtnode_handler_v1_ListImagesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_ListImagesResponse__Output>): grpc.ClientUnaryCall;
  ListImages(argument: _virtnode_handler_v1_ListImagesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_ListImagesResponse__Output>): grpc.ClientUnaryCall;
  ListImages(argument: _virtnode_handler_v1_ListImagesRequest, callback: grpc.requestCallback<_virtnode_handler_v1_ListImagesResponse__Output>): grpc.ClientUnaryCall;
  /**
   * The images in the node's content store, and pulls in progress.
   */
  listImages(argument: _virtnode_handler_v1_ListImagesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_ListImagesResponse__Output>): grpc.ClientUnaryCall;
  listImages(argument: _virtnode_handler_v1_ListImagesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_ListImagesResponse__Output>): grpc.ClientUnaryCall;
  listImages(argument: _virtnode_handler_v1_ListImagesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_ListImagesResponse__Output>): grpc.ClientUnaryCall;
  listImages(argument: _virtnode_handler_v1_ListImagesRequest, callback: grpc.requestCallback<_virtnode_handler_v1_ListImagesResponse__Output>): grpc.ClientUnaryCall;
  
  Pause(argument: _virtnode_handler_v1_LifecycleRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  Pause(argument: _virtnode_handler_v1_LifecycleRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  Pause(argument: _virtnode_handler_v1_LifecycleRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  Pause(argument: _virtnode_handler_v1_LifecycleRequest, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  pause(argument: _virtnode_handler_v1_LifecycleRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  pause(argument: _virtnode_handler_v1_LifecycleRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  pause(argument: _virtnode_handler_v1_LifecycleRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  pause(argument: _virtnode_handler_v1_LifecycleRequest, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  
  RemoveVolume(argument: _virtnode_handler_v1_RemoveVolumeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  RemoveVolume(argument: _virtnode_handler_v1_RemoveVolumeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  RemoveVolume(argument: _virtnode_handler_v1_RemoveVolumeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  RemoveVolume(argument: _virtnode_handler_v1_RemoveVolumeRequest, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  removeVolume(argument: _virtnode_handler_v1_RemoveVolumeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  removeVolume(argument: _virtnode_handler_v1_RemoveVolumeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  removeVolume(argument: _virtnode_handler_v1_RemoveVolumeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  removeVolume(argument: _virtnode_handler_v1_RemoveVolumeRequest, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  
  Reset(argument: _virtnode_handler_v1_LifecycleRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  Reset(argument: _virtnode_handler_v1_LifecycleRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  Reset(argument: _virtnode_handler_v1_LifecycleRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  Reset(argument: _virtnode_handler_v1_LifecycleRequest, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  reset(argument: _virtnode_handler_v1_LifecycleRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  reset(argument: _virtnode_handler_v1_LifecycleRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  reset(argument: _virtnode_handler_v1_LifecycleRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  reset(argument: _virtnode_handler_v1_LifecycleRequest, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  
  Restart(argument: _virtnode_handler_v1_LifecycleRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  Restart(argument: _virtnode_handler_v1_LifecycleRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  Restart(argument: _virtnode_handler_v1_LifecycleRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  Restart(argument: _virtnode_handler_v1_LifecycleRequest, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  restart(argument: _virtnode_handler_v1_LifecycleRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  restart(argument: _virtnode_handler_v1_LifecycleRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  restart(argument: _virtnode_handler_v1_LifecycleRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  restart(argument: _virtnode_handler_v1_LifecycleRequest, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * The guest's screen now, as PNG (QEMU's screendump), as `virtctl vnc screenshot`.
   */
  Screenshot(argument: _virtnode_handler_v1_ScreenshotRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_ScreenshotResponse__Output>): grpc.ClientUnaryCall;
  Screenshot(argument: _virtnode_handler_v1_ScreenshotRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_ScreenshotResponse__Output>): grpc.ClientUnaryCall;
  Screenshot(argument: _virtnode_handler_v1_ScreenshotRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_ScreenshotResponse__Output>): grpc.ClientUnaryCall;
  Screenshot(argument: _virtnode_handler_v1_ScreenshotRequest, callback: grpc.requestCallback<_virtnode_handler_v1_ScreenshotResponse__Output>): grpc.ClientUnaryCall;
  /**
   * The guest's screen now, as PNG (QEMU's screendump), as `virtctl vnc screenshot`.
   */
  screenshot(argument: _virtnode_handler_v1_ScreenshotRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_ScreenshotResponse__Output>): grpc.ClientUnaryCall;
  screenshot(argument: _virtnode_handler_v1_ScreenshotRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_ScreenshotResponse__Output>): grpc.ClientUnaryCall;
  screenshot(argument: _virtnode_handler_v1_ScreenshotRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_ScreenshotResponse__Output>): grpc.ClientUnaryCall;
  screenshot(argument: _virtnode_handler_v1_ScreenshotRequest, callback: grpc.requestCallback<_virtnode_handler_v1_ScreenshotResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * What the guest wrote to its serial console lately (devices.logSerialConsole): the
   * launcher keeps a bounded log, rotated once; this answers both parts, oldest first.
   */
  SerialConsoleLog(argument: _virtnode_handler_v1_SerialConsoleLogRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_SerialConsoleLogResponse__Output>): grpc.ClientUnaryCall;
  SerialConsoleLog(argument: _virtnode_handler_v1_SerialConsoleLogRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_SerialConsoleLogResponse__Output>): grpc.ClientUnaryCall;
  SerialConsoleLog(argument: _virtnode_handler_v1_SerialConsoleLogRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_SerialConsoleLogResponse__Output>): grpc.ClientUnaryCall;
  SerialConsoleLog(argument: _virtnode_handler_v1_SerialConsoleLogRequest, callback: grpc.requestCallback<_virtnode_handler_v1_SerialConsoleLogResponse__Output>): grpc.ClientUnaryCall;
  /**
   * What the guest wrote to its serial console lately (devices.logSerialConsole): the
   * launcher keeps a bounded log, rotated once; this answers both parts, oldest first.
   */
  serialConsoleLog(argument: _virtnode_handler_v1_SerialConsoleLogRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_SerialConsoleLogResponse__Output>): grpc.ClientUnaryCall;
  serialConsoleLog(argument: _virtnode_handler_v1_SerialConsoleLogRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_SerialConsoleLogResponse__Output>): grpc.ClientUnaryCall;
  serialConsoleLog(argument: _virtnode_handler_v1_SerialConsoleLogRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_SerialConsoleLogResponse__Output>): grpc.ClientUnaryCall;
  serialConsoleLog(argument: _virtnode_handler_v1_SerialConsoleLogRequest, callback: grpc.requestCallback<_virtnode_handler_v1_SerialConsoleLogResponse__Output>): grpc.ClientUnaryCall;
  
  SoftReboot(argument: _virtnode_handler_v1_LifecycleRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  SoftReboot(argument: _virtnode_handler_v1_LifecycleRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  SoftReboot(argument: _virtnode_handler_v1_LifecycleRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  SoftReboot(argument: _virtnode_handler_v1_LifecycleRequest, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  softReboot(argument: _virtnode_handler_v1_LifecycleRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  softReboot(argument: _virtnode_handler_v1_LifecycleRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  softReboot(argument: _virtnode_handler_v1_LifecycleRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  softReboot(argument: _virtnode_handler_v1_LifecycleRequest, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Lifecycle verbs, as virtctl names them. `name` may name a VM or a bare VMI.
   */
  Start(argument: _virtnode_handler_v1_LifecycleRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  Start(argument: _virtnode_handler_v1_LifecycleRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  Start(argument: _virtnode_handler_v1_LifecycleRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  Start(argument: _virtnode_handler_v1_LifecycleRequest, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Lifecycle verbs, as virtctl names them. `name` may name a VM or a bare VMI.
   */
  start(argument: _virtnode_handler_v1_LifecycleRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  start(argument: _virtnode_handler_v1_LifecycleRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  start(argument: _virtnode_handler_v1_LifecycleRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  start(argument: _virtnode_handler_v1_LifecycleRequest, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  
  Stop(argument: _virtnode_handler_v1_LifecycleRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  Stop(argument: _virtnode_handler_v1_LifecycleRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  Stop(argument: _virtnode_handler_v1_LifecycleRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  Stop(argument: _virtnode_handler_v1_LifecycleRequest, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  stop(argument: _virtnode_handler_v1_LifecycleRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  stop(argument: _virtnode_handler_v1_LifecycleRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  stop(argument: _virtnode_handler_v1_LifecycleRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  stop(argument: _virtnode_handler_v1_LifecycleRequest, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  
  Unfreeze(argument: _virtnode_handler_v1_LifecycleRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  Unfreeze(argument: _virtnode_handler_v1_LifecycleRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  Unfreeze(argument: _virtnode_handler_v1_LifecycleRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  Unfreeze(argument: _virtnode_handler_v1_LifecycleRequest, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  unfreeze(argument: _virtnode_handler_v1_LifecycleRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  unfreeze(argument: _virtnode_handler_v1_LifecycleRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  unfreeze(argument: _virtnode_handler_v1_LifecycleRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  unfreeze(argument: _virtnode_handler_v1_LifecycleRequest, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  
  Unpause(argument: _virtnode_handler_v1_LifecycleRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  Unpause(argument: _virtnode_handler_v1_LifecycleRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  Unpause(argument: _virtnode_handler_v1_LifecycleRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  Unpause(argument: _virtnode_handler_v1_LifecycleRequest, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  unpause(argument: _virtnode_handler_v1_LifecycleRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  unpause(argument: _virtnode_handler_v1_LifecycleRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  unpause(argument: _virtnode_handler_v1_LifecycleRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  unpause(argument: _virtnode_handler_v1_LifecycleRequest, callback: grpc.requestCallback<_virtnode_handler_v1_OperationResponse__Output>): grpc.ClientUnaryCall;
  
  UserList(argument: _virtnode_handler_v1_GuestAgentRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_GuestAgentResponse__Output>): grpc.ClientUnaryCall;
  UserList(argument: _virtnode_handler_v1_GuestAgentRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_GuestAgentResponse__Output>): grpc.ClientUnaryCall;
  UserList(argument: _virtnode_handler_v1_GuestAgentRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_GuestAgentResponse__Output>): grpc.ClientUnaryCall;
  UserList(argument: _virtnode_handler_v1_GuestAgentRequest, callback: grpc.requestCallback<_virtnode_handler_v1_GuestAgentResponse__Output>): grpc.ClientUnaryCall;
  userList(argument: _virtnode_handler_v1_GuestAgentRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_GuestAgentResponse__Output>): grpc.ClientUnaryCall;
  userList(argument: _virtnode_handler_v1_GuestAgentRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_GuestAgentResponse__Output>): grpc.ClientUnaryCall;
  userList(argument: _virtnode_handler_v1_GuestAgentRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_GuestAgentResponse__Output>): grpc.ClientUnaryCall;
  userList(argument: _virtnode_handler_v1_GuestAgentRequest, callback: grpc.requestCallback<_virtnode_handler_v1_GuestAgentResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * The VNC display of a running VMI with a graphics device: RFB bytes both ways,
   * framed as Console (the first message names the VMI and may set force; one client
   * at a time likewise). The display is only ever reached through this call: QEMU
   * listens on no TCP port, nor on any socket of its own.
   */
  VNC(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_virtnode_handler_v1_ConsoleInput, _virtnode_handler_v1_ConsoleOutput__Output>;
  VNC(options?: grpc.CallOptions): grpc.ClientDuplexStream<_virtnode_handler_v1_ConsoleInput, _virtnode_handler_v1_ConsoleOutput__Output>;
  /**
   * The VNC display of a running VMI with a graphics device: RFB bytes both ways,
   * framed as Console (the first message names the VMI and may set force; one client
   * at a time likewise). The display is only ever reached through this call: QEMU
   * listens on no TCP port, nor on any socket of its own.
   */
  vnc(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_virtnode_handler_v1_ConsoleInput, _virtnode_handler_v1_ConsoleOutput__Output>;
  vnc(options?: grpc.CallOptions): grpc.ClientDuplexStream<_virtnode_handler_v1_ConsoleInput, _virtnode_handler_v1_ConsoleOutput__Output>;
  
  /**
   * Changes to objects and node events in order. Every change has a sequence
   * number; a watcher that reconnects with since_seq gets exactly what it missed,
   * or OUT_OF_RANGE when the handler no longer holds it (then list and watch again).
   */
  Watch(argument: _virtnode_handler_v1_WatchRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_virtnode_handler_v1_WatchEvent__Output>;
  Watch(argument: _virtnode_handler_v1_WatchRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_virtnode_handler_v1_WatchEvent__Output>;
  /**
   * Changes to objects and node events in order. Every change has a sequence
   * number; a watcher that reconnects with since_seq gets exactly what it missed,
   * or OUT_OF_RANGE when the handler no longer holds it (then list and watch again).
   */
  watch(argument: _virtnode_handler_v1_WatchRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_virtnode_handler_v1_WatchEvent__Output>;
  watch(argument: _virtnode_handler_v1_WatchRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_virtnode_handler_v1_WatchEvent__Output>;
  
}

export interface NodeHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Volume hotplug, as virtctl's addvolume and removevolume: a disk and its volume
   * added to (removed from) a running VMI, attached in the guest before the call
   * returns; with persist, the VM's template gets (loses) them too.
   */
  AddVolume: grpc.handleUnaryCall<_virtnode_handler_v1_AddVolumeRequest__Output, _virtnode_handler_v1_OperationResponse>;
  
  /**
   * Creates or updates VirtualMachines / VirtualMachineInstances from a manifest
   * (YAML or JSON, several documents allowed). All documents are validated before
   * any is stored: a rejected manifest changes nothing.
   */
  Apply: grpc.handleUnaryCall<_virtnode_handler_v1_ApplyRequest__Output, _virtnode_handler_v1_ApplyResponse>;
  
  /**
   * The serial console of a running VMI. The first message names the VMI; every
   * later message carries bytes typed by the user. One client at a time: another is
   * refused (ALREADY_EXISTS, "already attached") unless its first message sets
   * force, which ends the first client's stream (virtctl console's takeover).
   */
  Console: grpc.handleBidiStreamingCall<_virtnode_handler_v1_ConsoleInput__Output, _virtnode_handler_v1_ConsoleOutput>;
  
  /**
   * Deletes a VM (and its VMI) or a VMI. Graceful: the guest gets its
   * terminationGracePeriodSeconds unless grace_period_seconds overrides it.
   */
  Delete: grpc.handleUnaryCall<_virtnode_handler_v1_DeleteRequest__Output, _virtnode_handler_v1_OperationResponse>;
  
  FilesystemList: grpc.handleUnaryCall<_virtnode_handler_v1_GuestAgentRequest__Output, _virtnode_handler_v1_GuestAgentResponse>;
  
  /**
   * virtctl freeze and unfreeze: the guest's filesystems frozen through its agent
   * (status.fsFreezeStatus "frozen"), thawed by Unfreeze or by the launcher itself
   * after unfreeze_timeout_seconds.
   */
  Freeze: grpc.handleUnaryCall<_virtnode_handler_v1_FreezeRequest__Output, _virtnode_handler_v1_OperationResponse>;
  
  Get: grpc.handleUnaryCall<_virtnode_handler_v1_ObjectRef__Output, _virtnode_handler_v1_Object>;
  
  /**
   * What a running VMI's domain uses now: CPU, memory, disks, interfaces, and what
   * its launcher costs beside QEMU. Counters are totals since the domain started.
   */
  GetDomainStats: grpc.handleUnaryCall<_virtnode_handler_v1_DomainStatsRequest__Output, _virtnode_handler_v1_DomainStats>;
  
  GetNodeInfo: grpc.handleUnaryCall<_virtnode_handler_v1_NodeInfoRequest__Output, _virtnode_handler_v1_NodeInfo>;
  
  /**
   * What the guest agent of a running VMI answers now, as virtctl's guestosinfo,
   * fslist and userlist: kubevirt.io/v1 VirtualMachineInstanceGuestAgentInfo,
   * VirtualMachineInstanceFileSystemList and VirtualMachineInstanceGuestOSUserList.
   */
  GuestOSInfo: grpc.handleUnaryCall<_virtnode_handler_v1_GuestAgentRequest__Output, _virtnode_handler_v1_GuestAgentResponse>;
  
  List: grpc.handleUnaryCall<_virtnode_handler_v1_ListRequest__Output, _virtnode_handler_v1_ListResponse>;
  
  /**
   * The images in the node's content store, and pulls in progress.
   */
  ListImages: grpc.handleUnaryCall<_virtnode_handler_v1_ListImagesRequest__Output, _virtnode_handler_v1_ListImagesResponse>;
  
  Pause: grpc.handleUnaryCall<_virtnode_handler_v1_LifecycleRequest__Output, _virtnode_handler_v1_OperationResponse>;
  
  RemoveVolume: grpc.handleUnaryCall<_virtnode_handler_v1_RemoveVolumeRequest__Output, _virtnode_handler_v1_OperationResponse>;
  
  Reset: grpc.handleUnaryCall<_virtnode_handler_v1_LifecycleRequest__Output, _virtnode_handler_v1_OperationResponse>;
  
  Restart: grpc.handleUnaryCall<_virtnode_handler_v1_LifecycleRequest__Output, _virtnode_handler_v1_OperationResponse>;
  
  /**
   * The guest's screen now, as PNG (QEMU's screendump), as `virtctl vnc screenshot`.
   */
  Screenshot: grpc.handleUnaryCall<_virtnode_handler_v1_ScreenshotRequest__Output, _virtnode_handler_v1_ScreenshotResponse>;
  
  /**
   * What the guest wrote to its serial console lately (devices.logSerialConsole): the
   * launcher keeps a bounded log, rotated once; this answers both parts, oldest first.
   */
  SerialConsoleLog: grpc.handleUnaryCall<_virtnode_handler_v1_SerialConsoleLogRequest__Output, _virtnode_handler_v1_SerialConsoleLogResponse>;
  
  SoftReboot: grpc.handleUnaryCall<_virtnode_handler_v1_LifecycleRequest__Output, _virtnode_handler_v1_OperationResponse>;
  
  /**
   * Lifecycle verbs, as virtctl names them. `name` may name a VM or a bare VMI.
   */
  Start: grpc.handleUnaryCall<_virtnode_handler_v1_LifecycleRequest__Output, _virtnode_handler_v1_OperationResponse>;
  
  Stop: grpc.handleUnaryCall<_virtnode_handler_v1_LifecycleRequest__Output, _virtnode_handler_v1_OperationResponse>;
  
  Unfreeze: grpc.handleUnaryCall<_virtnode_handler_v1_LifecycleRequest__Output, _virtnode_handler_v1_OperationResponse>;
  
  Unpause: grpc.handleUnaryCall<_virtnode_handler_v1_LifecycleRequest__Output, _virtnode_handler_v1_OperationResponse>;
  
  UserList: grpc.handleUnaryCall<_virtnode_handler_v1_GuestAgentRequest__Output, _virtnode_handler_v1_GuestAgentResponse>;
  
  /**
   * The VNC display of a running VMI with a graphics device: RFB bytes both ways,
   * framed as Console (the first message names the VMI and may set force; one client
   * at a time likewise). The display is only ever reached through this call: QEMU
   * listens on no TCP port, nor on any socket of its own.
   */
  VNC: grpc.handleBidiStreamingCall<_virtnode_handler_v1_ConsoleInput__Output, _virtnode_handler_v1_ConsoleOutput>;
  
  /**
   * Changes to objects and node events in order. Every change has a sequence
   * number; a watcher that reconnects with since_seq gets exactly what it missed,
   * or OUT_OF_RANGE when the handler no longer holds it (then list and watch again).
   */
  Watch: grpc.handleServerStreamingCall<_virtnode_handler_v1_WatchRequest__Output, _virtnode_handler_v1_WatchEvent>;
  
}

export interface NodeDefinition extends grpc.ServiceDefinition {
  AddVolume: MethodDefinition<_virtnode_handler_v1_AddVolumeRequest, _virtnode_handler_v1_OperationResponse, _virtnode_handler_v1_AddVolumeRequest__Output, _virtnode_handler_v1_OperationResponse__Output>
  Apply: MethodDefinition<_virtnode_handler_v1_ApplyRequest, _virtnode_handler_v1_ApplyResponse, _virtnode_handler_v1_ApplyRequest__Output, _virtnode_handler_v1_ApplyResponse__Output>
  Console: MethodDefinition<_virtnode_handler_v1_ConsoleInput, _virtnode_handler_v1_ConsoleOutput, _virtnode_handler_v1_ConsoleInput__Output, _virtnode_handler_v1_ConsoleOutput__Output>
  Delete: MethodDefinition<_virtnode_handler_v1_DeleteRequest, _virtnode_handler_v1_OperationResponse, _virtnode_handler_v1_DeleteRequest__Output, _virtnode_handler_v1_OperationResponse__Output>
  FilesystemList: MethodDefinition<_virtnode_handler_v1_GuestAgentRequest, _virtnode_handler_v1_GuestAgentResponse, _virtnode_handler_v1_GuestAgentRequest__Output, _virtnode_handler_v1_GuestAgentResponse__Output>
  Freeze: MethodDefinition<_virtnode_handler_v1_FreezeRequest, _virtnode_handler_v1_OperationResponse, _virtnode_handler_v1_FreezeRequest__Output, _virtnode_handler_v1_OperationResponse__Output>
  Get: MethodDefinition<_virtnode_handler_v1_ObjectRef, _virtnode_handler_v1_Object, _virtnode_handler_v1_ObjectRef__Output, _virtnode_handler_v1_Object__Output>
  GetDomainStats: MethodDefinition<_virtnode_handler_v1_DomainStatsRequest, _virtnode_handler_v1_DomainStats, _virtnode_handler_v1_DomainStatsRequest__Output, _virtnode_handler_v1_DomainStats__Output>
  GetNodeInfo: MethodDefinition<_virtnode_handler_v1_NodeInfoRequest, _virtnode_handler_v1_NodeInfo, _virtnode_handler_v1_NodeInfoRequest__Output, _virtnode_handler_v1_NodeInfo__Output>
  GuestOSInfo: MethodDefinition<_virtnode_handler_v1_GuestAgentRequest, _virtnode_handler_v1_GuestAgentResponse, _virtnode_handler_v1_GuestAgentRequest__Output, _virtnode_handler_v1_GuestAgentResponse__Output>
  List: MethodDefinition<_virtnode_handler_v1_ListRequest, _virtnode_handler_v1_ListResponse, _virtnode_handler_v1_ListRequest__Output, _virtnode_handler_v1_ListResponse__Output>
  ListImages: MethodDefinition<_virtnode_handler_v1_ListImagesRequest, _virtnode_handler_v1_ListImagesResponse, _virtnode_handler_v1_ListImagesRequest__Output, _virtnode_handler_v1_ListImagesResponse__Output>
  Pause: MethodDefinition<_virtnode_handler_v1_LifecycleRequest, _virtnode_handler_v1_OperationResponse, _virtnode_handler_v1_LifecycleRequest__Output, _virtnode_handler_v1_OperationResponse__Output>
  RemoveVolume: MethodDefinition<_virtnode_handler_v1_RemoveVolumeRequest, _virtnode_handler_v1_OperationResponse, _virtnode_handler_v1_RemoveVolumeRequest__Output, _virtnode_handler_v1_OperationResponse__Output>
  Reset: MethodDefinition<_virtnode_handler_v1_LifecycleRequest, _virtnode_handler_v1_OperationResponse, _virtnode_handler_v1_LifecycleRequest__Output, _virtnode_handler_v1_OperationResponse__Output>
  Restart: MethodDefinition<_virtnode_handler_v1_LifecycleRequest, _virtnode_handler_v1_OperationResponse, _virtnode_handler_v1_LifecycleRequest__Output, _virtnode_handler_v1_OperationResponse__Output>
  Screenshot: MethodDefinition<_virtnode_handler_v1_ScreenshotRequest, _virtnode_handler_v1_ScreenshotResponse, _virtnode_handler_v1_ScreenshotRequest__Output, _virtnode_handler_v1_ScreenshotResponse__Output>
  SerialConsoleLog: MethodDefinition<_virtnode_handler_v1_SerialConsoleLogRequest, _virtnode_handler_v1_SerialConsoleLogResponse, _virtnode_handler_v1_SerialConsoleLogRequest__Output, _virtnode_handler_v1_SerialConsoleLogResponse__Output>
  SoftReboot: MethodDefinition<_virtnode_handler_v1_LifecycleRequest, _virtnode_handler_v1_OperationResponse, _virtnode_handler_v1_LifecycleRequest__Output, _virtnode_handler_v1_OperationResponse__Output>
  Start: MethodDefinition<_virtnode_handler_v1_LifecycleRequest, _virtnode_handler_v1_OperationResponse, _virtnode_handler_v1_LifecycleRequest__Output, _virtnode_handler_v1_OperationResponse__Output>
  Stop: MethodDefinition<_virtnode_handler_v1_LifecycleRequest, _virtnode_handler_v1_OperationResponse, _virtnode_handler_v1_LifecycleRequest__Output, _virtnode_handler_v1_OperationResponse__Output>
  Unfreeze: MethodDefinition<_virtnode_handler_v1_LifecycleRequest, _virtnode_handler_v1_OperationResponse, _virtnode_handler_v1_LifecycleRequest__Output, _virtnode_handler_v1_OperationResponse__Output>
  Unpause: MethodDefinition<_virtnode_handler_v1_LifecycleRequest, _virtnode_handler_v1_OperationResponse, _virtnode_handler_v1_LifecycleRequest__Output, _virtnode_handler_v1_OperationResponse__Output>
  UserList: MethodDefinition<_virtnode_handler_v1_GuestAgentRequest, _virtnode_handler_v1_GuestAgentResponse, _virtnode_handler_v1_GuestAgentRequest__Output, _virtnode_handler_v1_GuestAgentResponse__Output>
  VNC: MethodDefinition<_virtnode_handler_v1_ConsoleInput, _virtnode_handler_v1_ConsoleOutput, _virtnode_handler_v1_ConsoleInput__Output, _virtnode_handler_v1_ConsoleOutput__Output>
  Watch: MethodDefinition<_virtnode_handler_v1_WatchRequest, _virtnode_handler_v1_WatchEvent, _virtnode_handler_v1_WatchRequest__Output, _virtnode_handler_v1_WatchEvent__Output>
}
