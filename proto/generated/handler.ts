import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { AddVolumeRequest as _virtnode_handler_v1_AddVolumeRequest, AddVolumeRequest__Output as _virtnode_handler_v1_AddVolumeRequest__Output } from './virtnode/handler/v1/AddVolumeRequest.js';
import type { ApplyRequest as _virtnode_handler_v1_ApplyRequest, ApplyRequest__Output as _virtnode_handler_v1_ApplyRequest__Output } from './virtnode/handler/v1/ApplyRequest.js';
import type { ApplyResponse as _virtnode_handler_v1_ApplyResponse, ApplyResponse__Output as _virtnode_handler_v1_ApplyResponse__Output } from './virtnode/handler/v1/ApplyResponse.js';
import type { ConsoleInput as _virtnode_handler_v1_ConsoleInput, ConsoleInput__Output as _virtnode_handler_v1_ConsoleInput__Output } from './virtnode/handler/v1/ConsoleInput.js';
import type { ConsoleOutput as _virtnode_handler_v1_ConsoleOutput, ConsoleOutput__Output as _virtnode_handler_v1_ConsoleOutput__Output } from './virtnode/handler/v1/ConsoleOutput.js';
import type { DeleteRequest as _virtnode_handler_v1_DeleteRequest, DeleteRequest__Output as _virtnode_handler_v1_DeleteRequest__Output } from './virtnode/handler/v1/DeleteRequest.js';
import type { DomainBlockStats as _virtnode_handler_v1_DomainBlockStats, DomainBlockStats__Output as _virtnode_handler_v1_DomainBlockStats__Output } from './virtnode/handler/v1/DomainBlockStats.js';
import type { DomainCpuStats as _virtnode_handler_v1_DomainCpuStats, DomainCpuStats__Output as _virtnode_handler_v1_DomainCpuStats__Output } from './virtnode/handler/v1/DomainCpuStats.js';
import type { DomainInterfaceStats as _virtnode_handler_v1_DomainInterfaceStats, DomainInterfaceStats__Output as _virtnode_handler_v1_DomainInterfaceStats__Output } from './virtnode/handler/v1/DomainInterfaceStats.js';
import type { DomainMemoryStats as _virtnode_handler_v1_DomainMemoryStats, DomainMemoryStats__Output as _virtnode_handler_v1_DomainMemoryStats__Output } from './virtnode/handler/v1/DomainMemoryStats.js';
import type { DomainStats as _virtnode_handler_v1_DomainStats, DomainStats__Output as _virtnode_handler_v1_DomainStats__Output } from './virtnode/handler/v1/DomainStats.js';
import type { DomainStatsRequest as _virtnode_handler_v1_DomainStatsRequest, DomainStatsRequest__Output as _virtnode_handler_v1_DomainStatsRequest__Output } from './virtnode/handler/v1/DomainStatsRequest.js';
import type { DomainVcpuStats as _virtnode_handler_v1_DomainVcpuStats, DomainVcpuStats__Output as _virtnode_handler_v1_DomainVcpuStats__Output } from './virtnode/handler/v1/DomainVcpuStats.js';
import type { FreezeRequest as _virtnode_handler_v1_FreezeRequest, FreezeRequest__Output as _virtnode_handler_v1_FreezeRequest__Output } from './virtnode/handler/v1/FreezeRequest.js';
import type { GuestAgentRequest as _virtnode_handler_v1_GuestAgentRequest, GuestAgentRequest__Output as _virtnode_handler_v1_GuestAgentRequest__Output } from './virtnode/handler/v1/GuestAgentRequest.js';
import type { GuestAgentResponse as _virtnode_handler_v1_GuestAgentResponse, GuestAgentResponse__Output as _virtnode_handler_v1_GuestAgentResponse__Output } from './virtnode/handler/v1/GuestAgentResponse.js';
import type { Image as _virtnode_handler_v1_Image, Image__Output as _virtnode_handler_v1_Image__Output } from './virtnode/handler/v1/Image.js';
import type { ImagePull as _virtnode_handler_v1_ImagePull, ImagePull__Output as _virtnode_handler_v1_ImagePull__Output } from './virtnode/handler/v1/ImagePull.js';
import type { InfoClient as _virtnode_handler_v1_InfoClient, InfoDefinition as _virtnode_handler_v1_InfoDefinition } from './virtnode/handler/v1/Info.js';
import type { LauncherCost as _virtnode_handler_v1_LauncherCost, LauncherCost__Output as _virtnode_handler_v1_LauncherCost__Output } from './virtnode/handler/v1/LauncherCost.js';
import type { LifecycleRequest as _virtnode_handler_v1_LifecycleRequest, LifecycleRequest__Output as _virtnode_handler_v1_LifecycleRequest__Output } from './virtnode/handler/v1/LifecycleRequest.js';
import type { ListImagesRequest as _virtnode_handler_v1_ListImagesRequest, ListImagesRequest__Output as _virtnode_handler_v1_ListImagesRequest__Output } from './virtnode/handler/v1/ListImagesRequest.js';
import type { ListImagesResponse as _virtnode_handler_v1_ListImagesResponse, ListImagesResponse__Output as _virtnode_handler_v1_ListImagesResponse__Output } from './virtnode/handler/v1/ListImagesResponse.js';
import type { ListRequest as _virtnode_handler_v1_ListRequest, ListRequest__Output as _virtnode_handler_v1_ListRequest__Output } from './virtnode/handler/v1/ListRequest.js';
import type { ListResponse as _virtnode_handler_v1_ListResponse, ListResponse__Output as _virtnode_handler_v1_ListResponse__Output } from './virtnode/handler/v1/ListResponse.js';
import type { NegotiateRequest as _virtnode_handler_v1_NegotiateRequest, NegotiateRequest__Output as _virtnode_handler_v1_NegotiateRequest__Output } from './virtnode/handler/v1/NegotiateRequest.js';
import type { NegotiateResponse as _virtnode_handler_v1_NegotiateResponse, NegotiateResponse__Output as _virtnode_handler_v1_NegotiateResponse__Output } from './virtnode/handler/v1/NegotiateResponse.js';
import type { NodeClient as _virtnode_handler_v1_NodeClient, NodeDefinition as _virtnode_handler_v1_NodeDefinition } from './virtnode/handler/v1/Node.js';
import type { NodeInfo as _virtnode_handler_v1_NodeInfo, NodeInfo__Output as _virtnode_handler_v1_NodeInfo__Output } from './virtnode/handler/v1/NodeInfo.js';
import type { NodeInfoRequest as _virtnode_handler_v1_NodeInfoRequest, NodeInfoRequest__Output as _virtnode_handler_v1_NodeInfoRequest__Output } from './virtnode/handler/v1/NodeInfoRequest.js';
import type { Object as _virtnode_handler_v1_Object, Object__Output as _virtnode_handler_v1_Object__Output } from './virtnode/handler/v1/Object.js';
import type { ObjectRef as _virtnode_handler_v1_ObjectRef, ObjectRef__Output as _virtnode_handler_v1_ObjectRef__Output } from './virtnode/handler/v1/ObjectRef.js';
import type { OperationResponse as _virtnode_handler_v1_OperationResponse, OperationResponse__Output as _virtnode_handler_v1_OperationResponse__Output } from './virtnode/handler/v1/OperationResponse.js';
import type { RemoveVolumeRequest as _virtnode_handler_v1_RemoveVolumeRequest, RemoveVolumeRequest__Output as _virtnode_handler_v1_RemoveVolumeRequest__Output } from './virtnode/handler/v1/RemoveVolumeRequest.js';
import type { ScreenshotRequest as _virtnode_handler_v1_ScreenshotRequest, ScreenshotRequest__Output as _virtnode_handler_v1_ScreenshotRequest__Output } from './virtnode/handler/v1/ScreenshotRequest.js';
import type { ScreenshotResponse as _virtnode_handler_v1_ScreenshotResponse, ScreenshotResponse__Output as _virtnode_handler_v1_ScreenshotResponse__Output } from './virtnode/handler/v1/ScreenshotResponse.js';
import type { SerialConsoleLogRequest as _virtnode_handler_v1_SerialConsoleLogRequest, SerialConsoleLogRequest__Output as _virtnode_handler_v1_SerialConsoleLogRequest__Output } from './virtnode/handler/v1/SerialConsoleLogRequest.js';
import type { SerialConsoleLogResponse as _virtnode_handler_v1_SerialConsoleLogResponse, SerialConsoleLogResponse__Output as _virtnode_handler_v1_SerialConsoleLogResponse__Output } from './virtnode/handler/v1/SerialConsoleLogResponse.js';
import type { WatchEvent as _virtnode_handler_v1_WatchEvent, WatchEvent__Output as _virtnode_handler_v1_WatchEvent__Output } from './virtnode/handler/v1/WatchEvent.js';
import type { WatchRequest as _virtnode_handler_v1_WatchRequest, WatchRequest__Output as _virtnode_handler_v1_WatchRequest__Output } from './virtnode/handler/v1/WatchRequest.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  virtnode: {
    handler: {
      v1: {
        AddVolumeRequest: MessageTypeDefinition<_virtnode_handler_v1_AddVolumeRequest, _virtnode_handler_v1_AddVolumeRequest__Output>
        ApplyRequest: MessageTypeDefinition<_virtnode_handler_v1_ApplyRequest, _virtnode_handler_v1_ApplyRequest__Output>
        ApplyResponse: MessageTypeDefinition<_virtnode_handler_v1_ApplyResponse, _virtnode_handler_v1_ApplyResponse__Output>
        ConsoleInput: MessageTypeDefinition<_virtnode_handler_v1_ConsoleInput, _virtnode_handler_v1_ConsoleInput__Output>
        ConsoleOutput: MessageTypeDefinition<_virtnode_handler_v1_ConsoleOutput, _virtnode_handler_v1_ConsoleOutput__Output>
        DeleteRequest: MessageTypeDefinition<_virtnode_handler_v1_DeleteRequest, _virtnode_handler_v1_DeleteRequest__Output>
        DomainBlockStats: MessageTypeDefinition<_virtnode_handler_v1_DomainBlockStats, _virtnode_handler_v1_DomainBlockStats__Output>
        DomainCpuStats: MessageTypeDefinition<_virtnode_handler_v1_DomainCpuStats, _virtnode_handler_v1_DomainCpuStats__Output>
        DomainInterfaceStats: MessageTypeDefinition<_virtnode_handler_v1_DomainInterfaceStats, _virtnode_handler_v1_DomainInterfaceStats__Output>
        DomainMemoryStats: MessageTypeDefinition<_virtnode_handler_v1_DomainMemoryStats, _virtnode_handler_v1_DomainMemoryStats__Output>
        DomainStats: MessageTypeDefinition<_virtnode_handler_v1_DomainStats, _virtnode_handler_v1_DomainStats__Output>
        DomainStatsRequest: MessageTypeDefinition<_virtnode_handler_v1_DomainStatsRequest, _virtnode_handler_v1_DomainStatsRequest__Output>
        DomainVcpuStats: MessageTypeDefinition<_virtnode_handler_v1_DomainVcpuStats, _virtnode_handler_v1_DomainVcpuStats__Output>
        FreezeRequest: MessageTypeDefinition<_virtnode_handler_v1_FreezeRequest, _virtnode_handler_v1_FreezeRequest__Output>
        GuestAgentRequest: MessageTypeDefinition<_virtnode_handler_v1_GuestAgentRequest, _virtnode_handler_v1_GuestAgentRequest__Output>
        GuestAgentResponse: MessageTypeDefinition<_virtnode_handler_v1_GuestAgentResponse, _virtnode_handler_v1_GuestAgentResponse__Output>
        Image: MessageTypeDefinition<_virtnode_handler_v1_Image, _virtnode_handler_v1_Image__Output>
        ImagePull: MessageTypeDefinition<_virtnode_handler_v1_ImagePull, _virtnode_handler_v1_ImagePull__Output>
        Info: SubtypeConstructor<typeof grpc.Client, _virtnode_handler_v1_InfoClient> & { service: _virtnode_handler_v1_InfoDefinition }
        LauncherCost: MessageTypeDefinition<_virtnode_handler_v1_LauncherCost, _virtnode_handler_v1_LauncherCost__Output>
        LifecycleRequest: MessageTypeDefinition<_virtnode_handler_v1_LifecycleRequest, _virtnode_handler_v1_LifecycleRequest__Output>
        ListImagesRequest: MessageTypeDefinition<_virtnode_handler_v1_ListImagesRequest, _virtnode_handler_v1_ListImagesRequest__Output>
        ListImagesResponse: MessageTypeDefinition<_virtnode_handler_v1_ListImagesResponse, _virtnode_handler_v1_ListImagesResponse__Output>
        ListRequest: MessageTypeDefinition<_virtnode_handler_v1_ListRequest, _virtnode_handler_v1_ListRequest__Output>
        ListResponse: MessageTypeDefinition<_virtnode_handler_v1_ListResponse, _virtnode_handler_v1_ListResponse__Output>
        NegotiateRequest: MessageTypeDefinition<_virtnode_handler_v1_NegotiateRequest, _virtnode_handler_v1_NegotiateRequest__Output>
        NegotiateResponse: MessageTypeDefinition<_virtnode_handler_v1_NegotiateResponse, _virtnode_handler_v1_NegotiateResponse__Output>
        Node: SubtypeConstructor<typeof grpc.Client, _virtnode_handler_v1_NodeClient> & { service: _virtnode_handler_v1_NodeDefinition }
        NodeInfo: MessageTypeDefinition<_virtnode_handler_v1_NodeInfo, _virtnode_handler_v1_NodeInfo__Output>
        NodeInfoRequest: MessageTypeDefinition<_virtnode_handler_v1_NodeInfoRequest, _virtnode_handler_v1_NodeInfoRequest__Output>
        Object: MessageTypeDefinition<_virtnode_handler_v1_Object, _virtnode_handler_v1_Object__Output>
        ObjectRef: MessageTypeDefinition<_virtnode_handler_v1_ObjectRef, _virtnode_handler_v1_ObjectRef__Output>
        OperationResponse: MessageTypeDefinition<_virtnode_handler_v1_OperationResponse, _virtnode_handler_v1_OperationResponse__Output>
        RemoveVolumeRequest: MessageTypeDefinition<_virtnode_handler_v1_RemoveVolumeRequest, _virtnode_handler_v1_RemoveVolumeRequest__Output>
        ScreenshotRequest: MessageTypeDefinition<_virtnode_handler_v1_ScreenshotRequest, _virtnode_handler_v1_ScreenshotRequest__Output>
        ScreenshotResponse: MessageTypeDefinition<_virtnode_handler_v1_ScreenshotResponse, _virtnode_handler_v1_ScreenshotResponse__Output>
        SerialConsoleLogRequest: MessageTypeDefinition<_virtnode_handler_v1_SerialConsoleLogRequest, _virtnode_handler_v1_SerialConsoleLogRequest__Output>
        SerialConsoleLogResponse: MessageTypeDefinition<_virtnode_handler_v1_SerialConsoleLogResponse, _virtnode_handler_v1_SerialConsoleLogResponse__Output>
        WatchEvent: MessageTypeDefinition<_virtnode_handler_v1_WatchEvent, _virtnode_handler_v1_WatchEvent__Output>
        WatchRequest: MessageTypeDefinition<_virtnode_handler_v1_WatchRequest, _virtnode_handler_v1_WatchRequest__Output>
      }
    }
  }
}

