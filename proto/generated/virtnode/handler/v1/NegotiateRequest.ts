// Original file: handler.proto


export interface NegotiateRequest {
  'supportedVersions'?: (number)[];
  'client'?: (string);
}

export interface NegotiateRequest__Output {
  'supportedVersions': (number)[];
  'client': (string);
}
