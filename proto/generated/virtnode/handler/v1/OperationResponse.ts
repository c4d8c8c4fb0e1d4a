// Original file: handler.proto


export interface OperationResponse {
  'message'?: (string);
}

export interface OperationResponse__Output {
  'message': (string);
}
