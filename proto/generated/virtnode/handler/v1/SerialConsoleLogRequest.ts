// Original file: handler.proto


export interface SerialConsoleLogRequest {
  /**
   * empty: "default"
   */
  'namespace'?: (string);
  'name'?: (string);
}

export interface SerialConsoleLogRequest__Output {
  /**
   * empty: "default"
   */
  'namespace': (string);
  'name': (string);
}
