// Original file: launcher.proto

import type { Long } from '@grpc/proto-loader';

export interface CommandResult {
  'commandId'?: (number | string | Long);
  'ok'?: (boolean);
  'errorCode'?: (string);
  'errorMessage'?: (string);
}

export interface CommandResult__Output {
  'commandId': (number);
  'ok': (boolean);
  'errorCode': (string);
  'errorMessage': (string);
}
