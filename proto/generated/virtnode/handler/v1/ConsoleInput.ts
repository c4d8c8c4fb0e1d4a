// Original file: handler.proto

import type { ObjectRef as _virtnode_handler_v1_ObjectRef, ObjectRef__Output as _virtnode_handler_v1_ObjectRef__Output } from '../../../virtnode/handler/v1/ObjectRef.js';

export interface ConsoleInput {
  'open'?: (_virtnode_handler_v1_ObjectRef | null);
  'data'?: (Buffer | Uint8Array | string);
  'kind'?: "open"|"data";
}

export interface ConsoleInput__Output {
  'open'?: (_virtnode_handler_v1_ObjectRef__Output | null);
  'data'?: (Buffer);
  'kind'?: "open"|"data";
}
