// Original file: handler.proto


export interface ListRequest {
  'kind'?: (string);
  /**
   * empty: every namespace
   */
  'namespace'?: (string);
}

export interface ListRequest__Output {
  'kind': (string);
  /**
   * empty: every namespace
   */
  'namespace': (string);
}
