// Original file: handler.proto


export interface FreezeRequest {
  'namespace'?: (string);
  'name'?: (string);
  /**
   * Thaw by itself after this many seconds; 0: only Unfreeze thaws.
   */
  'unfreezeTimeoutSeconds'?: (number);
}

export interface FreezeRequest__Output {
  'namespace': (string);
  'name': (string);
  /**
   * Thaw by itself after this many seconds; 0: only Unfreeze thaws.
   */
  'unfreezeTimeoutSeconds': (number);
}
