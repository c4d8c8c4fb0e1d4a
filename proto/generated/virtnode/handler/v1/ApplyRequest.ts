// Original file: handler.proto


export interface ApplyRequest {
  'manifest'?: (string);
  'dryRun'?: (boolean);
}

export interface ApplyRequest__Output {
  'manifest': (string);
  'dryRun': (boolean);
}
