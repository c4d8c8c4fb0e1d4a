// Runs one DhcpServer inside whatever network namespace it was started in (the e2e
// test starts it with `ip netns exec`). argv[2] is the JSON of DhcpServerOptions less
// `log`. stdout: one JSON line per happening — {"ready":true}, {"event":{...}},
// {"error":"..."}; the pino log goes to stderr. It stops when stdin closes, so it
// never outlives the test that spawned it.
import { pino } from 'pino';
import { DhcpServer, type DhcpServerOptions } from '../../../launcher/network/dhcp-server.js';

const out = (o: unknown): void => { process.stdout.write(`${JSON.stringify(o)}\n`); };
const config = JSON.parse(process.argv[2] ?? '{}') as Omit<DhcpServerOptions, 'log'>;
const log = pino({ level: 'debug', base: { component: 'dhcp-test-server' } }, pino.destination({ dest: 2, sync: true }));
const server = new DhcpServer();

try {
  await server.start({ ...config, log, onEvent: (event) => out({ event }) });
  out({ ready: true });
} catch (e) {
  out({ error: e instanceof Error ? e.message : String(e), code: (e as { code?: string }).code });
  process.exit(1);
}

const stop = async (): Promise<void> => {
  await server.stop();
  process.exit(0);
};
process.stdin.on('end', () => void stop());
process.stdin.on('close', () => void stop());
process.stdin.resume();
process.on('SIGTERM', () => void stop());
