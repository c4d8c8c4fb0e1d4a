// Original file: launcher.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { HandlerMessage as _virtnode_launcher_v1_HandlerMessage, HandlerMessage__Output as _virtnode_launcher_v1_HandlerMessage__Output } from '../../../virtnode/launcher/v1/HandlerMessage.js';
import type { LauncherMessage as _virtnode_launcher_v1_LauncherMessage, LauncherMessage__Output as _virtnode_launcher_v1_LauncherMessage__Output } from '../../../virtnode/launcher/v1/LauncherMessage.js';

export interface LauncherClient extends grpc.Client {
  /**
   * One long-lived session per launcher connection. The launcher sends Hello
   * first, then events and command results; the handler sends acks and commands.
   */
  Session(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_virtnode_launcher_v1_LauncherMessage, _virtnode_launcher_v1_HandlerMessage__Output>;
  Session(options?: grpc.CallOptions): grpc.ClientDuplexStream<_virtnode_launcher_v1_LauncherMessage, _virtnode_launcher_v1_HandlerMessage__Output>;
  /**
   * One long-lived session per launcher connection. The launcher sends Hello
   * first, then events and command results; the handler sends acks and commands.
   */
  session(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_virtnode_launcher_v1_LauncherMessage, _virtnode_launcher_v1_HandlerMessage__Output>;
  session(options?: grpc.CallOptions): grpc.ClientDuplexStream<_virtnode_launcher_v1_LauncherMessage, _virtnode_launcher_v1_HandlerMessage__Output>;
  
}

export interface LauncherHandlers extends grpc.UntypedServiceImplementation {
  /**
   * One long-lived session per launcher connection. The launcher sends Hello
   * first, then events and command results; the handler sends acks and commands.
   */
  Session: grpc.handleBidiStreamingCall<_virtnode_launcher_v1_LauncherMessage__Output, _virtnode_launcher_v1_HandlerMessage>;
  
}

export interface LauncherDefinition extends grpc.ServiceDefinition {
  Session: MethodDefinition<_virtnode_launcher_v1_LauncherMessage, _virtnode_launcher_v1_HandlerMessage, _virtnode_launcher_v1_LauncherMessage__Output, _virtnode_launcher_v1_HandlerMessage__Output>
}
