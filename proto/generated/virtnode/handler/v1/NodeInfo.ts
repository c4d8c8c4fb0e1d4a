// Original file: handler.proto


export interface NodeInfo {
  'nodeName'?: (string);
  /**
   * standalone | daemonset
   */
  'mode'?: (string);
  'version'?: (string);
  /**
   * the KVM/TCG probe's verdicts
   */
  'acceleratorJson'?: (string);
  'allowEmulation'?: (boolean);
  'protocolVersion'?: (number);
  /**
   * handler/node-info.ts NodeInfoDocument: CPU, QEMU, capacity, KubeVirt's node labels
   */
  'infoJson'?: (string);
}

export interface NodeInfo__Output {
  'nodeName': (string);
  /**
   * standalone | daemonset
   */
  'mode': (string);
  'version': (string);
  /**
   * the KVM/TCG probe's verdicts
   */
  'acceleratorJson': (string);
  'allowEmulation': (boolean);
  'protocolVersion': (number);
  /**
   * handler/node-info.ts NodeInfoDocument: CPU, QEMU, capacity, KubeVirt's node labels
   */
  'infoJson': (string);
}
