// The unary load generator: nghttp2's h2load (Debian's nghttp2-client), an HTTP/2
// load tool written in C, sending gRPC calls written out once (path, headers,
// framed message). A load generated from Node spent as much CPU as the server it
// measured (67–88 % of a core) and its own collector stalled every call in flight
// every 200–350 ms, so on two cores the figure was mostly the client's; on an idle
// machine the same grpc-js server read p99 16.4 ms under the Node client and 6.7 ms
// under h2load.
//
// h2load does not read gRPC trailers, so a run is accepted only if every call it
// completed got HTTP 200 and the message bytes it received cover a full answer for
// each of them: a gRPC error carries no message. The caller first makes the same
// call once with a gRPC client and checks its status and answer.

import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePackages } from './apt.js';

export const H2LOAD_PACKAGES = ['nghttp2-client'];

/** Installs h2load when missing; returns why it cannot be used, or undefined. */
export function ensureH2load(log: (m: string) => void): Promise<string | undefined> {
  return ensurePackages(H2LOAD_PACKAGES, ['h2load'], log);
}

export interface UnaryLoad {
  /** The server's unix socket. */
  socket: string;
  /** `/package.Service/Method`. */
  path: string;
  /** The request as gRPC frames it (grpcFrame). */
  body: Buffer;
  headers: Record<string, string>;
  connections: number;
  /** Calls in flight on each connection. */
  streams: number;
  seconds: number;
  /** Length of the framed answer every call must receive. */
  answerBytes: number;
  /** Where the request body and the per-call log are written. */
  dir: string;
  label: string;
}

export interface LoadResult {
  /** Per completed call, ms from request to the end of the answer. */
  latencies: number[];
  /** CPU the load generator used, seconds. */
  cpuSeconds: number;
}

export async function runUnaryLoad(o: UnaryLoad): Promise<LoadResult> {
  const body = join(o.dir, `${o.label}.body`);
  const calls = join(o.dir, `${o.label}.log`);
  writeFileSync(body, o.body);
  rmSync(calls, { force: true }); // h2load appends
  const args = [
    `--base-uri=unix:${o.socket}`,
    `--clients=${o.connections}`,
    `--max-concurrent-streams=${o.streams}`,
    `--duration=${o.seconds}`,
    // 16 MiB windows, as a grpc-go client's grow to (h2load's default is 1 GiB).
    '--window-bits=24',
    '--connection-window-bits=24',
    `--data=${body}`,
    `--log-file=${calls}`,
    ...Object.entries(o.headers).map(([k, v]) => `--header=${k}: ${v}`),
    `http://localhost${o.path}`,
  ];
  // `times` reports the CPU of the shell's children: h2load's.
  const { code, stdout, stderr } = await run('bash', ['-c', 'h2load "$@"; s=$?; times >&2; exit $s', 'h2load', ...args]);
  const fail = (why: string): Error => new Error(`unary load ${o.label} (${o.path}): ${why}\n${stdout.trim().split('\n').slice(-8).join('\n')}`);
  if (code !== 0) throw fail(`h2load exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' ')}`);
  const req = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(stdout);
  const traffic = /traffic: .*? \((\d+)\) total, .*? \((\d+)\) headers .*?, .*? \((\d+)\) data/.exec(stdout);
  if (!req || !traffic) throw fail('no request or traffic summary in its output');
  const [failed, errored, timedOut] = [Number(req[5]), Number(req[6]), Number(req[7])];
  if (failed + errored + timedOut > 0) throw fail(`${failed} failed, ${errored} errored, ${timedOut} timed out`);

  // Rows: start (µs since the epoch), HTTP status, µs to the end of the answer. Calls
  // still in flight when the duration ends are logged with status 0.
  const latencies: number[] = [];
  let cut = 0;
  for (const line of readFileSync(calls, 'utf8').split('\n')) {
    if (!line) continue;
    const [, status, us] = line.split('\t');
    if (status === '200') latencies.push(Number(us) / 1000);
    else if (status === '0') cut++;
    else throw fail(`a call got HTTP ${status}`);
  }
  if (cut > o.connections * o.streams) throw fail(`${cut} calls never answered, more than were in flight at the end`);
  const dataBytes = Number(traffic[3]);
  if (latencies.length === 0 || dataBytes < latencies.length * o.answerBytes) {
    throw fail(`${dataBytes} message bytes for ${latencies.length} calls of ${o.answerBytes}: some answers carried no message (a gRPC error)`);
  }
  // `times` prints the children's user and system time last: "0m1.234s 0m0.567s".
  const childTimes = stderr.trim().split('\n').at(-1) ?? '';
  const cpuSeconds = [...childTimes.matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, [, m, sec]) => sum + Number(m) * 60 + Number(sec), 0);
  return { latencies, cpuSeconds };
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d));
    p.stderr.on('data', (d: Buffer) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
