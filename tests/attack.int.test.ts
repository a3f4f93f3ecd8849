/**
 * What a bored student with a script tries, against a real server and real sandboxes: clients
 * that send without reading, flood resizes or acks, open many sockets, or make up learners to
 * take every sandbox. The server's memory stays bounded and other learners keep their seats.
 * (The server runs in this process, so this process's memory is the server's.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Slipway } from '../server/main.ts';
import { maxInputFrameBytes } from '../protocol/terminal.ts';
import { newLearnerId, openTerminal, type TestTerminal } from './support/ws-client.ts';
import { startTestSlipway } from './support/slipway.ts';

let slipway: Slipway;
const opened: TestTerminal[] = [];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ready = (t: TestTerminal) => t.waitForMessage('status', (message) => message.phase === 'ready', 90000);
const mib = () => process.memoryUsage().rss / 2 ** 20;
/** Memory may grow this much at most during one attack (the attacks seen grew it by 500-1400 MiB). */
const boundMiB = 120;

function terminal(options: Parameters<typeof openTerminal>[1]): TestTerminal {
  const t = openTerminal(slipway.url, options);
  opened.push(t);
  return t;
}

/** Sends frames for `ms` as fast as the socket takes them (never more than 1 MiB queued here). */
async function flood(t: TestTerminal, ms: number, frame: () => Buffer | string): Promise<number> {
  const until = Date.now() + ms;
  let sent = 0;
  while (Date.now() < until && t.socket.readyState === t.socket.OPEN) {
    if (t.socket.bufferedAmount < 2 ** 20) {
      const data = frame();
      t.socket.send(data, { binary: typeof data !== 'string' });
      sent += 1;
    } else await sleep(1);
    if (sent % 64 === 0) await sleep(0);
  }
  return sent;
}

beforeAll(async () => {
  slipway = await startTestSlipway({
    SLIPWAY_MAX_SANDBOXES: '12',
    SLIPWAY_SANDBOXES_PER_ADDRESS: '3',
    SLIPWAY_SOCKETS_PER_LEARNER: '4',
    // Behind a proxy: the client address comes from X-Forwarded-For, so one test can play many addresses.
    SLIPWAY_PUBLIC_URL: 'http://127.0.0.1/',
  });
});

afterAll(async () => {
  for (const t of opened) t.socket.terminate();
  await slipway.stop();
});

describe('a client that misbehaves', () => {
  const learnerId = newLearnerId();
  const headers = { 'x-forwarded-for': '10.1.0.1' };

  it('cannot grow the server by typing into a program that does not read', async () => {
    const t = terminal({ learnerId, headers });
    await ready(t);
    t.type('stty raw -echo; sleep 300\r');
    await sleep(500);
    const before = mib();
    const sent = await flood(t, 6000, () => Buffer.alloc(maxInputFrameBytes, 0x61));
    const grown = mib() - before;
    expect(grown, `grew ${grown.toFixed(0)} MiB after ${sent} frames of 64 KiB`).toBeLessThan(boundMiB);
    t.socket.terminate();
  });

  it('cannot grow it with resizes as fast as the socket takes them, and gets told to slow down', async () => {
    const t = terminal({ learnerId, headers });
    await ready(t);
    const before = mib();
    let i = 0;
    const sent = await flood(t, 5000, () => JSON.stringify({ type: 'resize', cols: 80 + (i++ % 100), rows: 24 }));
    const grown = mib() - before;
    expect(grown, `grew ${grown.toFixed(0)} MiB after ${sent} resizes`).toBeLessThan(boundMiB);
    expect(t.messages.some((message) => message.type === 'error' && /Too many control messages/.test(message.message))).toBe(true);
    // Still a working terminal afterwards, at the size last asked for.
    await sleep(1500);
    t.send({ type: 'resize', cols: 101, rows: 33 });
    t.type('stty size\r');
    await t.waitFor(() => t.output().includes('33 101'), 15000, 'stty size after the flood');
    t.socket.terminate();
  });

  it('cannot grow it by acknowledging output it never reads', async () => {
    const t = terminal({ learnerId, headers });
    await ready(t);
    t.type('yes slipway-flood-line\r');
    await sleep(300);
    t.socket.pause();
    const before = mib();
    await flood(t, 6000, () => JSON.stringify({ type: 'ack', bytes: 2 ** 30 }));
    const grown = mib() - before;
    expect(grown, `grew ${grown.toFixed(0)} MiB`).toBeLessThan(boundMiB);
    t.socket.terminate();
  });

  it('gets at most its share of sockets', async () => {
    const one = newLearnerId();
    const many = Array.from({ length: 8 }, () => terminal({ learnerId: one, headers }));
    const outcomes = await Promise.all(
      many.map((t) =>
        Promise.race([
          t.waitForMessage('status', (message) => message.phase === 'ready', 60000).then(() => 'open'),
          t.closed.then(() => 'refused'),
        ]),
      ),
    );
    expect(outcomes.filter((outcome) => outcome === 'open')).toHaveLength(4);
    for (const t of many) t.socket.terminate();
  });
});

describe('admission', () => {
  it('gives learners from one address at most their share of sandboxes; others still get one', async () => {
    const attackers = Array.from({ length: 6 }, () => terminal({ learnerId: newLearnerId(), headers: { 'x-forwarded-for': '10.2.0.1' } }));
    const outcomes = await Promise.all(
      attackers.map((t) =>
        Promise.race([
          ready(t).then(() => 'sandbox'),
          t.waitForMessage('error', undefined, 90000).then((error) => error.code),
        ]),
      ),
    );
    expect(outcomes.filter((outcome) => outcome === 'sandbox')).toHaveLength(3);
    expect(outcomes.filter((outcome) => outcome === 'TOO_MANY')).toHaveLength(3);
    const learner = terminal({ learnerId: newLearnerId(), headers: { 'x-forwarded-for': '10.3.0.7' } });
    await ready(learner);
    for (const t of [...attackers, learner]) t.socket.terminate();
  });
});
