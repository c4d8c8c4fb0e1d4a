// Original file: handler.proto

import type { ObjectRef as _virtnode_handler_v1_ObjectRef, ObjectRef__Output as _virtnode_handler_v1_ObjectRef__Output } from '../../../virtnode/handler/v1/ObjectRef.js';

export interface ConsoleInput {
  'open'?: (_virtnode_handler_v1_ObjectRef | null);
  'data'?: (Buffer | Uint8Array | string);
  /**
   * With open: take the console (display) over from a client attached before.
   */
  'force'?: (boolean);
  'kind'?: "open"|"data";
}

export interface ConsoleInput__Output {
  'open'?: (_virtnode_handler_v1_ObjectRef__Output | null);
  'data'?: (Buffer);
  /**
   * With open: take the console (display) over from a client attached before.
   */
  'force': (boolean);
  'kind'?: "open"|"data";
}
