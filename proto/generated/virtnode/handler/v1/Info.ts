// Original file: handler.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { NegotiateRequest as _virtnode_handler_v1_NegotiateRequest, NegotiateRequest__Output as _virtnode_handler_v1_NegotiateRequest__Output } from '../../../virtnode/handler/v1/NegotiateRequest.js';
import type { NegotiateResponse as _virtnode_handler_v1_NegotiateResponse, NegotiateResponse__Output as _virtnode_handler_v1_NegotiateResponse__Output } from '../../../virtnode/handler/v1/NegotiateResponse.js';

export interface InfoClient extends grpc.Client {
  /**
   * Picks the highest protocol version both sides speak.
   */
  Negotiate(argument: _virtnode_handler_v1_NegotiateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_NegotiateResponse__Output>): grpc.ClientUnaryCall;
  Negotiate(argument: _virtnode_handler_v1_NegotiateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_NegotiateResponse__Output>): grpc.ClientUnaryCall;
  Negotiate(argument: _virtnode_handler_v1_NegotiateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_NegotiateResponse__Output>): grpc.ClientUnaryCall;
  Negotiate(argument: _virtnode_handler_v1_NegotiateRequest, callback: grpc.requestCallback<_virtnode_handler_v1_NegotiateResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Picks the highest protocol version both sides speak.
   */
  negotiate(argument: _virtnode_handler_v1_NegotiateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_NegotiateResponse__Output>): grpc.ClientUnaryCall;
  negotiate(argument: _virtnode_handler_v1_NegotiateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_virtnode_handler_v1_NegotiateResponse__Output>): grpc.ClientUnaryCall;
  negotiate(argument: _virtnode_handler_v1_NegotiateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_virtnode_handler_v1_NegotiateResponse__Output>): grpc.ClientUnaryCall;
  negotiate(argument: _virtnode_handler_v1_NegotiateRequest, callback: grpc.requestCallback<_virtnode_handler_v1_NegotiateResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface InfoHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Picks the highest protocol version both sides speak.
   */
  Negotiate: grpc.handleUnaryCall<_virtnode_handler_v1_NegotiateRequest__Output, _virtnode_handler_v1_NegotiateResponse>;
  
}

export interface InfoDefinition extends grpc.ServiceDefinition {
  Negotiate: MethodDefinition<_virtnode_handler_v1_NegotiateRequest, _virtnode_handler_v1_NegotiateResponse, _virtnode_handler_v1_NegotiateRequest__Output, _virtnode_handler_v1_NegotiateResponse__Output>
}
