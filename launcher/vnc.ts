// The VNC display's door: the launcher serves vnc.sock in the VM's run directory
// (root's, 0600, where the handler connects for the VNC API call) and hands each
// accepted connection to QEMU whole: getfd passes the socket's fd over QMP, and
// add_client makes it a client of the display QEMU started with `-vnc none`. The
// launcher copies no byte of it, and closes its own copy at once.
//
// Why not a socket QEMU listens on (libvirt's `<graphics listen type="socket">`,
// which virt-handler dials): that socket would sit in QEMU's own directory, the one
// place QEMU may write, so a subverted QEMU could put a symlink there and have the
// root handler (or the launcher) dial any socket of the host in its stead (KubeVirt
// guards its dial with safepath's no-follow open; the dial here never happens).
// QEMU here listens nowhere; the only VNC socket is the launcher's, in a directory
// QEMU cannot reach.
//
// Connections are accepted paused (`pauseOnConnect`): libuv never reads from them,
// so no byte a client sent early is left behind in the launcher.

import { createServer, type Server, type Socket } from 'node:net';
import { promises as fs } from 'node:fs';
import type { Logger } from 'pino';
import { errorMessage } from '../proto/errors.js';
import { socketFd } from './qmp/fdpass.js';
import type { Qmp } from './qmp/index.js';

/** Clients handed over at once at most: the handler admits one per VMI; this bounds the rest. */
const MAX_PENDING = 4;

export class VncServer {
  #log: Logger;
  #qmp: Qmp;
  #server: Server | undefined;
  #seq = 0;
  #pending = 0;

  constructor(qmp: Qmp, log: Logger) {
    this.#qmp = qmp;
    this.#log = log;
  }

  async listen(path: string): Promise<void> {
    await fs.rm(path, { force: true });
    const server = createServer({ pauseOnConnect: true }, (c) => void this.#accept(c));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    await fs.chmod(path, 0o600);
    this.#server = server;
  }

  async close(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  async #accept(c: Socket): Promise<void> {
    c.on('error', () => undefined);
    if (this.#pending >= MAX_PENDING) {
      c.destroy();
      return;
    }
    this.#pending++;
    const name = `vnc${++this.#seq}`;
    try {
      await this.#qmp.sendFd(socketFd(c), name);
      try {
        await this.#qmp.execute('add_client', { protocol: 'vnc', fdname: name, skipauth: true }, { timeoutMs: 10_000 });
      } catch (e) {
        await this.#qmp.execute('closefd', { fdname: name }).catch(() => undefined);
        throw e;
      }
      this.#log.info({ client: name }, 'VNC client handed to QEMU');
    } catch (e) {
      this.#log.warn({ err: errorMessage(e) }, 'handing a VNC client to QEMU failed');
    } finally {
      this.#pending--;
      // QEMU holds its own copy now (or none): closing ours shuts nothing down.
      c.destroy();
    }
  }
}
