// Original file: handler.proto


export interface SerialConsoleLogResponse {
  /**
   * The log's rotated part and its current one, concatenated (raw console bytes).
   */
  'data'?: (Buffer | Uint8Array | string);
}

export interface SerialConsoleLogResponse__Output {
  /**
   * The log's rotated part and its current one, concatenated (raw console bytes).
   */
  'data': (Buffer);
}
