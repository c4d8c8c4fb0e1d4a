// Original file: launcher.proto

import type { Long } from '@grpc/proto-loader';

export interface Hello {
  'pid'?: (number);
  'version'?: (string);
  /**
   * True when this launcher already runs a domain (the handler restarted): the
   * handler must not ask it to start another.
   */
  'domainDefined'?: (boolean);
  /**
   * Highest event sequence number this launcher has produced.
   */
  'lastEventSeq'?: (number | string | Long);
}

export interface Hello__Output {
  'pid': (number);
  'version': (string);
  /**
   * True when this launcher already runs a domain (the handler restarted): the
   * handler must not ask it to start another.
   */
  'domainDefined': (boolean);
  /**
   * Highest event sequence number this launcher has produced.
   */
  'lastEventSeq': (number);
}
