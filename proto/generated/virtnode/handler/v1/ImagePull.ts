// Original file: handler.proto

import type { Long } from '@grpc/proto-loader';

export interface ImagePull {
  'reference'?: (string);
  'bytesDone'?: (number | string | Long);
  'bytesTotal'?: (number | string | Long);
}

export interface ImagePull__Output {
  'reference': (string);
  'bytesDone': (number);
  'bytesTotal': (number);
}
