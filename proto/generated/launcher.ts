import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { AttachVolume as _virtnode_launcher_v1_AttachVolume, AttachVolume__Output as _virtnode_launcher_v1_AttachVolume__Output } from './virtnode/launcher/v1/AttachVolume.js';
import type { BlockStats as _virtnode_launcher_v1_BlockStats, BlockStats__Output as _virtnode_launcher_v1_BlockStats__Output } from './virtnode/launcher/v1/BlockStats.js';
import type { Command as _virtnode_launcher_v1_Command, Command__Output as _virtnode_launcher_v1_Command__Output } from './virtnode/launcher/v1/Command.js';
import type { CommandResult as _virtnode_launcher_v1_CommandResult, CommandResult__Output as _virtnode_launcher_v1_CommandResult__Output } from './virtnode/launcher/v1/CommandResult.js';
import type { DetachVolume as _virtnode_launcher_v1_DetachVolume, DetachVolume__Output as _virtnode_launcher_v1_DetachVolume__Output } from './virtnode/launcher/v1/DetachVolume.js';
import type { DeviceState as _virtnode_launcher_v1_DeviceState, DeviceState__Output as _virtnode_launcher_v1_DeviceState__Output } from './virtnode/launcher/v1/DeviceState.js';
import type { DhcpOffer as _virtnode_launcher_v1_DhcpOffer, DhcpOffer__Output as _virtnode_launcher_v1_DhcpOffer__Output } from './virtnode/launcher/v1/DhcpOffer.js';
import type { DiskImage as _virtnode_launcher_v1_DiskImage, DiskImage__Output as _virtnode_launcher_v1_DiskImage__Output } from './virtnode/launcher/v1/DiskImage.js';
import type { DomainEvent as _virtnode_launcher_v1_DomainEvent, DomainEvent__Output as _virtnode_launcher_v1_DomainEvent__Output } from './virtnode/launcher/v1/DomainEvent.js';
import type { Empty as _virtnode_launcher_v1_Empty, Empty__Output as _virtnode_launcher_v1_Empty__Output } from './virtnode/launcher/v1/Empty.js';
import type { EventAck as _virtnode_launcher_v1_EventAck, EventAck__Output as _virtnode_launcher_v1_EventAck__Output } from './virtnode/launcher/v1/EventAck.js';
import type { Freeze as _virtnode_launcher_v1_Freeze, Freeze__Output as _virtnode_launcher_v1_Freeze__Output } from './virtnode/launcher/v1/Freeze.js';
import type { GuestAgentQuery as _virtnode_launcher_v1_GuestAgentQuery, GuestAgentQuery__Output as _virtnode_launcher_v1_GuestAgentQuery__Output } from './virtnode/launcher/v1/GuestAgentQuery.js';
import type { GuestAgentStatus as _virtnode_launcher_v1_GuestAgentStatus, GuestAgentStatus__Output as _virtnode_launcher_v1_GuestAgentStatus__Output } from './virtnode/launcher/v1/GuestAgentStatus.js';
import type { GuestLease as _virtnode_launcher_v1_GuestLease, GuestLease__Output as _virtnode_launcher_v1_GuestLease__Output } from './virtnode/launcher/v1/GuestLease.js';
import type { GuestMemoryStats as _virtnode_launcher_v1_GuestMemoryStats, GuestMemoryStats__Output as _virtnode_launcher_v1_GuestMemoryStats__Output } from './virtnode/launcher/v1/GuestMemoryStats.js';
import type { GuestRoute as _virtnode_launcher_v1_GuestRoute, GuestRoute__Output as _virtnode_launcher_v1_GuestRoute__Output } from './virtnode/launcher/v1/GuestRoute.js';
import type { HandlerMessage as _virtnode_launcher_v1_HandlerMessage, HandlerMessage__Output as _virtnode_launcher_v1_HandlerMessage__Output } from './virtnode/launcher/v1/HandlerMessage.js';
import type { Hello as _virtnode_launcher_v1_Hello, Hello__Output as _virtnode_launcher_v1_Hello__Output } from './virtnode/launcher/v1/Hello.js';
import type { HostFile as _virtnode_launcher_v1_HostFile, HostFile__Output as _virtnode_launcher_v1_HostFile__Output } from './virtnode/launcher/v1/HostFile.js';
import type { InfoClient as _virtnode_launcher_v1_InfoClient, InfoDefinition as _virtnode_launcher_v1_InfoDefinition } from './virtnode/launcher/v1/Info.js';
import type { InterfaceTap as _virtnode_launcher_v1_InterfaceTap, InterfaceTap__Output as _virtnode_launcher_v1_InterfaceTap__Output } from './virtnode/launcher/v1/InterfaceTap.js';
import type { KernelBoot as _virtnode_launcher_v1_KernelBoot, KernelBoot__Output as _virtnode_launcher_v1_KernelBoot__Output } from './virtnode/launcher/v1/KernelBoot.js';
import type { LaunchContext as _virtnode_launcher_v1_LaunchContext, LaunchContext__Output as _virtnode_launcher_v1_LaunchContext__Output } from './virtnode/launcher/v1/LaunchContext.js';
import type { LauncherClient as _virtnode_launcher_v1_LauncherClient, LauncherDefinition as _virtnode_launcher_v1_LauncherDefinition } from './virtnode/launcher/v1/Launcher.js';
import type { LauncherMessage as _virtnode_launcher_v1_LauncherMessage, LauncherMessage__Output as _virtnode_launcher_v1_LauncherMessage__Output } from './virtnode/launcher/v1/LauncherMessage.js';
import type { NegotiateRequest as _virtnode_launcher_v1_NegotiateRequest, NegotiateRequest__Output as _virtnode_launcher_v1_NegotiateRequest__Output } from './virtnode/launcher/v1/NegotiateRequest.js';
import type { NegotiateResponse as _virtnode_launcher_v1_NegotiateResponse, NegotiateResponse__Output as _virtnode_launcher_v1_NegotiateResponse__Output } from './virtnode/launcher/v1/NegotiateResponse.js';
import type { PreparedInterface as _virtnode_launcher_v1_PreparedInterface, PreparedInterface__Output as _virtnode_launcher_v1_PreparedInterface__Output } from './virtnode/launcher/v1/PreparedInterface.js';
import type { PreparedVolume as _virtnode_launcher_v1_PreparedVolume, PreparedVolume__Output as _virtnode_launcher_v1_PreparedVolume__Output } from './virtnode/launcher/v1/PreparedVolume.js';
import type { QemuStats as _virtnode_launcher_v1_QemuStats, QemuStats__Output as _virtnode_launcher_v1_QemuStats__Output } from './virtnode/launcher/v1/QemuStats.js';
import type { ResizeVolume as _virtnode_launcher_v1_ResizeVolume, ResizeVolume__Output as _virtnode_launcher_v1_ResizeVolume__Output } from './virtnode/launcher/v1/ResizeVolume.js';
import type { Shutdown as _virtnode_launcher_v1_Shutdown, Shutdown__Output as _virtnode_launcher_v1_Shutdown__Output } from './virtnode/launcher/v1/Shutdown.js';
import type { Smbios as _virtnode_launcher_v1_Smbios, Smbios__Output as _virtnode_launcher_v1_Smbios__Output } from './virtnode/launcher/v1/Smbios.js';
import type { StatsRequest as _virtnode_launcher_v1_StatsRequest, StatsRequest__Output as _virtnode_launcher_v1_StatsRequest__Output } from './virtnode/launcher/v1/StatsRequest.js';
import type { Sync as _virtnode_launcher_v1_Sync, Sync__Output as _virtnode_launcher_v1_Sync__Output } from './virtnode/launcher/v1/Sync.js';
import type { VcpuThread as _virtnode_launcher_v1_VcpuThread, VcpuThread__Output as _virtnode_launcher_v1_VcpuThread__Output } from './virtnode/launcher/v1/VcpuThread.js';
import type { VolumeTarget as _virtnode_launcher_v1_VolumeTarget, VolumeTarget__Output as _virtnode_launcher_v1_VolumeTarget__Output } from './virtnode/launcher/v1/VolumeTarget.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  virtnode: {
    launcher: {
      v1: {
        AttachVolume: MessageTypeDefinition<_virtnode_launcher_v1_AttachVolume, _virtnode_launcher_v1_AttachVolume__Output>
        BlockStats: MessageTypeDefinition<_virtnode_launcher_v1_BlockStats, _virtnode_launcher_v1_BlockStats__Output>
        Command: MessageTypeDefinition<_virtnode_launcher_v1_Command, _virtnode_launcher_v1_Command__Output>
        CommandResult: MessageTypeDefinition<_virtnode_launcher_v1_CommandResult, _virtnode_launcher_v1_CommandResult__Output>
        DetachVolume: MessageTypeDefinition<_virtnode_launcher_v1_DetachVolume, _virtnode_launcher_v1_DetachVolume__Output>
        DeviceState: MessageTypeDefinition<_virtnode_launcher_v1_DeviceState, _virtnode_launcher_v1_DeviceState__Output>
        DhcpOffer: MessageTypeDefinition<_virtnode_launcher_v1_DhcpOffer, _virtnode_launcher_v1_DhcpOffer__Output>
        DiskImage: MessageTypeDefinition<_virtnode_launcher_v1_DiskImage, _virtnode_launcher_v1_DiskImage__Output>
        DomainEvent: MessageTypeDefinition<_virtnode_launcher_v1_DomainEvent, _virtnode_launcher_v1_DomainEvent__Output>
        DomainState: EnumTypeDefinition
        Empty: MessageTypeDefinition<_virtnode_launcher_v1_Empty, _virtnode_launcher_v1_Empty__Output>
        EventAck: MessageTypeDefinition<_virtnode_launcher_v1_EventAck, _virtnode_launcher_v1_EventAck__Output>
        Freeze: MessageTypeDefinition<_virtnode_launcher_v1_Freeze, _virtnode_launcher_v1_Freeze__Output>
        GuestAgentQuery: MessageTypeDefinition<_virtnode_launcher_v1_GuestAgentQuery, _virtnode_launcher_v1_GuestAgentQuery__Output>
        GuestAgentStatus: MessageTypeDefinition<_virtnode_launcher_v1_GuestAgentStatus, _virtnode_launcher_v1_GuestAgentStatus__Output>
        GuestLease: MessageTypeDefinition<_virtnode_launcher_v1_GuestLease, _virtnode_launcher_v1_GuestLease__Output>
        GuestMemoryStats: MessageTypeDefinition<_virtnode_launcher_v1_GuestMemoryStats, _virtnode_launcher_v1_GuestMemoryStats__Output>
        GuestRoute: MessageTypeDefinition<_virtnode_launcher_v1_GuestRoute, _virtnode_launcher_v1_GuestRoute__Output>
        HandlerMessage: MessageTypeDefinition<_virtnode_launcher_v1_HandlerMessage, _virtnode_launcher_v1_HandlerMessage__Output>
        Hello: MessageTypeDefinition<_virtnode_launcher_v1_Hello, _virtnode_launcher_v1_Hello__Output>
        HostFile: MessageTypeDefinition<_virtnode_launcher_v1_HostFile, _virtnode_launcher_v1_HostFile__Output>
        Info: SubtypeConstructor<typeof grpc.Client, _virtnode_launcher_v1_InfoClient> & { service: _virtnode_launcher_v1_InfoDefinition }
        InterfaceTap: MessageTypeDefinition<_virtnode_launcher_v1_InterfaceTap, _virtnode_launcher_v1_InterfaceTap__Output>
        KernelBoot: MessageTypeDefinition<_virtnode_launcher_v1_KernelBoot, _virtnode_launcher_v1_KernelBoot__Output>
        LaunchContext: MessageTypeDefinition<_virtnode_launcher_v1_LaunchContext, _virtnode_launcher_v1_LaunchContext__Output>
        Launcher: SubtypeConstructor<typeof grpc.Client, _virtnode_launcher_v1_LauncherClient> & { service: _virtnode_launcher_v1_LauncherDefinition }
        LauncherMessage: MessageTypeDefinition<_virtnode_launcher_v1_LauncherMessage, _virtnode_launcher_v1_LauncherMessage__Output>
        NegotiateRequest: MessageTypeDefinition<_virtnode_launcher_v1_NegotiateRequest, _virtnode_launcher_v1_NegotiateRequest__Output>
        NegotiateResponse: MessageTypeDefinition<_virtnode_launcher_v1_NegotiateResponse, _virtnode_launcher_v1_NegotiateResponse__Output>
        PreparedInterface: MessageTypeDefinition<_virtnode_launcher_v1_PreparedInterface, _virtnode_launcher_v1_PreparedInterface__Output>
        PreparedVolume: MessageTypeDefinition<_virtnode_launcher_v1_PreparedVolume, _virtnode_launcher_v1_PreparedVolume__Output>
        QemuStats: MessageTypeDefinition<_virtnode_launcher_v1_QemuStats, _virtnode_launcher_v1_QemuStats__Output>
        ResizeVolume: MessageTypeDefinition<_virtnode_launcher_v1_ResizeVolume, _virtnode_launcher_v1_ResizeVolume__Output>
        Shutdown: MessageTypeDefinition<_virtnode_launcher_v1_Shutdown, _virtnode_launcher_v1_Shutdown__Output>
        Smbios: MessageTypeDefinition<_virtnode_launcher_v1_Smbios, _virtnode_launcher_v1_Smbios__Output>
        StatsRequest: MessageTypeDefinition<_virtnode_launcher_v1_StatsRequest, _virtnode_launcher_v1_StatsRequest__Output>
        Sync: MessageTypeDefinition<_virtnode_launcher_v1_Sync, _virtnode_launcher_v1_Sync__Output>
        VcpuThread: MessageTypeDefinition<_virtnode_launcher_v1_VcpuThread, _virtnode_launcher_v1_VcpuThread__Output>
        VolumeTarget: MessageTypeDefinition<_virtnode_launcher_v1_VolumeTarget, _virtnode_launcher_v1_VolumeTarget__Output>
      }
    }
  }
}

