/**
 * Published ports through Slipway, against real sandboxes: the page's socket lists a port soon
 * after `docker run -p`, the owner reads the app through the ports origin (HTTP and WebSocket),
 * a published port with nothing behind it and an unpublished one get a plain page, and another
 * learner, or their pass, is refused on a port of this session.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Slipway } from '../server/main.ts';
import { asLearner } from './support/engine.ts';
import { startTestSlipway } from './support/slipway.ts';
import { learnerCookie, newLearnerId, openTerminal, type TestTerminal } from './support/ws-client.ts';

let slipway: Slipway;
let terminal: TestTerminal;
let other: TestTerminal;
const owner = newLearnerId();
const stranger = newLearnerId();
let session: string;
let strangerSession: string;
const wsEcho = readFileSync(new URL('./fixtures/ws-echo.py', import.meta.url)).toString('base64');

const get = (url: string, cookie?: string) => fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
const portsBase = () => slipway.portsUrl.replace(/\/$/, '');
const sessionOf = async (learner: string) => (await slipway.runtime.driver.list()).find((info) => info.learnerId === learner)?.sessionId ?? '';
const run = (command: string, timeoutMs = 60_000) => slipway.runtime.driver.run(session, 'node1', command, timeoutMs, asLearner);

/** The cookie the ports origin gives a learner for a session, through the page's link. */
async function passCookie(learner: string, forSession: string, port: number): Promise<string> {
  const opened = await get(new URL(`/ports/${forSession}/node1/${port}/`, slipway.url).href, learnerCookie(learner));
  expect(opened.status).toBe(303);
  const traded = await get(opened.headers.get('location') ?? '');
  expect(traded.status).toBe(303);
  return (traded.headers.get('set-cookie') ?? '').split(';')[0]!;
}

beforeAll(async () => {
  slipway = await startTestSlipway();
  terminal = openTerminal(slipway.url, { lesson: 'web-app', learnerId: owner });
  other = openTerminal(slipway.url, { lesson: 'web-app', learnerId: stranger });
  await terminal.waitForMessage('status', (message) => message.phase === 'ready', 90_000);
  await other.waitForMessage('status', (message) => message.phase === 'ready', 90_000);
  session = await sessionOf(owner);
  strangerSession = await sessionOf(stranger);
  const pulled = await run('docker pull -q python:3.11-slim && docker pull -q busybox', 120_000);
  expect(pulled.exitCode, pulled.output).toBe(0);
});

afterAll(async () => {
  terminal?.socket.close();
  other?.socket.close();
  await slipway?.stop();
});

describe('published ports through Slipway', () => {
  it('lists a port on the page soon after docker run -p, with its link', async () => {
    await terminal.waitForMessage('ports', (message) => message.ports.length === 0);
    const typed = Date.now();
    terminal.type("docker run -d -p 8000:80 --name web python:3.11-slim sh -c 'mkdir /www && echo hello-from-node1 > /www/index.html && exec python3 -m http.server 80 -d /www'\r");
    const listed = await terminal.waitForMessage('ports', (message) => message.ports.some((port) => port.port === 8000), 15_000);
    const ms = Date.now() - typed;
    console.log(`docker run -d -p typed to the port listed: ${ms} ms`);
    expect(ms).toBeLessThan(5000);
    expect(listed.node).toBe('node1');
    expect(listed.ports).toContainEqual({ port: 8000, target: 80, container: 'web', url: `/ports/${session}/node1/8000/` });
  });

  it("lets the owner read the app's answer through the ports origin", async () => {
    const cookie = await passCookie(owner, session, 8000);
    let text = '';
    for (let attempt = 0; attempt < 40 && !text.includes('hello-from-node1'); attempt++) {
      const response = await get(`${portsBase()}/p/${session}/node1/8000/`, cookie);
      text = await response.text();
      if (!text.includes('hello-from-node1')) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(text).toBe('hello-from-node1\n');
  });

  it('passes a WebSocket to a server in the node and back', async () => {
    const started = await run(`docker run -d -p 8765:8765 --name echo python:3.11-slim python3 -c "import base64; exec(base64.b64decode('${wsEcho}'))"`);
    expect(started.exitCode, started.output).toBe(0);
    const cookie = await passCookie(owner, session, 8765);
    const url = `${portsBase().replace(/^http/, 'ws')}/p/${session}/node1/8765/live?x=1`;
    let answer = '';
    for (let attempt = 0; attempt < 40 && !answer; attempt++) {
      answer = await new Promise<string>((resolve) => {
        const socket = new WebSocket(url, { headers: { cookie } });
        socket.on('open', () => socket.send('hello'));
        socket.on('message', (data) => {
          resolve(String(data));
          socket.close();
        });
        socket.on('error', () => resolve(''));
        socket.on('unexpected-response', () => resolve(''));
      });
      if (!answer) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(answer).toBe('echo hello at /live?x=1');
  });

  it('says plainly that nothing answers on a published port with nothing behind it, and on an unpublished one', async () => {
    const started = await run('docker run -d -p 8001:80 --name idle busybox sleep 600');
    expect(started.exitCode, started.output).toBe(0);
    const cookie = await passCookie(owner, session, 8001);
    for (const port of [8001, 8999]) {
      const response = await get(`${portsBase()}/p/${session}/node1/${port}/`, cookie);
      expect(response.status).toBe(502);
      expect(await response.text()).toMatch(new RegExp(`^Nothing answers on port ${port} of node1`));
    }
  });

  it("refuses another learner on this session's port, with or without their own pass", async () => {
    const link = await get(new URL(`/ports/${session}/node1/8000/`, slipway.url).href, learnerCookie(stranger));
    expect(link.status).toBe(403);
    const strangerCookie = await passCookie(stranger, strangerSession, 8000);
    const response = await get(`${portsBase()}/p/${session}/node1/8000/`, `${strangerCookie}; ${learnerCookie(stranger)}`);
    expect(response.status).toBe(403);
    expect(await response.text()).not.toContain('hello-from-node1');
    const socket = new WebSocket(`${portsBase().replace(/^http/, 'ws')}/p/${session}/node1/8765/`, { headers: { cookie: strangerCookie } });
    const status = await new Promise<number>((resolve) => {
      socket.on('unexpected-response', (_request, answer) => resolve(answer.statusCode ?? 0));
      socket.on('open', () => resolve(101));
      socket.on('error', () => resolve(-1));
    });
    expect(status).toBe(403);
  });

  it('drops a port from the list when its container goes', async () => {
    terminal.type('docker rm -f idle\r');
    await terminal.waitForMessage('ports', (message) => !message.ports.some((port) => port.port === 8001) && message.ports.some((port) => port.port === 8000), 15_000);
  });
});
