// Original file: handler.proto


export interface ObjectRef {
  /**
   * VirtualMachine | VirtualMachineInstance
   */
  'kind'?: (string);
  /**
   * empty: "default"
   */
  'namespace'?: (string);
  'name'?: (string);
}

export interface ObjectRef__Output {
  /**
   * VirtualMachine | VirtualMachineInstance
   */
  'kind': (string);
  /**
   * empty: "default"
   */
  'namespace': (string);
  'name': (string);
}
