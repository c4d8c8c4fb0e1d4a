// Original file: handler.proto


export interface ScreenshotRequest {
  /**
   * empty: "default"
   */
  'namespace'?: (string);
  'name'?: (string);
}

export interface ScreenshotRequest__Output {
  /**
   * empty: "default"
   */
  'namespace': (string);
  'name': (string);
}
