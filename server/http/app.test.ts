/**
 * The HTTP server against hostile requests and frames, on a real socket, with an in-memory
 * sandbox driver: nothing a client sends may end the process, and it answers afterwards.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDriver } from '../../tests/doubles/memory-driver.ts';
import { createLogger } from '../log.ts';
import { SessionManager } from '../sessions/session-manager.ts';
import { SqliteProgressStore } from '../store/sqlite-store.ts';
import { maxInputFrameBytes, terminalPath } from '../../protocol/terminal.ts';
import WebSocket from 'ws';
import { learnerCookie, openTerminal } from '../../tests/support/ws-client.ts';
import { testSecret, testTeacherKey } from '../../tests/support/secret.ts';
import { createApp, satisfiableRange, type App } from './app.ts';

let app: App;
const store = new SqliteProgressStore(':memory:');
let port: number;
const learnerId = randomBytes(16).toString('base64url');

beforeAll(async () => {
  const siteDir = mkdtempSync(path.join(os.tmpdir(), 'slipway-site-'));
  writeFileSync(path.join(siteDir, 'index.html'), '<!doctype html><title>Slipway</title><p>hello</p>\n');
  const log = createLogger('silent');
  const driver = new MemoryDriver();
  app = createApp({
    secret: testSecret,
    teacherKey: testTeacherKey,
    siteDir,
    course: {
      test: {
        order: 1,
        nodes: ['node1'],
        requires: [],
        setup: [],
        setupTimeoutSeconds: 60,
        steps: [{ id: 'first', node: 'node1', check: 'true', history: false, solution: ['echo one', 'echo two'] }],
      },
    },
    store,
    driver,
    sessions: new SessionManager(driver, { maxSandboxes: 5, idleMs: 60_000 }, log),
    checkTimeoutMs: 1000,
    log,
  });
  const url = await app.listen(0, '127.0.0.1');
  port = Number(new URL(url).port);
});

afterAll(() => app.close());

/** Sends raw bytes and collects everything the server answers until it closes or goes quiet. */
function raw(bytes: Buffer | string, quietMs = 300): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let timer = setTimeout(() => socket.destroy(), quietMs * 10);
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      clearTimeout(timer);
      timer = setTimeout(() => socket.destroy(), quietMs);
    });
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    socket.write(bytes);
  });
}

/** A WebSocket handshake followed by `frames`, written as raw bytes. */
async function upgradeThenSend(frames: Buffer): Promise<string> {
  const key = randomBytes(16).toString('base64');
  const handshake =
    `GET ${terminalPath}?lesson=test&node=node1&cols=80&rows=24 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
    `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
    `Cookie: ${learnerCookie(learnerId)}\r\n\r\n`;
  return raw(Buffer.concat([Buffer.from(handshake), frames]), 500);
}

/** A masked client frame (clients must mask) with the given first byte and payload. */
function frame(firstByte: number, payload: Buffer, declaredLength = payload.length): Buffer {
  const mask = randomBytes(4);
  const masked = Buffer.from(payload.map((byte, index) => byte ^ mask[index % 4]!));
  let header: Buffer;
  if (declaredLength < 126) header = Buffer.from([firstByte, 0x80 | declaredLength]);
  else if (declaredLength < 65536) {
    header = Buffer.alloc(4);
    header[0] = firstByte;
    header[1] = 0x80 | 126;
    header.writeUInt16BE(declaredLength, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = firstByte;
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(declaredLength), 2);
  }
  return Buffer.concat([header, mask, masked]);
}

async function stillServes(): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${port}/`);
  expect(response.status).toBe(200);
  expect(await response.text()).toContain('hello');
}

describe('hostile WebSocket frames', () => {
  it('survives a frame larger than the largest payload', async () => {
    const answer = await upgradeThenSend(frame(0x82, Buffer.alloc(16), maxInputFrameBytes + 1024 + 1));
    expect(answer).toContain('101 Switching Protocols');
    await stillServes();
  });

  it('survives a text frame that is not valid UTF-8', async () => {
    const answer = await upgradeThenSend(frame(0x81, Buffer.from([0xc3, 0x28, 0xff, 0xfe])));
    expect(answer).toContain('101 Switching Protocols');
    await stillServes();
  });

  it('survives frames with reserved opcodes and reserved bits', async () => {
    for (const firstByte of [0x83, 0x8b, 0xc1, 0xf2]) {
      const answer = await upgradeThenSend(frame(firstByte, Buffer.from('x')));
      expect(answer).toContain('101 Switching Protocols');
    }
    await stillServes();
  });

  it('survives an unmasked client frame and a connection cut mid-frame', async () => {
    await upgradeThenSend(Buffer.from([0x82, 0x05, 0x61]));
    await upgradeThenSend(frame(0x82, Buffer.alloc(100)).subarray(0, 20));
    await stillServes();
  });
});

describe('fuzz', () => {
  /** A deterministic generator, so a failure can be replayed. */
  function random(seed: number): () => number {
    let state = seed;
    return () => {
      state = (state * 1103515245 + 12345) & 0x7fffffff;
      return state / 0x7fffffff;
    };
  }

  it('stays up and bounded after 300 random WebSocket frames', async () => {
    const next = random(42);
    const byte = () => Math.floor(next() * 256);
    const before = process.memoryUsage().rss;
    for (let round = 0; round < 30; round++) {
      const frames: Buffer[] = [];
      for (let i = 0; i < 10; i++) {
        const kind = next();
        const payload = Buffer.from(Array.from({ length: Math.floor(next() * 300) }, byte));
        if (kind < 0.3) frames.push(frame(byte(), payload)); // any opcode, any bits
        else if (kind < 0.5) frames.push(frame(0x81, Buffer.from(JSON.stringify({ type: ['resize', 'ack', 'check', 'ping', 'setup', 'solution', 'x'][Math.floor(next() * 7)], cols: byte() * 100, rows: -byte(), bytes: byte() * 1e7, stepId: payload.toString('latin1') }))));
        else if (kind < 0.7) frames.push(frame(0x82, payload));
        else if (kind < 0.85) frames.push(Buffer.from(Array.from({ length: 20 }, byte)));
        else frames.push(frame(0x81, payload, Math.floor(next() * 2 ** 20)));
      }
      await upgradeThenSend(Buffer.concat(frames));
    }
    await stillServes();
    expect((process.memoryUsage().rss - before) / 2 ** 20).toBeLessThan(100);
  });

  it('stays up after 300 random HTTP requests', async () => {
    const next = random(7);
    const pick = <T,>(items: readonly T[]) => items[Math.floor(next() * items.length)]!;
    const methods = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT', 'BREW', 'G\x00T', ''];
    const paths = ['/', '/en/', '/api/health', '/api/progress', '/%2e%2e/%2e%2e/etc/passwd', '/..%c0%af../etc/passwd', '/' + 'a'.repeat(9000), '/ws/terminal', '/index.html?x=%ff', '*', '//evil.example/'];
    const headers = ['Range: bytes=' + Math.floor(next() * 99) + '-' + Math.floor(next() * 9), 'Range: bytes=-0', 'Content-Length: -1', 'Transfer-Encoding: chunked', 'Host: ' + 'x'.repeat(300), 'Accept-Encoding: gzip, br, zstd', 'Cookie: slipway_learner=' + 'A'.repeat(22) + '.' + 'B'.repeat(22), 'Upgrade: websocket'];
    await Promise.all(
      Array.from({ length: 300 }, () =>
        raw(`${pick(methods)} ${pick(paths)} HTTP/1.1\r\nHost: 127.0.0.1\r\n${pick(headers)}\r\n${pick(headers)}\r\n\r\n`, 50).catch(() => ''),
      ),
    );
    await stillServes();
  });
});

describe('hostile HTTP requests', () => {
  it('ignores a range it cannot satisfy instead of throwing', async () => {
    for (const range of ['bytes=2-1', 'bytes=-', 'bytes=x-y', 'bytes=5-3,1-2', 'chars=0-1']) {
      const response = await fetch(`http://127.0.0.1:${port}/`, { headers: { Range: range } });
      expect(response.status, range).toBe(200);
      expect(await response.text()).toContain('hello');
    }
  });

  it('still serves a valid range', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/`, { headers: { Range: 'bytes=0-4' } });
    expect(response.status).toBe(206);
    expect(await response.text()).toBe('<!doc');
  });

  it('survives malformed request lines and headers', async () => {
    expect(await raw('GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n')).toContain('400');
    expect(await raw('\x00\x01\x02 garbage\r\n\r\n')).toContain('400');
    expect(await raw(`GET /${'%'.repeat(10)} HTTP/1.1\r\nHost: x\r\n\r\n`)).toMatch(/HTTP\/1.1 (400|404)/);
    await stillServes();
  });
});

describe('terminal query and lesson messages', () => {
  const origin = () => `http://127.0.0.1:${port}`;

  it('refuses absurd sizes and malformed ids in the query with an error frame', async () => {
    for (const [query, field] of [
      ['lesson=test&node=node1&cols=99999&rows=24', /cols/],
      ['lesson=test&node=node1&cols=80&rows=-1', /rows/],
      ['lesson=../etc&node=node1&cols=80&rows=24', /lesson/],
      ['lesson=test&node=node1&cols=80&rows=24&resume=x', /resume/],
      ['lesson=test&lesson=test&node=node1&cols=80&rows=24', /twice/],
    ] as const) {
      const socket = new WebSocket(`ws://127.0.0.1:${port}${terminalPath}?${query}`, { headers: { cookie: learnerCookie(learnerId) } });
      const message = await new Promise<string>((resolve) => socket.on('message', (data) => resolve(String(data))));
      const parsed = JSON.parse(message) as { type: string; code: string; message: string; fatal: boolean };
      expect(parsed, query).toMatchObject({ type: 'error', code: 'BAD_MESSAGE', fatal: true });
      expect(parsed.message, query).toMatch(field);
    }
  });

  it('refuses a node the lesson does not have', async () => {
    const terminal = openTerminal(origin(), { learnerId, lesson: 'test', node: 'node2' });
    const error = await terminal.waitForMessage('error');
    expect(error.code).toBe('BAD_MESSAGE');
    expect(error.message).toMatch(/no node2/);
  });

  it('stores steps found done, reports them at /api/progress, and gives solutions on request', async () => {
    const terminal = openTerminal(origin(), { learnerId, lesson: 'test' });
    const checks = await terminal.waitForMessage('checks');
    expect(checks.results).toEqual([{ stepId: 'first', done: true, output: '' }]);
    const progress = await fetch(`${origin()}/api/progress`, { headers: { cookie: learnerCookie(learnerId) } });
    expect(await progress.json()).toEqual({ lessons: { test: ['first'] } });
    const stranger = await fetch(`${origin()}/api/progress`);
    expect(await stranger.json()).toEqual({ lessons: {} });
    terminal.send({ type: 'solution', stepId: 'first' });
    expect(await terminal.waitForMessage('solution')).toEqual({ type: 'solution', stepId: 'first', node: 'node1', commands: ['echo one', 'echo two'] });
    terminal.send({ type: 'solution', stepId: 'nope' });
    expect((await terminal.waitForMessage('error')).message).toMatch(/no step "nope"/);
    terminal.socket.close();
  });
});

describe('who may open a terminal', () => {
  const upgrade = (headers: string) =>
    raw(
      `GET ${terminalPath}?lesson=test&node=node1&cols=80&rows=24 HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${headers}\r\n`,
    );

  it('refuses a host name that is not ours, even with a matching Origin (DNS rebinding)', async () => {
    const answer = await upgrade(`Host: rebind.evil.example:${port}\r\nOrigin: http://rebind.evil.example:${port}\r\nCookie: ${learnerCookie(learnerId)}\r\n`);
    expect(answer).toMatch(/^HTTP\/1.1 403/);
    const progress = await raw(`GET /api/progress HTTP/1.1\r\nHost: rebind.evil.example\r\nCookie: ${learnerCookie(learnerId)}\r\n\r\n`);
    expect(progress).toMatch(/^HTTP\/1.1 403/);
  });

  it('refuses a learner id the server did not sign', async () => {
    for (const cookie of [`slipway_learner=${learnerId}`, learnerCookie(learnerId, 'some-other-secret-0123456789abcdef0123')]) {
      expect(await upgrade(`Host: 127.0.0.1:${port}\r\nCookie: ${cookie}\r\n`)).toMatch(/^HTTP\/1.1 401/);
    }
    expect(await upgrade(`Host: 127.0.0.1:${port}\r\nCookie: ${learnerCookie(learnerId)}\r\n`)).toMatch(/^HTTP\/1.1 101/);
  });
});

describe('HTTP surface', () => {
  it('sends security headers with every page', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/`);
    expect(response.headers.get('content-security-policy')).toMatch(/script-src 'self'.*frame-ancestors 'none'/);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('same-origin');
    const missing = await fetch(`http://127.0.0.1:${port}/nope`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('answers only GET and HEAD', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const response = await fetch(`http://127.0.0.1:${port}/`, { method });
      expect(response.status, method).toBe(405);
      expect(response.headers.get('allow')).toBe('GET, HEAD');
    }
    expect((await fetch(`http://127.0.0.1:${port}/`, { method: 'HEAD' })).status).toBe(200);
  });

  it('tells the public the server is up, and nothing about its load', async () => {
    expect(await (await fetch(`http://127.0.0.1:${port}/api/health`)).json()).toEqual({ ok: true });
  });
});

describe('satisfiableRange', () => {
  it('accepts what sirv can serve and nothing else', () => {
    expect(satisfiableRange('bytes=0-4')).toBe(true);
    expect(satisfiableRange('bytes=3-')).toBe(true);
    expect(satisfiableRange('bytes=-3')).toBe(true);
    expect(satisfiableRange('bytes=2-1')).toBe(false);
    expect(satisfiableRange('bytes=-')).toBe(false);
    expect(satisfiableRange('bytes=0-1,2-3')).toBe(false);
  });
});
