// virtnode error codes → gRPC status, in one place (the API edge). The code itself
// travels in the `virtnode-error-code` trailer so clients can branch on it.

import * as grpc from '@grpc/grpc-js';
import { errorMessage, InvalidSpecError, isVirtnodeError, type ErrorCode } from '../../proto/errors.js';

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
  // Nothing was stored, so the call may be repeated once the node's disk recovers.
  VN_STORAGE: grpc.status.UNAVAILABLE,
  VN_INTERNAL: grpc.status.INTERNAL,
};

/**
 * The most of a message that goes in the grpc-message trailer: trailers share the
 * header size limit (grpc-js clients take 8 KiB of metadata), and a message past it
 * never arrived — the call just hung.
 */
export const MAX_DETAILS_CHARS = 2000;
/** One field error at most: a path or a value can be a 200 KB label. */
const MAX_FIELD_CHARS = 300;

function clip(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** An error's message, bounded: field errors one by one, then how many more. */
export function boundedDetails(e: unknown): string {
  if (!(e instanceof InvalidSpecError)) return clip(errorMessage(e), MAX_DETAILS_CHARS);
  const parts: string[] = [];
  let length = 0;
  for (const [i, f] of e.fields.entries()) {
    const s = clip(`${f.path}: ${f.message}`, MAX_FIELD_CHARS);
    // Room kept for the count of the rest.
    if (length + s.length + 2 > MAX_DETAILS_CHARS - 40) {
      parts.push(`… and ${(e.fields.length - i).toLocaleString('en-US')} more`);
      break;
    }
    parts.push(s);
    length += s.length + 2;
  }
  return parts.join('; ');
}

export function toServiceError(e: unknown): Partial<grpc.StatusObject> {
  const code: ErrorCode = isVirtnodeError(e) ? e.code : 'VN_INTERNAL';
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_CODE_TRAILER, code);
  return { code: STATUS[code], details: boundedDetails(e), metadata };
}
