// Original file: handler.proto


export interface GuestAgentResponse {
  /**
   * The kubevirt.io/v1 object, JSON.
   */
  'json'?: (string);
}

export interface GuestAgentResponse__Output {
  /**
   * The kubevirt.io/v1 object, JSON.
   */
  'json': (string);
}
