// virtnode error codes → gRPC status, in one place (the API edge). The code itself
// travels in the `virtnode-error-code` trailer so clients can branch on it.

import * as grpc from '@grpc/grpc-js';
import { errorMessage, isVirtnodeError, type ErrorCode } from '../../proto/errors.js';

export const ERROR_CODE_TRAILER = 'virtnode-error-code';

const STATUS: Record<ErrorCode, grpc.status> = {
  VN_INVALID_SPEC: grpc.status.INVALID_ARGUMENT,
  VN_NOT_FOUND: grpc.status.NOT_FOUND,
  VN_ALREADY_EXISTS: grpc.status.ALREADY_EXISTS,
  VN_ILLEGAL_TRANSITION: grpc.status.FAILED_PRECONDITION,
  VN_UNSUPPORTED: grpc.status.FAILED_PRECONDITION,
  VN_UNAVAILABLE: grpc.status.UNAVAILABLE,
  VN_TIMEOUT: grpc.status.DEADLINE_EXCEEDED,
  VN_QMP: grpc.status.INTERNAL,
  VN_IMAGE: grpc.status.UNAVAILABLE,
  VN_SANDBOX: grpc.status.INTERNAL,
  VN_NATIVE: grpc.status.INTERNAL,
  VN_PROTOCOL: grpc.status.FAILED_PRECONDITION,
  VN_INTERNAL: grpc.status.INTERNAL,
};

export function toServiceError(e: unknown): Partial<grpc.StatusObject> {
  const code: ErrorCode = isVirtnodeError(e) ? e.code : 'VN_INTERNAL';
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_CODE_TRAILER, code);
  return { code: STATUS[code], details: errorMessage(e), metadata };
}
