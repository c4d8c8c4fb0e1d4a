// `virtnode console NAME [--force]`: the VMI's serial console on this terminal,
// raw, until Ctrl-] (virtctl's escape), as `virtctl console` does. One client at a
// time: --force takes the console over from another.

import type { HandlerClient } from './client.js';
import { serverError } from './client.js';
import type { ConsoleInput } from '../../proto/generated/virtnode/handler/v1/ConsoleInput.js';
import type { ConsoleOutput__Output } from '../../proto/generated/virtnode/handler/v1/ConsoleOutput.js';

import type * as grpc from '@grpc/grpc-js';

const ESCAPE = 0x1d; // Ctrl-]

export async function runConsole(c: HandlerClient, namespace: string, name: string, force = false): Promise<number> {
  const stream: grpc.ClientDuplexStream<ConsoleInput, ConsoleOutput__Output> = c.node.Console(c.md());
  stream.write({ open: { kind: 'VirtualMachineInstance', namespace, name }, force });
  const tty = process.stdin.isTTY;
  if (tty) {
    process.stderr.write(`Successfully connected to ${name} console. The escape sequence is ^]\n`);
    process.stdin.setRawMode(true);
  }
  return new Promise<number>((resolve) => {
    let code = 0;
    const finish = (): void => {
      if (tty) process.stdin.setRawMode(false);
      process.stdin.pause();
      resolve(code);
    };
    process.stdin.on('data', (b: Buffer) => {
      const i = tty ? b.indexOf(ESCAPE) : -1;
      if (i >= 0) {
        if (i > 0) stream.write({ data: b.subarray(0, i) });
        stream.end();
        stream.cancel();
        return;
      }
      stream.write({ data: b });
    });
    process.stdin.on('end', () => stream.end());
    stream.on('data', (m: ConsoleOutput__Output) => process.stdout.write(m.data));
    stream.on('error', (e) => {
      if ((e as grpc.ServiceError).code !== 1) {
        process.stderr.write(`error: ${serverError(e).message}\n`);
        code = 1;
      }
      finish();
    });
    stream.on('end', finish);
  });
}
