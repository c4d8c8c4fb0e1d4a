// Original file: handler.proto


export interface NegotiateResponse {
  'version'?: (number);
  'server'?: (string);
}

export interface NegotiateResponse__Output {
  'version': (number);
  'server': (string);
}
