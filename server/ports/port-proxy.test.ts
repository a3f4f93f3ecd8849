/**
 * The port proxy on real sockets, with the in-memory driver (a node's address is 127.0.0.1)
 * and a small app of the test's own standing in for a learner's: who may pass, what is
 * rewritten on the way, WebSockets, a closed port, share links.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { MemoryDriver } from '../../tests/doubles/memory-driver.ts';
import { learnerCookie, newLearnerId, openTerminal } from '../../tests/support/ws-client.ts';
import { testSecret, testTeacherKey } from '../../tests/support/secret.ts';
import { createApp, type App } from '../http/app.ts';
import { createLogger } from '../log.ts';
import { SessionManager } from '../sessions/session-manager.ts';
import { SqliteProgressStore } from '../store/sqlite-store.ts';

const log = createLogger('silent');
const driver = new MemoryDriver();
const sessions = new SessionManager(driver, { maxSandboxes: 5, idleMs: 60_000 }, log);
let app: App;
let base: string;
let portsBase: string;
let appServer: http.Server;
let appPort: number;
let closedPort: number;
const owner = newLearnerId();
const stranger = newLearnerId();
let session: string;
let strangerSession: string;
/** What the app saw of the last request. */
let seen: http.IncomingHttpHeaders = {};

beforeAll(async () => {
  const siteDir = mkdtempSync(path.join(os.tmpdir(), 'slipway-site-'));
  writeFileSync(path.join(siteDir, 'index.html'), '<!doctype html><title>Slipway</title>\n');
  appServer = http.createServer((request, response) => {
    seen = request.headers;
    const url = request.url ?? '/';
    if (url === '/go') return void response.writeHead(302, { Location: '/login?next=1' }).end();
    if (url === '/go-absolute') return void response.writeHead(302, { Location: `http://${request.headers.host}/abs` }).end();
    if (url === '/go-away') return void response.writeHead(302, { Location: 'http://example.org/x' }).end();
    if (url === '/origin-wide') {
      response.setHeader('Clear-Site-Data', '"cookies", "storage"');
      response.setHeader('Service-Worker-Allowed', '/');
      response.setHeader('Strict-Transport-Security', 'max-age=31536000');
      response.setHeader('X-App', 'kept');
      return void response.end('ok');
    }
    if (url === '/cookies') {
      response.setHeader('Set-Cookie', ['theme=dark; Path=/; Domain=127.0.0.1', 'slipway_learner=forged; Path=/', 'sid=1']);
      return void response.end('ok');
    }
    response.setHeader('Content-Type', 'text/plain');
    response.end(`hello from the app at ${url}`);
  });
  new WebSocketServer({ server: appServer }).on('connection', (socket, request) => {
    socket.on('message', (data) => socket.send(`echo ${String(data)} at ${request.url}`));
  });
  await new Promise<void>((resolve) => appServer.listen(0, '127.0.0.1', resolve));
  appPort = (appServer.address() as AddressInfo).port;
  const spare = http.createServer();
  await new Promise<void>((resolve) => spare.listen(0, '127.0.0.1', resolve));
  closedPort = (spare.address() as AddressInfo).port;
  await new Promise<void>((resolve) => spare.close(() => resolve()));

  session = (await sessions.acquire(owner, ['node1'], () => undefined)).id;
  strangerSession = (await sessions.acquire(stranger, ['node1'], () => undefined)).id;
  driver.ports.set(`${session}/node1`, [{ port: appPort, target: 5000, container: 'hello' }]);
  app = createApp({
    secret: testSecret,
    teacherKey: testTeacherKey,
    siteDir,
    course: { test: { order: 1, nodes: ['node1'], requires: [], setup: [], setupTimeoutSeconds: 60, steps: [] } },
    store: new SqliteProgressStore(':memory:'),
    driver,
    sessions,
    checkTimeoutMs: 1000,
    portConnectionsPerSession: 3,
    log,
  });
  base = await app.listen(0, '127.0.0.1');
  portsBase = (await app.listenPorts(0, '127.0.0.1')).replace(/\/$/, '');
});

afterAll(async () => {
  await app.close();
  await new Promise<void>((resolve) => appServer.close(() => resolve()));
});

const get = (url: string, cookie?: string) => fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });

/** The owner's way in: the page's link, the pass, the cookie the ports origin gives for it. */
async function ownerPassCookie(learner = owner, forSession = session): Promise<string> {
  const opened = await get(new URL(`/ports/${forSession}/node1/${appPort}/`, base).href, learnerCookie(learner));
  expect(opened.status).toBe(303);
  const hop = opened.headers.get('location') ?? '';
  expect(hop.startsWith(`${portsBase}/p/${forSession}/node1/${appPort}/?slipway-pass=`)).toBe(true);
  const traded = await get(hop);
  expect(traded.status).toBe(303);
  expect(traded.headers.get('location')).toBe(`/p/${forSession}/node1/${appPort}/`);
  const setCookie = traded.headers.get('set-cookie') ?? '';
  expect(setCookie).toMatch(new RegExp(`^slipway_port=[^;]+; Path=/p/${forSession}/; Max-Age=\\d+; HttpOnly; SameSite=Lax$`));
  return setCookie.split(';')[0]!;
}

describe('who may open a port', () => {
  it('lets the owner in through the link, a pass and a cookie of the ports origin', async () => {
    const cookie = await ownerPassCookie();
    const response = await get(`${portsBase}/p/${session}/node1/${appPort}/hi?x=1`, cookie);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('hello from the app at /hi?x=1');
  });

  it('refuses another learner the link, and the proxied URL without a pass', async () => {
    const link = await get(new URL(`/ports/${session}/node1/${appPort}/`, base).href, learnerCookie(stranger));
    expect(link.status).toBe(403);
    expect(link.headers.get('location')).toBeNull();
    const direct = await get(`${portsBase}/p/${session}/node1/${appPort}/`, learnerCookie(stranger));
    expect(direct.status).toBe(403);
    expect(await direct.text()).toMatch(/not yours/);
    expect((await get(`${portsBase}/p/${session}/node1/${appPort}/`)).status).toBe(403);
  });

  it("refuses a learner's pass on another session's port, and a forged or stale pass", async () => {
    const strangerCookie = await ownerPassCookie(stranger, strangerSession);
    expect((await get(`${portsBase}/p/${session}/node1/${appPort}/`, strangerCookie)).status).toBe(403);
    const forged = strangerCookie.replace(strangerSession, session);
    expect((await get(`${portsBase}/p/${session}/node1/${appPort}/`, forged)).status).toBe(403);
    expect((await get(`${portsBase}/p/${session}/node1/${appPort}/?slipway-pass=owner.${session}.${owner}...1.x`)).status).toBe(403);
  });

  it('gives a share link that opens one port for anyone, and no other', async () => {
    const terminal = openTerminal(base, { lesson: 'test', learnerId: owner });
    const ports = await terminal.waitForMessage('ports');
    expect(ports.ports).toEqual([{ port: appPort, target: 5000, container: 'hello', url: `/ports/${session}/node1/${appPort}/` }]);
    terminal.send({ type: 'share-port', port: appPort });
    const share = await terminal.waitForMessage('port-share');
    terminal.socket.close();
    expect(share.url.startsWith(`${portsBase}/p/${session}/node1/${appPort}/?slipway-share=`)).toBe(true);
    expect(share.expires).toBeGreaterThan(Date.now() + 30 * 60_000);
    const traded = await get(share.url);
    expect(traded.status).toBe(303);
    const cookie = (traded.headers.get('set-cookie') ?? '').split(';')[0]!;
    expect(traded.headers.get('set-cookie')).toContain(`Path=/p/${session}/node1/${appPort}/`);
    expect(await (await get(`${portsBase}/p/${session}/node1/${appPort}/`, cookie)).text()).toBe('hello from the app at /');
    expect((await get(`${portsBase}/p/${session}/node1/${closedPort}/`, cookie)).status).toBe(403);
    const otherPort = share.url.replace(`/${appPort}/`, `/${closedPort}/`);
    expect((await get(otherPort)).status).toBe(403);
  });
});

describe('what the proxy changes', () => {
  let cookie: string;
  beforeAll(async () => {
    cookie = await ownerPassCookie();
  });
  const at = (rest: string) => `${portsBase}/p/${session}/node1/${appPort}${rest}`;

  it("keeps Slipway's cookies from the app and says where it is", async () => {
    await get(at('/'), `${cookie}; ${learnerCookie(owner)}; theme=dark`);
    expect(seen.cookie).toBe('theme=dark');
    expect(seen['x-forwarded-prefix']).toBe(`/p/${session}/node1/${appPort}`);
    expect(seen['x-forwarded-host']).toBe(new URL(portsBase).host);
    expect(seen['x-forwarded-proto']).toBe('http');
    expect(seen['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('puts redirects to the app under its prefix and leaves other sites alone', async () => {
    expect((await get(at('/go'), cookie)).headers.get('location')).toBe(`/p/${session}/node1/${appPort}/login?next=1`);
    expect((await get(at('/go-absolute'), cookie)).headers.get('location')).toBe(`/p/${session}/node1/${appPort}/abs`);
    expect((await get(at('/go-away'), cookie)).headers.get('location')).toBe('http://example.org/x');
    expect((await get(`${portsBase}/p/${session}/node1/${appPort}`, cookie)).headers.get('location')).toBe(`/p/${session}/node1/${appPort}/`);
  });

  it("keeps the app's cookies to its prefix and never lets it set Slipway's", async () => {
    const response = await get(at('/cookies'), cookie);
    expect(response.headers.getSetCookie()).toEqual([
      `theme=dark; Path=/p/${session}/node1/${appPort}/`,
      `sid=1; Path=/p/${session}/node1/${appPort}/`,
    ]);
  });

  it('drops headers that reach beyond the app: Clear-Site-Data, Service-Worker-Allowed, HSTS', async () => {
    const response = await get(at('/origin-wide'), cookie);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-app')).toBe('kept');
    for (const name of ['clear-site-data', 'service-worker-allowed', 'strict-transport-security']) expect(response.headers.get(name)).toBeNull();
  });

  it('sends a stray absolute path back under the prefix of the page it came from', async () => {
    const response = await fetch(`${portsBase}/static/app.css`, { redirect: 'manual', headers: { referer: at('/page') } });
    expect(response.status).toBe(307);
    expect(response.headers.get('location')).toBe(`/p/${session}/node1/${appPort}/static/app.css`);
  });

  it('passes WebSockets both ways, and refuses them without a pass', async () => {
    const socket = new WebSocket(at('/live').replace(/^http/, 'ws'), { headers: { cookie } });
    const answer = await new Promise<string>((resolve, reject) => {
      socket.on('open', () => socket.send('ping'));
      socket.on('message', (data) => resolve(String(data)));
      socket.on('error', reject);
    });
    socket.close();
    expect(answer).toBe('echo ping at /live');
    const refused = new WebSocket(at('/live').replace(/^http/, 'ws'));
    const status = await new Promise<number>((resolve) => refused.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0)));
    expect(status).toBe(403);
  });

  it('holds one session to its share of open connections, and frees them as they close', async () => {
    const url = at('/live').replace(/^http/, 'ws');
    const opened = await Promise.all(
      [1, 2, 3].map(
        () =>
          new Promise<WebSocket>((resolve, reject) => {
            const socket = new WebSocket(url, { headers: { cookie } });
            socket.on('open', () => resolve(socket));
            socket.on('error', reject);
          }),
      ),
    );
    const refused = new WebSocket(url, { headers: { cookie } });
    expect(await new Promise<number>((resolve) => refused.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0)))).toBe(429);
    expect((await get(at('/'), cookie)).status).toBe(429);
    await Promise.all(opened.map((socket) => new Promise((resolve) => {
      socket.on('close', resolve);
      socket.close();
    })));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await get(at('/'), cookie)).status).toBe(200);
  });

  it('says so plainly when nothing answers on the port', async () => {
    const response = await get(`${portsBase}/p/${session}/node1/${closedPort}/`, cookie);
    expect(response.status).toBe(502);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await response.text()).toMatch(new RegExp(`^Nothing answers on port ${closedPort} of node1`));
  });

  it('serves no port on Slipway\'s own origin', async () => {
    expect((await get(new URL(`/p/${session}/node1/${appPort}/`, base).href, cookie)).status).toBe(404);
  });
});
