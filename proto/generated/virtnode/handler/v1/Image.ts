// Original file: handler.proto

import type { Long } from '@grpc/proto-loader';

export interface Image {
  'reference'?: (string);
  'digest'?: (string);
  'sizeBytes'?: (number | string | Long);
  'users'?: (number);
  'pulledAt'?: (string);
}

export interface Image__Output {
  'reference': (string);
  'digest': (string);
  'sizeBytes': (number);
  'users': (number);
  'pulledAt': (string);
}
