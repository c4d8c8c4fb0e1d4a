// Original file: handler.proto

import type { Long } from '@grpc/proto-loader';

export interface Object {
  'kind'?: (string);
  'json'?: (string);
  'resourceVersion'?: (number | string | Long);
}

export interface Object__Output {
  'kind': (string);
  'json': (string);
  'resourceVersion': (number);
}
