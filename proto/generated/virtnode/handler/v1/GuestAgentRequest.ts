// Original file: handler.proto


export interface GuestAgentRequest {
  /**
   * empty: "default"
   */
  'namespace'?: (string);
  /**
   * A VM (its VMI is asked) or a bare VMI.
   */
  'name'?: (string);
}

export interface GuestAgentRequest__Output {
  /**
   * empty: "default"
   */
  'namespace': (string);
  /**
   * A VM (its VMI is asked) or a bare VMI.
   */
  'name': (string);
}
