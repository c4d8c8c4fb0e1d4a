// Original file: launcher.proto


export interface Sync {
  /**
   * The VMI as stored by the handler (defaulted and validated kubevirt.io/v1 JSON).
   */
  'vmiJson'?: (string);
  /**
   * What the handler prepared for it (launcher/domain LaunchContext as JSON):
   * disk paths, kernel, accelerator, socket directory.
   */
  'launchContextJson'?: (string);
}

export interface Sync__Output {
  /**
   * The VMI as stored by the handler (defaulted and validated kubevirt.io/v1 JSON).
   */
  'vmiJson': (string);
  /**
   * What the handler prepared for it (launcher/domain LaunchContext as JSON):
   * disk paths, kernel, accelerator, socket directory.
   */
  'launchContextJson': (string);
}
