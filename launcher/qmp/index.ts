// The launcher's QMP client: see client.ts for how commands and events flow.
export { Qmp, type QmpConnectOptions, type ExecuteOptions, type QmpClientEvents, type QmpLogger } from './client.js';
export { QmpCommandError, QmpTimeoutError, QmpClosedError, QmpProtocolError } from './errors.js';
export { QMP_EVENT_NAMES } from './types.js';
export type * from './types.js';
