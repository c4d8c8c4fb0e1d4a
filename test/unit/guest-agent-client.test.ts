// The guest agent client (launcher/agent/) against a fake channel: QGA's framing,
// the delimited sync that finds our replies among stale bytes, commands one at a
// time with their ids, a stream resynced after a timeout, no queue growing while
// the agent is silent, and guest-shutdown's reply-only-on-failure.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentReader, MAX_REPLY_BYTES } from '../../launcher/agent/framing.js';
import { AgentClient } from '../../launcher/agent/client.js';
import { AgentCommandError, AgentTimeoutError, AgentUnavailableError } from '../../launcher/agent/errors.js';
import { FakeAgent, defaultAnswer, type FakeCommand } from './helpers/fake-agent.js';
import { until } from './helpers/until.js';

test('framing: lines across chunks, a delimiter drops the unfinished line, UTF-8 cut by a chunk', () => {
  const r = new AgentReader();
  assert.deepEqual(r.push(Buffer.from('{"return": 1')), []);
  assert.deepEqual(r.push(Buffer.from('}\n{"ret')), [{ kind: 'line', text: '{"return": 1}' }]);
  assert.equal(r.pending, 5);
  // Half a line, then 0xFF: the half is stale and goes.
  assert.deepEqual(r.push(Buffer.from([0xff, ...Buffer.from('{"return": 7}\n\n  \n')])), [{ kind: 'delimiter' }, { kind: 'line', text: '{"return": 7}' }]);
  assert.equal(r.pending, 0);
  const e = Buffer.from('{"return": "é"}\n');
  const cut = e.indexOf(0xc3) + 1;
  assert.deepEqual(r.push(e.subarray(0, cut)), []);
  assert.deepEqual(r.push(e.subarray(cut)), [{ kind: 'line', text: '{"return": "é"}' }]);
  assert.deepEqual(r.push(Buffer.from([0x41, 0xff, 0xff, 0x0a])), [{ kind: 'delimiter' }, { kind: 'delimiter' }]);
});

test('framing: a runaway line is refused, and reading goes on after it', () => {
  const r = new AgentReader();
  assert.throws(() => r.push(Buffer.alloc(MAX_REPLY_BYTES + 1, 0x20)), RangeError);
  assert.equal(r.pending, 0);
  assert.deepEqual(r.push(Buffer.from('{"return": 2}\n')), [{ kind: 'line', text: '{"return": 2}' }]);
});

async function setup(t: { after(fn: () => Promise<void> | void): void }, opts: Partial<import("../../launcher/agent/client.js").AgentClientOptions> = {}): Promise<{ agent: FakeAgent; client: AgentClient }> {
  const agent = await FakeAgent.start();
  const client = await AgentClient.connect(agent.path, { commandTimeoutMs: 1000, syncTimeoutMs: 300, ...opts });
  t.after(async () => {
    await client.close();
    await agent.stop();
  });
  return { agent, client };
}

test('the first command is preceded by 0xFF and guest-sync-delimited; later ones go straight out, with their ids', async (t) => {
  const { agent, client } = await setup(t);
  assert.deepEqual(await client.execute('guest-ping'), {});
  assert.equal(agent.received[0]!.execute, 'guest-sync-delimited');
  assert.equal(agent.delimitersReceived, 1, '0xFF before the sync resets qemu-ga\'s parser');
  assert.equal(client.synced, true);
  await client.execute('guest-ping');
  assert.deepEqual(agent.received.map((c) => c.execute), ['guest-sync-delimited', 'guest-ping', 'guest-ping']);
  assert.notEqual(agent.received[1]!.id, agent.received[2]!.id);
});

test('sync finds our reply among stale bytes: half lines, old replies, an older sync\'s answer', async (t) => {
  const { agent, client } = await setup(t);
  agent.script = (c) => {
    if (c.execute !== 'guest-sync-delimited') return defaultAnswer(c);
    // What a channel may hold after a guest reboot or a timed-out command, before our answer.
    return Buffer.concat([
      Buffer.from('{"return": {"stale": tr'),
      Buffer.from('{"return": 99, "id": 1}\n'),
      Buffer.from([0xff]),
      Buffer.from('{"return": 12345}\n'),
      defaultAnswer(c) as Buffer,
    ]);
  };
  assert.deepEqual(await client.execute('guest-ping'), {});
  assert.equal(client.synced, true);
});

test('a reply with another id is stale and dropped; the command gets its own', async (t) => {
  const { agent, client } = await setup(t);
  agent.script = (c) => (c.execute === 'guest-info' ? Buffer.from(`{"return": "old", "id": 424242}\n{"return": {"version": "7.2.18"}, "id": ${JSON.stringify(c.id)}}\n`) : defaultAnswer(c));
  assert.deepEqual(await client.execute('guest-info'), { version: '7.2.18' });
});

test('an error reply is AgentCommandError: CommandNotFound is unsupported, others are the guest\'s state', async (t) => {
  const { agent, client } = await setup(t);
  await assert.rejects(client.execute('guest-nope'), (e: unknown) => e instanceof AgentCommandError && e.code === 'VN_UNSUPPORTED' && /guest agent guest-nope: CommandNotFound/.test(e.message));
  agent.script = (c) => (c.execute === 'guest-fsfreeze-freeze' ? { error: { class: 'GenericError', desc: 'the agent is in frozen state' }, id: c.id } : defaultAnswer(c));
  await assert.rejects(client.execute('guest-fsfreeze-freeze'), (e: unknown) => e instanceof AgentCommandError && e.code === 'VN_ILLEGAL_TRANSITION');
});

test('a command that times out on the wire: the next one syncs first and never takes the late reply', async (t) => {
  const { agent, client } = await setup(t);
  let late: FakeCommand | undefined;
  agent.script = (c) => {
    if (c.execute === 'guest-get-fsinfo') {
      late = c;
      return undefined; // answered late, below
    }
    return defaultAnswer(c);
  };
  await assert.rejects(client.execute('guest-get-fsinfo', undefined, { timeoutMs: 100 }), (e: unknown) => e instanceof AgentTimeoutError && e.sent);
  assert.equal(client.synced, false);
  // The late reply comes now, then the next command: the client syncs, then reads its own.
  agent.write(`${JSON.stringify({ return: [{ name: 'vda1' }], id: late!.id })}\n`);
  const before = agent.received.length;
  assert.deepEqual(await client.execute('guest-ping'), {});
  assert.deepEqual(agent.received.slice(before).map((c) => c.execute), ['guest-sync-delimited', 'guest-ping']);
});

test('an agent that does not answer: commands fail once the sync does, nothing piles up, queued ones are never sent', async (t) => {
  const { agent, client } = await setup(t, { maxWaiting: 2 });
  agent.script = () => undefined; // the channel is open but no agent reads it
  const t0 = Date.now();
  const results = await Promise.allSettled([client.execute('guest-ping'), client.execute('guest-info'), client.execute('guest-get-osinfo')]);
  assert.ok(Date.now() - t0 < 900, 'failed with the sync, not each after its own timeout');
  for (const r of results) assert.ok(r.status === 'rejected' && r.reason instanceof AgentUnavailableError, String(r.status === 'rejected' ? r.reason : 'fulfilled'));
  assert.deepEqual(agent.received.map((c) => c.execute), ['guest-sync-delimited'], 'only the sync was written');
  // More than maxWaiting at once: the sync goes on the wire, two commands wait, the rest are refused at once.
  const burst = [0, 1, 2, 3, 4].map(() => client.execute('guest-ping'));
  const settled = await Promise.allSettled(burst);
  const refusedAtOnce = settled.filter((r) => r.status === 'rejected' && /already wait/.test(String(r.reason))).length;
  assert.equal(refusedAtOnce, 3);
});

test('a command whose time runs out while it waits is never sent', async (t) => {
  const { agent, client } = await setup(t);
  agent.script = (c) => (c.execute === 'guest-fsfreeze-freeze' ? undefined : defaultAnswer(c));
  await client.sync();
  const slow = client.execute('guest-fsfreeze-freeze', undefined, { timeoutMs: 400 });
  const queued = client.execute('guest-ping', undefined, { timeoutMs: 100 });
  await assert.rejects(queued, (e: unknown) => e instanceof AgentTimeoutError && !e.sent);
  await assert.rejects(slow, (e: unknown) => e instanceof AgentTimeoutError && e.sent);
  assert.equal(agent.received.filter((c) => c.execute === 'guest-ping').length, 0);
});

test('guest-shutdown: no reply within its time is success; an error reply is a failure', async (t) => {
  const { agent, client } = await setup(t);
  await client.execute('guest-shutdown', { mode: 'powerdown' }, { noReply: true, timeoutMs: 150 });
  assert.equal(agent.received.at(-1)!.arguments?.mode, 'powerdown');
  agent.script = (c) => (c.execute === 'guest-shutdown' ? { error: { class: 'GenericError', desc: 'child process has failed to shutdown' }, id: c.id } : defaultAnswer(c));
  await assert.rejects(client.execute('guest-shutdown', { mode: 'reboot' }, { noReply: true, timeoutMs: 1000 }), /failed to shutdown/);
});

test('the channel closing fails what waits; a closed client refuses at once', async (t) => {
  const { agent, client } = await setup(t);
  agent.script = () => undefined;
  const p = client.execute('guest-ping', undefined, { timeoutMs: 5000 });
  await until('the sync to arrive', () => agent.received.length > 0);
  agent.socket!.destroy();
  await assert.rejects(p, AgentUnavailableError);
  await client.whenClosed();
  await assert.rejects(client.execute('guest-ping'), /channel is closed/);
});
