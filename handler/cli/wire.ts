// The protobuf messages of the handler's unary calls, encoded and decoded by hand
// for the CLI. Loading grpc-js and parsing handler.proto with proto-loader took
// ~150 ms of every `virtnode get`, three times what the call itself needs; these
// tables are the part of handler.proto the CLI sends and reads, and
// test/unit/cli-wire.test.ts holds them to the .proto and to proto-loader's bytes.
// Decoded messages have proto-loader's shapes with the flags of proto/gen.sh
// (camelCase names, defaults filled in, 64-bit integers as numbers), so the
// generated `__Output` types describe them.

type Scalar = 'string' | 'bytes' | 'bool' | 'uint32' | 'uint64' | 'int64';

export interface Field {
  no: number;
  name: string;
  type: Scalar | MessageType;
  repeated?: boolean;
}

export interface MessageType {
  name: string;
  fields: Field[];
}

const message = (name: string, fields: Field[]): MessageType => ({ name, fields });
const f = (no: number, name: string, type: Field['type'], repeated = false): Field => ({ no, name, type, repeated });

const ObjectMsg = message('Object', [f(1, 'kind', 'string'), f(2, 'json', 'string'), f(3, 'resourceVersion', 'uint64')]);
const ObjectRef = message('ObjectRef', [f(1, 'kind', 'string'), f(2, 'namespace', 'string'), f(3, 'name', 'string')]);
const OperationResponse = message('OperationResponse', [f(1, 'message', 'string')]);
const GuestAgentRequest = message('GuestAgentRequest', [f(1, 'namespace', 'string'), f(2, 'name', 'string')]);
const GuestAgentResponse = message('GuestAgentResponse', [f(1, 'json', 'string')]);
const VmiName = (name: string): MessageType => message(name, [f(1, 'namespace', 'string'), f(2, 'name', 'string')]);
const LifecycleRequest = message('LifecycleRequest', [f(1, 'namespace', 'string'), f(2, 'name', 'string'), f(3, 'gracePeriodSeconds', 'int64'), f(4, 'force', 'bool')]);

export interface UnaryMethod {
  path: string;
  request: MessageType;
  response: MessageType;
}

const PACKAGE = 'virtnode.handler.v1';
const method = (service: string, name: string, request: MessageType, response: MessageType): UnaryMethod => ({ path: `/${PACKAGE}.${service}/${name}`, request, response });

export const NEGOTIATE = method(
  'Info',
  'Negotiate',
  message('NegotiateRequest', [f(1, 'supportedVersions', 'uint32', true), f(2, 'client', 'string')]),
  message('NegotiateResponse', [f(1, 'version', 'uint32'), f(2, 'server', 'string')]),
);

/** The Node service's unary methods, by the names grpc-js clients give them. */
export const NODE_METHODS = {
  Apply: method('Node', 'Apply', message('ApplyRequest', [f(1, 'manifest', 'string'), f(2, 'dryRun', 'bool')]), message('ApplyResponse', [f(1, 'objects', ObjectMsg, true), f(2, 'warnings', 'string', true), f(3, 'results', 'string', true)])),
  Get: method('Node', 'Get', ObjectRef, ObjectMsg),
  List: method('Node', 'List', message('ListRequest', [f(1, 'kind', 'string'), f(2, 'namespace', 'string')]), message('ListResponse', [f(1, 'objects', ObjectMsg, true), f(2, 'resourceVersion', 'uint64')])),
  Delete: method('Node', 'Delete', message('DeleteRequest', [f(1, 'ref', ObjectRef), f(2, 'gracePeriodSeconds', 'int64')]), OperationResponse),
  Start: method('Node', 'Start', LifecycleRequest, OperationResponse),
  Stop: method('Node', 'Stop', LifecycleRequest, OperationResponse),
  Restart: method('Node', 'Restart', LifecycleRequest, OperationResponse),
  Pause: method('Node', 'Pause', LifecycleRequest, OperationResponse),
  Unpause: method('Node', 'Unpause', LifecycleRequest, OperationResponse),
  SoftReboot: method('Node', 'SoftReboot', LifecycleRequest, OperationResponse),
  Reset: method('Node', 'Reset', LifecycleRequest, OperationResponse),
  AddVolume: method('Node', 'AddVolume', message('AddVolumeRequest', [f(1, 'namespace', 'string'), f(2, 'name', 'string'), f(3, 'optionsJson', 'string'), f(4, 'persist', 'bool'), f(5, 'dryRun', 'bool')]), OperationResponse),
  RemoveVolume: method('Node', 'RemoveVolume', message('RemoveVolumeRequest', [f(1, 'namespace', 'string'), f(2, 'name', 'string'), f(3, 'volumeName', 'string'), f(4, 'persist', 'bool'), f(5, 'dryRun', 'bool')]), OperationResponse),
  ListImages: method(
    'Node',
    'ListImages',
    message('ListImagesRequest', []),
    message('ListImagesResponse', [
      f(1, 'images', message('Image', [f(1, 'reference', 'string'), f(2, 'digest', 'string'), f(3, 'sizeBytes', 'uint64'), f(4, 'users', 'uint32'), f(5, 'pulledAt', 'string')]), true),
      f(2, 'pulls', message('ImagePull', [f(1, 'reference', 'string'), f(2, 'bytesDone', 'uint64'), f(3, 'bytesTotal', 'uint64')]), true),
    ]),
  ),
  GetNodeInfo: method(
    'Node',
    'GetNodeInfo',
    message('NodeInfoRequest', []),
    message('NodeInfo', [f(1, 'nodeName', 'string'), f(2, 'mode', 'string'), f(3, 'version', 'string'), f(4, 'acceleratorJson', 'string'), f(5, 'allowEmulation', 'bool'), f(6, 'protocolVersion', 'uint32'), f(7, 'infoJson', 'string')]),
  ),
  GuestOSInfo: method('Node', 'GuestOSInfo', GuestAgentRequest, GuestAgentResponse),
  FilesystemList: method('Node', 'FilesystemList', GuestAgentRequest, GuestAgentResponse),
  UserList: method('Node', 'UserList', GuestAgentRequest, GuestAgentResponse),
  Freeze: method('Node', 'Freeze', message('FreezeRequest', [f(1, 'namespace', 'string'), f(2, 'name', 'string'), f(3, 'unfreezeTimeoutSeconds', 'uint32')]), OperationResponse),
  Unfreeze: method('Node', 'Unfreeze', LifecycleRequest, OperationResponse),
  Screenshot: method('Node', 'Screenshot', VmiName('ScreenshotRequest'), message('ScreenshotResponse', [f(1, 'png', 'bytes')])),
  SerialConsoleLog: method('Node', 'SerialConsoleLog', VmiName('SerialConsoleLogRequest'), message('SerialConsoleLogResponse', [f(1, 'data', 'bytes')])),
  GetDomainStats: method(
    'Node',
    'GetDomainStats',
    message('DomainStatsRequest', [f(1, 'namespace', 'string'), f(2, 'name', 'string')]),
    message('DomainStats', [
      f(1, 'namespace', 'string'),
      f(2, 'name', 'string'),
      f(3, 'timestampMs', 'int64'),
      f(4, 'qemuPid', 'uint32'),
      f(5, 'cpu', message('DomainCpuStats', [f(1, 'timeNs', 'uint64'), f(2, 'userNs', 'uint64'), f(3, 'systemNs', 'uint64')])),
      f(6, 'vcpus', message('DomainVcpuStats', [f(1, 'id', 'uint32'), f(2, 'threadId', 'uint32'), f(3, 'timeNs', 'uint64'), f(4, 'delayNs', 'uint64')]), true),
      f(
        7,
        'memory',
        message(
          'DomainMemoryStats',
          ['domainBytes', 'actualBalloonBytes', 'residentBytes', 'availableBytes', 'unusedBytes', 'usableBytes', 'cachedBytes', 'swapInBytes', 'swapOutBytes', 'majorFaults', 'minorFaults', 'guestStatsUpdated'].map((n, i) => f(i + 1, n, 'int64')),
        ),
      ),
      f(
        8,
        'blocks',
        message('DomainBlockStats', [
          f(1, 'drive', 'string'),
          f(2, 'target', 'string'),
          ...['rdBytes', 'wrBytes', 'rdOperations', 'wrOperations', 'flushOperations', 'rdTotalTimeNs', 'wrTotalTimeNs', 'flushTotalTimeNs'].map((n, i) => f(i + 3, n, 'uint64')),
        ]),
        true,
      ),
      f(
        9,
        'interfaces',
        message('DomainInterfaceStats', [
          f(1, 'name', 'string'),
          f(2, 'tap', 'string'),
          ...['rxBytes', 'rxPackets', 'rxErrors', 'rxDropped', 'txBytes', 'txPackets', 'txErrors', 'txDropped'].map((n, i) => f(i + 3, n, 'uint64')),
        ]),
        true,
      ),
      f(10, 'launcher', message('LauncherCost', [f(1, 'pid', 'uint32'), f(2, 'pssBytes', 'uint64'), f(3, 'rssBytes', 'uint64'), f(4, 'cpuNs', 'uint64')])),
    ]),
  ),
} as const satisfies Record<string, UnaryMethod>;

export type NodeMethodName = keyof typeof NODE_METHODS;

// --- encoding ---------------------------------------------------------------

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

class Writer {
  readonly #parts: Buffer[] = [];
  #bytes: number[] = [];

  varint(n: number | bigint): void {
    if (typeof n === 'number' && n >= 0 && n <= 0x7fffffff) {
      while (n > 0x7f) {
        this.#bytes.push((n & 0x7f) | 0x80);
        n >>>= 7;
      }
      this.#bytes.push(n);
      return;
    }
    // int64 is two's complement in 10 bytes when negative, as protobuf has it.
    let v = BigInt.asUintN(64, BigInt(n));
    while (v > 0x7fn) {
      this.#bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.#bytes.push(Number(v));
  }

  bytes(b: Buffer): void {
    this.varint(b.length);
    this.#flush();
    this.#parts.push(b);
  }

  #flush(): void {
    if (this.#bytes.length) this.#parts.push(Buffer.from(this.#bytes));
    this.#bytes = [];
  }

  finish(): Buffer {
    this.#flush();
    return this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts);
  }
}

function isDefault(type: Field['type'], v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (typeof type === 'object') return false;
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return v.length === 0;
  return v === '' || v === false || v === 0;
}

/** A message as protobuf encodes it; fields left out, null or at their default are not sent (proto3). */
export function encode(type: MessageType, value: Record<string, unknown>): Buffer {
  const w = new Writer();
  for (const field of type.fields) {
    const v = value[field.name];
    if (field.repeated) {
      const items = (v ?? []) as unknown[];
      if (items.length === 0) continue;
      if (field.type === 'string' || field.type === 'bytes' || typeof field.type === 'object') {
        for (const item of items) writeOne(w, field, item);
      } else {
        // Repeated numbers and bools are packed in proto3.
        const inner = new Writer();
        for (const item of items) inner.varint(toVarint(field.type, item));
        w.varint((field.no << 3) | LENGTH_DELIMITED);
        w.bytes(inner.finish());
      }
    } else if (!isDefault(field.type, v)) {
      writeOne(w, field, v);
    }
  }
  return w.finish();
}

/** A number as protobufjs (under grpc-js) sends it: NaN as 0, fractions cut, uint32 wrapped, 64-bit clamped. */
function toVarint(type: Scalar, v: unknown): number | bigint {
  if (type === 'bool') return v ? 1 : 0;
  if (typeof v === 'bigint') return v;
  const n = Number(v);
  if (type === 'uint32') return n >>> 0;
  if (Number.isNaN(n)) return 0;
  if (!Number.isFinite(n)) return n > 0 ? 2n ** 63n - 1n : -(2n ** 63n);
  return Math.trunc(n);
}

function writeOne(w: Writer, field: Field, v: unknown): void {
  if (typeof field.type === 'object') {
    w.varint((field.no << 3) | LENGTH_DELIMITED);
    w.bytes(encode(field.type, v as Record<string, unknown>));
  } else if (field.type === 'string') {
    w.varint((field.no << 3) | LENGTH_DELIMITED);
    w.bytes(Buffer.from(String(v), 'utf8'));
  } else if (field.type === 'bytes') {
    w.varint((field.no << 3) | LENGTH_DELIMITED);
    w.bytes(Buffer.from(v as Uint8Array));
  } else {
    w.varint((field.no << 3) | VARINT);
    w.varint(toVarint(field.type, v));
  }
}

// --- decoding ---------------------------------------------------------------

class Reader {
  readonly buf: Buffer;
  pos: number;
  readonly end: number;

  constructor(buf: Buffer, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  /** A varint as a number: exact below 2^53, which no count or size of the handler's reaches. */
  varint(): number {
    let v = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.pos++]!;
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
      scale *= 128;
    }
    throw new Error('varint longer than 10 bytes');
  }

  /** A signed 64-bit varint, exact for the small negatives (-1: unknown) a number would round away. */
  int64(): number {
    let v = 0n;
    for (let i = 0n; i < 10n; i++) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.pos++]!;
      v |= BigInt(b & 0x7f) << (7n * i);
      if (b < 0x80) return Number(BigInt.asIntN(64, v));
    }
    throw new Error('varint longer than 10 bytes');
  }

  length(): number {
    const n = this.varint();
    if (this.pos + n > this.end) throw new Error('truncated length-delimited field');
    return n;
  }

  skip(wire: number): void {
    if (wire === VARINT) this.varint();
    else if (wire === FIXED64) this.pos += 8;
    else if (wire === LENGTH_DELIMITED) {
      const n = this.length(); // read before pos: `pos += length()` would add to the pos before the length's own bytes
      this.pos += n;
    }
    else if (wire === FIXED32) this.pos += 4;
    else throw new Error(`unknown wire type ${wire}`);
    if (this.pos > this.end) throw new Error('truncated field');
  }
}

function defaultOf(field: Field): unknown {
  if (field.repeated) return [];
  if (typeof field.type === 'object') return null;
  return field.type === 'string' ? '' : field.type === 'bytes' ? Buffer.alloc(0) : field.type === 'bool' ? false : 0;
}

function scalar(type: Scalar, raw: number): number | boolean {
  if (type === 'bool') return raw !== 0;
  if (type === 'uint32') return raw >>> 0;
  // int64 read back as unsigned: a negative one came as its two's complement.
  if (type === 'int64' && raw >= 2 ** 63) return raw - 2 ** 64;
  return raw;
}

function decodeFrom(type: MessageType, r: Reader): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of type.fields) out[field.name] = defaultOf(field);
  while (r.pos < r.end) {
    const tag = r.varint();
    const no = Math.floor(tag / 8);
    const wire = tag & 7;
    const field = type.fields.find((x) => x.no === no);
    if (!field) {
      r.skip(wire);
      continue;
    }
    let value: unknown;
    if (typeof field.type === 'object') {
      if (wire !== LENGTH_DELIMITED) throw new Error(`${type.name}.${field.name}: wire type ${wire}, expected a message`);
      const n = r.length();
      value = decodeFrom(field.type, new Reader(r.buf, r.pos, r.pos + n));
      r.pos += n;
    } else if (field.type === 'string') {
      if (wire !== LENGTH_DELIMITED) throw new Error(`${type.name}.${field.name}: wire type ${wire}, expected a string`);
      const n = r.length();
      value = r.buf.toString('utf8', r.pos, r.pos + n);
      r.pos += n;
    } else if (field.type === 'bytes') {
      if (wire !== LENGTH_DELIMITED) throw new Error(`${type.name}.${field.name}: wire type ${wire}, expected bytes`);
      const n = r.length();
      // A copy: the answer's buffer is not held alive by one field of it.
      value = Buffer.from(r.buf.subarray(r.pos, r.pos + n));
      r.pos += n;
    } else if (wire === LENGTH_DELIMITED && field.repeated) {
      const n = r.length();
      const end = r.pos + n;
      const items = out[field.name] as unknown[];
      const packed = new Reader(r.buf, r.pos, end);
      while (packed.pos < end) items.push(scalar(field.type, packed.varint()));
      r.pos = end;
      continue;
    } else {
      if (wire !== VARINT) throw new Error(`${type.name}.${field.name}: wire type ${wire}, expected a varint`);
      value = field.type === 'int64' ? r.int64() : scalar(field.type, r.varint());
    }
    if (field.repeated) (out[field.name] as unknown[]).push(value);
    else out[field.name] = value;
  }
  return out;
}

/** A message decoded with proto-loader's defaults (every field present). */
export function decode<T>(type: MessageType, buf: Buffer): T {
  return decodeFrom(type, new Reader(buf)) as T;
}
