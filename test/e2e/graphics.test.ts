// The VM's screen and console through the handler's API, on a real TCG guest:
// VNC (an RFB 3.8 client gets a framebuffer update through the VNC call, and
// through `virtnode vnc --proxy-only` on 127.0.0.1), `virtnode screenshot` (a PNG
// that decodes to the display's size), one console client at a time (--force takes
// over), `virtnode logs` (the bounded console log), and a VMI without graphics that
// has neither VGA nor VNC and refuses vnc and screenshot by name.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import type * as grpc from '@grpc/grpc-js';
import { CLI, cirrosVMI, sleep, useTestHandler, type TestHandler } from './harness.js';
import type { ConsoleInput } from '../../proto/generated/virtnode/handler/v1/ConsoleInput.js';
import type { ConsoleOutput__Output } from '../../proto/generated/virtnode/handler/v1/ConsoleOutput.js';
import type { ScreenshotResponse__Output } from '../../proto/generated/virtnode/handler/v1/ScreenshotResponse.js';
import type { DomainStats__Output } from '../../proto/generated/virtnode/handler/v1/DomainStats.js';
import { CONSOLE_LOG_BYTES } from '../../proto/launch.js';

let h: TestHandler;
useTestHandler((x) => (h = x));

/** Bytes in order from a stream, read by exact counts. */
class ByteReader {
  #buf = Buffer.alloc(0);
  #wake: (() => void) | undefined;
  #ended: string | undefined;

  push(b: Buffer): void {
    this.#buf = Buffer.concat([this.#buf, b]);
    this.#wake?.();
  }

  end(why: string): void {
    this.#ended ??= why;
    this.#wake?.();
  }

  async read(n: number, timeoutMs = 30_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.#buf.length < n) {
      if (this.#ended) throw new Error(`stream ended (${this.#ended}) after ${this.#buf.length} of ${n} bytes`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out reading ${n} bytes (have ${this.#buf.length})`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.#wake = () => {
          clearTimeout(t);
          r();
        };
      });
      this.#wake = undefined;
    }
    const out = this.#buf.subarray(0, n);
    this.#buf = this.#buf.subarray(n);
    return out;
  }
}

interface ServerInit {
  width: number;
  height: number;
  bitsPerPixel: number;
  name: string;
}

/**
 * An RFB 3.8 client: version, security type None, ClientInit (shared), ServerInit,
 * SetEncodings (raw), then a full FramebufferUpdateRequest; resolves with the first
 * FramebufferUpdate's rectangles, each with its raw pixel bytes read in full.
 */
async function rfbFramebufferUpdate(r: ByteReader, send: (b: Buffer) => void): Promise<{ init: ServerInit; rects: { x: number; y: number; w: number; h: number; bytes: number }[] }> {
  const version = (await r.read(12)).toString('latin1');
  assert.match(version, /^RFB 003\.00[378]\n$/, 'the server speaks RFB first');
  send(Buffer.from('RFB 003.008\n', 'latin1'));
  const nTypes = (await r.read(1))[0]!;
  assert.ok(nTypes > 0, 'the server offers security types');
  const types = [...(await r.read(nTypes))];
  assert.ok(types.includes(1), `security type None offered (got ${types.join(',')})`);
  send(Buffer.from([1]));
  assert.equal((await r.read(4)).readUInt32BE(0), 0, 'SecurityResult OK');
  send(Buffer.from([1])); // ClientInit: shared
  const si = await r.read(24);
  const nameLength = si.readUInt32BE(20);
  const init: ServerInit = { width: si.readUInt16BE(0), height: si.readUInt16BE(2), bitsPerPixel: si[4]!, name: (await r.read(nameLength)).toString('utf8') };
  // SetEncodings: raw only, so every rectangle's size is known in advance.
  const enc = Buffer.alloc(8);
  enc.writeUInt8(2, 0);
  enc.writeUInt16BE(1, 2);
  enc.writeInt32BE(0, 4);
  send(enc);
  const req = Buffer.alloc(10);
  req.writeUInt8(3, 0); // FramebufferUpdateRequest, not incremental, the whole screen
  req.writeUInt16BE(init.width, 6);
  req.writeUInt16BE(init.height, 8);
  send(req);
  for (;;) {
    const type = (await r.read(1))[0]!;
    if (type === 2) continue; // Bell
    if (type === 3) {
      // ServerCutText
      const len = (await r.read(7)).readUInt32BE(3);
      await r.read(len);
      continue;
    }
    assert.equal(type, 0, `a FramebufferUpdate (message type ${type})`);
    const n = (await r.read(3)).readUInt16BE(1);
    const rects = [];
    for (let i = 0; i < n; i++) {
      const hd = await r.read(12);
      const rect = { x: hd.readUInt16BE(0), y: hd.readUInt16BE(2), w: hd.readUInt16BE(4), h: hd.readUInt16BE(6) };
      const encoding = hd.readInt32BE(8);
      if (encoding !== 0) continue; // a pseudo-encoding: no pixel data
      const bytes = rect.w * rect.h * (init.bitsPerPixel / 8);
      await r.read(bytes);
      rects.push({ ...rect, bytes });
    }
    return { init, rects };
  }
}

/** The VNC call as a byte pipe. */
function vncStream(name: string, force = true): { reader: ByteReader; send: (b: Buffer) => void; stream: grpc.ClientDuplexStream<ConsoleInput, ConsoleOutput__Output>; error: Promise<Error> } {
  const reader = new ByteReader();
  const stream: grpc.ClientDuplexStream<ConsoleInput, ConsoleOutput__Output> = h.client.node.VNC(h.client.md());
  stream.on('data', (m: ConsoleOutput__Output) => reader.push(Buffer.from(m.data)));
  const error = new Promise<Error>((resolve) => {
    stream.on('error', (e) => {
      reader.end(e.message);
      resolve(e);
    });
  });
  stream.on('end', () => reader.end('end'));
  stream.write({ open: { kind: 'VirtualMachineInstance', namespace: 'default', name }, force });
  return { reader, send: (b) => stream.write({ data: b }), stream, error };
}

/** A PNG's IHDR and its pixels inflated: the byte count proves the image whole. */
function decodePng(png: Buffer): { width: number; height: number; colorType: number; pixelBytes: number } {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'the PNG signature');
  let off = 8;
  let ihdr: Buffer | undefined;
  const idat: Buffer[] = [];
  let ended = false;
  while (off < png.length) {
    const len = png.readUInt32BE(off);
    const type = png.toString('latin1', off + 4, off + 8);
    const data = png.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') ihdr = data;
    if (type === 'IDAT') idat.push(data);
    if (type === 'IEND') ended = true;
    off += 12 + len;
  }
  assert.ok(ihdr && ended, 'IHDR and IEND present');
  const width = ihdr.readUInt32BE(0);
  const height = ihdr.readUInt32BE(4);
  const bitDepth = ihdr[8]!;
  const colorType = ihdr[9]!;
  assert.equal(bitDepth, 8);
  const channels = ({ 0: 1, 2: 3, 4: 2, 6: 4 } as Record<number, number>)[colorType];
  assert.ok(channels, `color type ${colorType}`);
  const raw = inflateSync(Buffer.concat(idat));
  // Each row: a filter byte, then width pixels.
  assert.equal(raw.length, height * (1 + width * channels), 'the inflated pixels are exactly height rows of width pixels');
  return { width, height, colorType, pixelBytes: raw.length };
}

/** QEMU's argv and whether it holds a listening TCP socket (in its own network namespace). */
function qemuFacts(pid: number): { argv: string[]; tcpListening: number } {
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      /* closed meanwhile */
    }
  }
  let tcpListening = 0;
  for (const f of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${f}`, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === '0A' && inodes.has(cols[9]!)) tcpListening++;
    }
  }
  return { argv, tcpListening };
}

async function qemuPid(name: string): Promise<number> {
  const s = await h.client.call<unknown, DomainStats__Output>('GetDomainStats', { namespace: 'default', name });
  assert.ok(s.qemuPid > 0);
  return s.qemuPid;
}

function cliVncProxy(name: string): Promise<{ port: number; stop: () => Promise<void> }> {
  const p = spawn(process.execPath, [CLI, '--socket', h.socket, 'vnc', name, '--proxy-only', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stderr.on('data', (b) => (err += b));
  const exited = new Promise<number>((r) => p.once('exit', (c) => r(c ?? -1)));
  return new Promise((resolve, reject) => {
    p.stdout.on('data', (b) => {
      out += b;
      const m = /^\{"port":(\d+)\}\n/.exec(out);
      if (m) {
        resolve({
          port: Number(m[1]),
          stop: async () => {
            p.kill('SIGINT');
            assert.equal(await exited, 0, `vnc --proxy-only ends 0 on Ctrl-C: ${err}`);
          },
        });
      }
    });
    void exited.then((c) => reject(new Error(`virtnode vnc exited ${c}: ${err}`)));
  });
}

test('VNC through the API and `virtnode vnc`, a PNG screenshot, one console client at a time, and the bounded console log', async () => {
  const t0 = Date.now();
  assert.equal((await h.cli(['apply', '-f', '-'], cirrosVMI('gfx'))).code, 0);
  const vmi = await h.waitPhase('gfx', 'Running', 120_000);
  const running = Date.now() - t0;
  assert.equal(vmi.spec.domain.devices.autoattachGraphicsDevice, true, 'unset means attached, as in KubeVirt');

  // QEMU has a VGA and a VNC display, and listens on no TCP port: VNC clients come through QMP.
  const facts = qemuFacts(await qemuPid('gfx'));
  assert.ok(facts.argv.includes('{"driver":"VGA","id":"video0","vgamem_mb":16}'), facts.argv.join(' '));
  assert.equal(facts.argv[facts.argv.indexOf('-vnc') + 1], 'none');
  assert.equal(facts.tcpListening, 0, 'QEMU holds no listening TCP socket');
  const run = join(h.runDir, 'vmis', vmi.metadata.uid!);
  assert.equal(statSync(join(run, 'vnc.sock')).mode & 0o777, 0o600, "the launcher's VNC socket is root's only");
  assert.deepEqual(readdirSync(join(run, 'qemu')).filter((f) => /vnc/.test(f)), [], "no VNC socket in QEMU's directory");

  // The console, and the guest booted (its getty on ttyS0).
  const con = h.console('gfx');
  await con.expect(/login: $/m, 120_000);
  const login = Date.now() - t0;
  console.log(`# gfx (VGA + VNC): Apply→Running ${running} ms, Apply→login prompt ${login} ms`);

  // RFB through the API: handshake, ServerInit, a full framebuffer update in raw pixels.
  const v = vncStream('gfx');
  const { init, rects } = await rfbFramebufferUpdate(v.reader, v.send);
  assert.ok(init.width >= 640 && init.height >= 400, `a VGA-sized display: ${init.width}x${init.height}`);
  assert.equal(init.bitsPerPixel, 32);
  assert.match(init.name, /default_gfx|QEMU/);
  assert.ok(rects.length > 0, 'the update has rectangles');
  const area = rects.reduce((s, r) => s + r.w * r.h, 0);
  assert.equal(area, init.width * init.height, 'a full update covers the whole screen');
  assert.equal(rects.reduce((s, r) => s + r.bytes, 0), init.width * init.height * 4, 'all pixel bytes arrived');

  // A second VNC client without force is refused; with force it takes the display over.
  const refused = vncStream('gfx', false);
  const e = await refused.error;
  assert.match(e.message, /VNC display of default\/gfx: already attached/);
  const second = vncStream('gfx', true);
  assert.match((await v.error).message, /taken over by another client/);
  const again = await rfbFramebufferUpdate(second.reader, second.send);
  assert.equal(again.init.width, init.width);
  second.stream.cancel();

  // A screenshot through the API: a PNG of the display's size whose pixels inflate whole.
  const shot = await h.client.call<unknown, ScreenshotResponse__Output>('Screenshot', { namespace: 'default', name: 'gfx' });
  const png = decodePng(Buffer.from(shot.png));
  assert.deepEqual([png.width, png.height], [init.width, init.height]);
  assert.equal(png.colorType, 2, 'RGB, as QEMU writes it');

  // The CLI: screenshot -o FILE, and vnc --proxy-only serving 127.0.0.1.
  const dir = mkdtempSync(join(tmpdir(), 'vn-shot-'));
  try {
    const file = join(dir, 'shot.png');
    const r = await h.cli(['screenshot', 'gfx', '-o', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual([decodePng(readFileSync(file)).width, decodePng(readFileSync(file)).height], [init.width, init.height]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const proxy = await cliVncProxy('gfx');
  const tcp: Socket = connect(proxy.port, '127.0.0.1');
  const tr = new ByteReader();
  tcp.on('data', (b: Buffer) => tr.push(b));
  tcp.on('close', () => tr.end('closed'));
  const viaProxy = await rfbFramebufferUpdate(tr, (b) => tcp.write(b));
  assert.deepEqual([viaProxy.init.width, viaProxy.init.height], [init.width, init.height]);
  tcp.destroy();
  await proxy.stop();

  // One console client at a time: another is refused; --force takes over.
  const other = h.console('gfx');
  await assert.rejects(other.expect(/never/, 10_000), /console of default\/gfx: already attached by another client \(use --force to take it over\)/);
  await con.expect(/login: $/m, 5_000); // the first client still has it
  const forced = new ConsoleHandle('gfx');
  await assert.rejects(con.expect(/never/, 10_000), /taken over by another client/);
  forced.send('\r');
  await forced.expect(/login: $/m);
  forced.close();
  const cliForce = await h.cli(['console', 'gfx', '--force'], '');
  assert.equal(cliForce.code, 0, cliForce.stderr);

  // The console log holds the boot, bounded, in the VM's run directory.
  const logs = await h.cli(['logs', 'gfx']);
  assert.equal(logs.code, 0, logs.stderr);
  assert.match(logs.stdout, /Linux version|login:/);
  assert.ok(statSync(join(run, 'console.log')).size <= CONSOLE_LOG_BYTES);

  assert.equal((await h.cli(['delete', 'vmi', 'gfx', '--wait'])).code, 0);
  await h.nothingLeft(vmi.metadata.uid!);
});

/** The console through the API with force set (ConsoleSession opens without it). */
class ConsoleHandle {
  #stream: grpc.ClientDuplexStream<ConsoleInput, ConsoleOutput__Output>;
  #out = '';
  constructor(name: string) {
    this.#stream = h.client.node.Console(h.client.md());
    this.#stream.write({ open: { kind: 'VirtualMachineInstance', namespace: 'default', name }, force: true });
    this.#stream.on('data', (m: ConsoleOutput__Output) => (this.#out += Buffer.from(m.data).toString('latin1')));
    this.#stream.on('error', () => undefined);
  }

  send(s: string): void {
    this.#stream.write({ data: Buffer.from(s) });
  }

  async expect(re: RegExp, timeoutMs = 30_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!re.test(this.#out)) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${re}; got ${JSON.stringify(this.#out.slice(-300))}`);
      await sleep(50);
    }
  }

  close(): void {
    this.#stream.cancel();
  }
}

test('autoattachGraphicsDevice false: no VGA, no VNC; vnc and screenshot are refused by name; logSerialConsole false keeps no log', async () => {
  const yaml = cirrosVMI('nogfx').replace('    devices:\n', '    devices:\n      autoattachGraphicsDevice: false\n      logSerialConsole: false\n');
  const t0 = Date.now();
  assert.equal((await h.cli(['apply', '-f', '-'], yaml)).code, 0);
  const vmi = await h.waitPhase('nogfx', 'Running', 120_000);
  const running = Date.now() - t0;
  const facts = qemuFacts(await qemuPid('nogfx'));
  assert.ok(!facts.argv.some((a) => a.includes('VGA')) && !facts.argv.includes('-vnc'), facts.argv.join(' '));
  const con = h.console('nogfx');
  await con.expect(/login: $/m, 120_000);
  console.log(`# nogfx (no graphics): Apply→Running ${running} ms, Apply→login prompt ${Date.now() - t0} ms`);
  con.close();

  const why = /nogfx has no graphics device \(spec\.domain\.devices\.autoattachGraphicsDevice is false\)/;
  const v = vncStream('nogfx');
  assert.match((await v.error).message, why);
  await assert.rejects(h.client.call('Screenshot', { namespace: 'default', name: 'nogfx' }), why);
  const shot = await h.cli(['screenshot', 'nogfx', '-o', '/dev/null']);
  assert.equal(shot.code, 1);
  assert.match(shot.stderr, why);
  const vnc = await h.cli(['vnc', 'nogfx', '--proxy-only']);
  assert.equal(vnc.code, 1);
  assert.match(vnc.stderr, why);
  const logs = await h.cli(['logs', 'nogfx']);
  assert.equal(logs.code, 1);
  assert.match(logs.stderr, /logSerialConsole is false/);
  const run = join(h.runDir, 'vmis', vmi.metadata.uid!);
  assert.ok(!existsSync(join(run, 'console.log')) && !existsSync(join(run, 'vnc.sock')));

  assert.equal((await h.cli(['delete', 'vmi', 'nogfx', '--wait'])).code, 0);
  await h.nothingLeft(vmi.metadata.uid!);
});
