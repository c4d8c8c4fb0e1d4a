// Every virtnode error carries a stable code (undici's pattern): callers branch on
// `code`, never on message text. The API edge maps codes to gRPC statuses once
// (handler/api/status.ts); both processes share these classes.

export const ERROR_CODES = [
  'VN_INVALID_SPEC',
  'VN_NOT_FOUND',
  'VN_ALREADY_EXISTS',
  'VN_ILLEGAL_TRANSITION',
  'VN_UNSUPPORTED',
  'VN_UNAVAILABLE',
  'VN_TIMEOUT',
  'VN_QMP',
  'VN_IMAGE',
  'VN_SANDBOX',
  'VN_NATIVE',
  'VN_PROTOCOL',
  /** The handler's store could not write a change (disk full, I/O error); nothing changed. */
  'VN_STORAGE',
  'VN_INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Whether a code read off the wire (a launcher's result, a gRPC trailer) is one of ours. */
export function isErrorCode(v: unknown): v is ErrorCode {
  return (ERROR_CODES as readonly unknown[]).includes(v);
}

export class VirtnodeError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** One rejected field: `path` is the KubeVirt field path, e.g. spec.domain.resources.requests.memory. */
export interface FieldError {
  path: string;
  message: string;
}

/** Field errors a message spells out; the rest are counted (a hostile manifest can make 400,000). */
export const MAX_MESSAGE_FIELDS = 100;

/** A spec rejected as a whole; the message lists every field error, as KubeVirt's admission webhook does. */
export class InvalidSpecError extends VirtnodeError {
  readonly fields: FieldError[];
  constructor(fields: FieldError[]) {
    const shown = fields.slice(0, MAX_MESSAGE_FIELDS).map((f) => `${f.path}: ${f.message}`);
    if (fields.length > MAX_MESSAGE_FIELDS) shown.push(`… and ${(fields.length - MAX_MESSAGE_FIELDS).toLocaleString('en-US')} more`);
    super('VN_INVALID_SPEC', shown.join('; '));
    this.fields = fields;
  }
}

export class NotFoundError extends VirtnodeError {
  constructor(what: string) {
    super('VN_NOT_FOUND', `${what} not found`);
  }
}

export class AlreadyExistsError extends VirtnodeError {
  constructor(what: string) {
    super('VN_ALREADY_EXISTS', `${what} already exists`);
  }
}

/** containerd's "invalid state transition": names both states, never a silent no-op. */
export class IllegalTransitionError extends VirtnodeError {
  readonly from: string;
  readonly to: string;
  constructor(from: string, to: string, detail?: string) {
    super('VN_ILLEGAL_TRANSITION', `invalid state transition ${JSON.stringify(from)} to ${JSON.stringify(to)}${detail ? `: ${detail}` : ''}`);
    this.from = from;
    this.to = to;
  }
}

export class TimeoutError extends VirtnodeError {
  constructor(what: string, ms: number) {
    super('VN_TIMEOUT', `${what} timed out after ${ms} ms`);
  }
}

export function isVirtnodeError(e: unknown): e is VirtnodeError {
  return e instanceof VirtnodeError;
}

/** The message of anything thrown, for logs and status reasons. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
