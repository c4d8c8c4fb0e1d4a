// devices.logSerialConsole: the guest's serial output kept in a file of the VM's
// run directory, as KubeVirt's guest-console-log container keeps it, but bounded:
// at most `maxBytes` in the file, then it becomes `<file>.1` (replacing the one
// before) and a new file starts. Disk use is at most twice `maxBytes`, whatever the
// guest writes.
//
// Writes go one at a time, off the event loop (a slow disk must not stall the
// launcher's QMP and session work); what arrives meanwhile waits in memory, at most
// `maxBytes` of it: past that the oldest waiting output is dropped and a marker says
// so. The handler reads the files (`virtnode logs`); it opens them without following
// links, as the launcher makes them.

import { constants, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { Logger } from 'pino';
import { errorMessage } from '../proto/errors.js';
import { CONSOLE_LOG_BYTES } from '../proto/launch.js';

const OPEN_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_NOFOLLOW;

export class ConsoleLog {
  readonly path: string;
  readonly maxBytes: number;
  #log: Logger;
  #file: FileHandle | undefined;
  #size = 0;
  #queue: Buffer[] = [];
  #queued = 0;
  #dropped = 0;
  #writing: Promise<void> | undefined;
  #closed = false;

  constructor(path: string, log: Logger, maxBytes = CONSOLE_LOG_BYTES) {
    this.path = path;
    this.maxBytes = maxBytes;
    this.#log = log;
  }

  /** Queues console output; never blocks, never holds more than maxBytes waiting. */
  write(b: Buffer): void {
    if (this.#closed || b.length === 0) return;
    this.#queue.push(b);
    this.#queued += b.length;
    while (this.#queued > this.maxBytes && this.#queue.length > 0) {
      const over = this.#queued - this.maxBytes;
      const head = this.#queue[0]!;
      if (head.length <= over) {
        this.#queue.shift();
        this.#queued -= head.length;
        this.#dropped += head.length;
      } else {
        this.#queue[0] = head.subarray(over);
        this.#queued -= over;
        this.#dropped += over;
      }
    }
    this.#writing ??= this.#drain();
  }

  /** Resolves once everything queued so far is written. */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
    await this.#file?.close().catch(() => undefined);
    this.#file = undefined;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        let chunk = Buffer.concat(this.#queue.splice(0));
        this.#queued = 0;
        if (this.#dropped > 0) {
          const marker = Buffer.from(`\r\n[virtnode: ${this.#dropped} bytes of console output dropped: the log fell behind]\r\n`);
          // The marker fits beside the output in one part, so a rotation cannot cut it off.
          chunk = Buffer.concat([marker, chunk.subarray(Math.max(0, chunk.length - (this.maxBytes - marker.length)))]);
          this.#dropped = 0;
        }
        await this.#append(chunk);
      }
    } catch (e) {
      // The log is a convenience: the console itself goes on without it.
      this.#log.warn({ err: errorMessage(e), path: this.path }, 'writing the serial console log failed; it stops here');
      this.#closed = true;
      this.#queue = [];
      this.#queued = 0;
    } finally {
      this.#writing = undefined;
    }
  }

  /** Appends `chunk`, rotating whenever the file would pass maxBytes; a chunk larger than that keeps its tail. */
  async #append(chunk: Buffer): Promise<void> {
    if (chunk.length > this.maxBytes) chunk = chunk.subarray(chunk.length - this.maxBytes);
    if (!this.#file) await this.#open();
    if (this.#size + chunk.length > this.maxBytes) {
      // Fill the current part to its limit, then start a new one with the rest.
      const head = chunk.subarray(0, Math.max(0, this.maxBytes - this.#size));
      if (head.length) await this.#file!.write(head);
      await this.#rotate();
      chunk = chunk.subarray(head.length);
    }
    await this.#file!.write(chunk);
    this.#size += chunk.length;
  }

  async #open(): Promise<void> {
    this.#file = await fs.open(this.path, OPEN_FLAGS, 0o600);
    this.#size = (await this.#file.stat()).size;
  }

  async #rotate(): Promise<void> {
    await this.#file?.close();
    this.#file = undefined;
    await fs.rename(this.path, `${this.path}.1`);
    this.#file = await fs.open(this.path, OPEN_FLAGS | constants.O_TRUNC, 0o600);
    this.#size = 0;
  }
}
