// When a guest's serial console printed its first line and its login prompt, by
// our clock on arrival. The same clock is fed by the handler's Console stream, by a
// bare QEMU's serial socket and by libvirt's, so the three are compared alike.

import { connect, type Socket } from 'node:net';

export class ConsoleClock {
  text = '';
  /** performance.now() when the first line with visible text was complete. */
  firstLineAt: number | undefined;
  firstLine: string | undefined;
  loginAt: number | undefined;
  /** performance.now() of the first byte. */
  firstByteAt: number | undefined;
  #waiters: (() => void)[] = [];

  feed(b: Buffer | Uint8Array | string): void {
    const now = performance.now();
    this.firstByteAt ??= now;
    this.text += typeof b === 'string' ? b : Buffer.from(b).toString('latin1');
    if (this.firstLineAt === undefined) {
      const m = this.text.match(/^[\r\n]*([^\r\n]*\S[^\r\n]*)\r?\n/);
      if (m) {
        this.firstLineAt = now;
        this.firstLine = m[1]!.trim();
      }
    }
    if (this.loginAt === undefined && /login: ?$/m.test(this.text)) this.loginAt = now;
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Resolves once the login prompt has been seen. */
  async login(timeoutMs = 90_000): Promise<number> {
    const end = Date.now() + timeoutMs;
    while (this.loginAt === undefined) {
      const left = end - Date.now();
      if (left <= 0) throw new Error(`no login prompt on the console within ${timeoutMs} ms; output: ${JSON.stringify(this.text.slice(-400))}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.loginAt;
  }
}

/** Connects to a unix socket that may not exist yet, retrying every `everyMs`. */
export async function connectWhenReady(path: string, opts: { everyMs?: number; timeoutMs?: number } = {}): Promise<Socket> {
  const end = Date.now() + (opts.timeoutMs ?? 10_000);
  for (;;) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const s = connect(path);
        s.once('connect', () => {
          s.off('error', reject);
          resolve(s);
        });
        s.once('error', reject);
      });
    } catch (e) {
      if (Date.now() > end) throw new Error(`cannot connect to ${path}: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, opts.everyMs ?? 1));
    }
  }
}
