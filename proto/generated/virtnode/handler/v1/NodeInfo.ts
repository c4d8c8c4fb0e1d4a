// Original file: handler.proto


export interface NodeInfo {
  'nodeName'?: (string);
  /**
   * standalone | daemonset
   */
  'mode'?: (string);
  'version'?: (string);
  /**
   * the KVM/TCG probe report
   */
  'acceleratorJson'?: (string);
  'allowEmulation'?: (boolean);
  'protocolVersion'?: (number);
}

export interface NodeInfo__Output {
  'nodeName': (string);
  /**
   * standalone | daemonset
   */
  'mode': (string);
  'version': (string);
  /**
   * the KVM/TCG probe report
   */
  'acceleratorJson': (string);
  'allowEmulation': (boolean);
  'protocolVersion': (number);
}
