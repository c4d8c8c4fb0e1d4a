// What the guest showed, as unary calls (no grpc-js): `virtnode screenshot NAME -o
// FILE`, its screen as PNG (QEMU's screendump), and `virtnode logs NAME`, what it
// wrote to its serial console lately (devices.logSerialConsole, bounded).

import { writeFileSync } from 'node:fs';
import type { UnaryClient } from './unary.js';
import type { ScreenshotResponse__Output } from '../../proto/generated/virtnode/handler/v1/ScreenshotResponse.js';
import type { SerialConsoleLogResponse__Output } from '../../proto/generated/virtnode/handler/v1/SerialConsoleLogResponse.js';

export async function runScreenshot(c: UnaryClient, namespace: string, name: string, file: string | undefined): Promise<number> {
  if (!file) throw new Error('screenshot needs -o FILE (the PNG to write; - for stdout)');
  const res = await c.call<unknown, ScreenshotResponse__Output>('Screenshot', { namespace, name });
  const png = Buffer.from(res.png);
  if (file === '-') process.stdout.write(png);
  else writeFileSync(file, png);
  return 0;
}

export async function runLogs(c: UnaryClient, namespace: string, name: string): Promise<number> {
  const res = await c.call<unknown, SerialConsoleLogResponse__Output>('SerialConsoleLog', { namespace, name });
  process.stdout.write(Buffer.from(res.data));
  return 0;
}
