// Original file: handler.proto


export interface DomainStatsRequest {
  /**
   * empty: "default"
   */
  'namespace'?: (string);
  'name'?: (string);
}

export interface DomainStatsRequest__Output {
  /**
   * empty: "default"
   */
  'namespace': (string);
  'name': (string);
}
