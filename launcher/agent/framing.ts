// The guest agent's wire: qemu-ga writes each reply as one line of JSON ended by
// "\n". Unlike QMP's socket, the channel outlives its peer: bytes written before a
// guest reboot, an agent restart or a timed-out command may still sit in it, and a
// reply may arrive cut in half. guest-sync-delimited is how a client finds the start
// of the replies that are its own: qemu-ga answers it with a 0xFF byte and then the
// JSON. 0xFF never occurs in UTF-8 text, so it marks a boundary that no stale byte
// can fake; the unfinished line before it is thrown away.

/** The longest reply accepted: guest-get-fsinfo of a guest with many disks is some tens of KiB. */
export const MAX_REPLY_BYTES = 4 << 20;

/** The byte qemu-ga writes (and reads) as a delimiter: it resets its JSON parser too. */
export const DELIMITER = 0xff;

export type AgentToken = { kind: 'delimiter' } | { kind: 'line'; text: string };

export class AgentReader {
  #partial: Buffer[] = [];
  #partialBytes = 0;

  /** Feeds one chunk; returns the delimiters and complete lines it finished, in order. */
  push(chunk: Buffer): AgentToken[] {
    const out: AgentToken[] = [];
    let data = chunk;
    while (data.length > 0) {
      const nl = data.indexOf(0x0a);
      const ff = data.indexOf(DELIMITER);
      if (ff >= 0 && (nl < 0 || ff < nl)) {
        this.#drop();
        out.push({ kind: 'delimiter' });
        data = data.subarray(ff + 1);
        continue;
      }
      if (nl < 0) {
        this.#partialBytes += data.length;
        if (this.#partialBytes > MAX_REPLY_BYTES) {
          // A runaway line is no reply of ours: drop it and read on (the next delimiter resyncs).
          this.#drop();
          throw new RangeError(`guest agent reply longer than ${MAX_REPLY_BYTES} bytes without a newline`);
        }
        this.#partial.push(data);
        break;
      }
      const line = this.#partial.length ? Buffer.concat([...this.#partial, data.subarray(0, nl)]) : data.subarray(0, nl);
      this.#drop();
      data = data.subarray(nl + 1);
      const text = line.toString('utf8').trim();
      if (text !== '') out.push({ kind: 'line', text });
    }
    return out;
  }

  /** Bytes of an unfinished line. */
  get pending(): number {
    return this.#partialBytes;
  }

  #drop(): void {
    this.#partial = [];
    this.#partialBytes = 0;
  }
}

/** One parsed reply: a return or an error (qemu-ga sends nothing else). */
export type AgentReply = { kind: 'return'; id: unknown; value: unknown } | { kind: 'error'; id: unknown; errorClass: string; desc: string };

export function classifyReply(msg: unknown): AgentReply | undefined {
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return undefined;
  const m = msg as Record<string, unknown>;
  if ('return' in m) return { kind: 'return', id: m.id, value: m.return };
  if ('error' in m) {
    const e = (typeof m.error === 'object' && m.error !== null ? m.error : {}) as Record<string, unknown>;
    return { kind: 'error', id: m.id, errorClass: String(e.class ?? 'GenericError'), desc: String(e.desc ?? '') };
  }
  return undefined;
}
