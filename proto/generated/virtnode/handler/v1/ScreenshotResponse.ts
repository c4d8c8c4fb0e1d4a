// Original file: handler.proto


export interface ScreenshotResponse {
  'png'?: (Buffer | Uint8Array | string);
}

export interface ScreenshotResponse__Output {
  'png': (Buffer);
}
