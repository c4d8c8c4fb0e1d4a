// QMP's wire framing: QEMU writes each message as one line of compact JSON ended by
// "\r\n" (its JSON never holds a raw newline: strings escape it). A read may end
// inside a message or hold several, so bytes are cut at newlines, never at reads.

import { StringDecoder } from 'node:string_decoder';

/** The longest line accepted; query-qmp-schema, the largest reply, is ~200 KiB. */
export const MAX_LINE_BYTES = 16 << 20;

export class LineSplitter {
  #decoder = new StringDecoder('utf8');
  #partial = '';

  /** Feeds one chunk; returns the complete lines it finished (without "\r\n"). */
  push(chunk: Buffer): string[] {
    // The decoder holds back a UTF-8 sequence cut by the chunk boundary.
    const text = this.#partial + this.#decoder.write(chunk);
    const lines = text.split('\n');
    this.#partial = lines.pop()!;
    if (this.#partial.length > MAX_LINE_BYTES) throw new RangeError(`QMP message longer than ${MAX_LINE_BYTES} bytes without a newline`);
    return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l)).filter((l) => l.trim() !== '');
  }

  /** Bytes of an unfinished message (for diagnostics at close). */
  get pending(): number {
    return this.#partial.length;
  }
}

/** One QMP message as it appears on the wire, before it is told apart. */
export type WireMessage =
  | { kind: 'greeting'; value: Record<string, unknown> }
  | { kind: 'return'; id: unknown; value: unknown }
  | { kind: 'error'; id: unknown; errorClass: string; desc: string }
  | { kind: 'event'; event: string; data: Record<string, unknown>; timestamp: { seconds: number; microseconds: number } | undefined };

/** Sorts a parsed line into greeting, reply, error reply or event; undefined for anything else. */
export function classify(msg: unknown): WireMessage | undefined {
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return undefined;
  const m = msg as Record<string, unknown>;
  if ('QMP' in m) return { kind: 'greeting', value: m };
  if ('return' in m) return { kind: 'return', id: m.id, value: m.return };
  if ('error' in m) {
    const e = (typeof m.error === 'object' && m.error !== null ? m.error : {}) as Record<string, unknown>;
    return { kind: 'error', id: m.id, errorClass: String(e.class ?? 'GenericError'), desc: String(e.desc ?? '') };
  }
  if (typeof m.event === 'string') {
    const data = typeof m.data === 'object' && m.data !== null && !Array.isArray(m.data) ? (m.data as Record<string, unknown>) : {};
    const t = m.timestamp as { seconds?: unknown; microseconds?: unknown } | undefined;
    const timestamp = t && typeof t.seconds === 'number' && typeof t.microseconds === 'number' ? { seconds: t.seconds, microseconds: t.microseconds } : undefined;
    return { kind: 'event', event: m.event, data, timestamp };
  }
  return undefined;
}
