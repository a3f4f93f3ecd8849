/**
 * The terminal WebSocket against a real server and real sandboxes: attach, type, resize,
 * automatic and requested checks, bad frames, flow control, reconnect, refusals.
 */
import { docker } from './support/engine.ts';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import { testSecret, testTeacherKey } from './support/secret.ts';
import { createApp } from '../server/http/app.ts';
import { createLogger } from '../server/log.ts';
import type { Slipway } from '../server/main.ts';
import { DockerDriver } from '../server/sandbox/docker/driver.ts';
import { SessionManager } from '../server/sessions/session-manager.ts';
import { SqliteProgressStore } from '../server/store/sqlite-store.ts';
import { labelKeys } from '../server/sandbox/docker/labels.ts';
import { flowControl } from '../protocol/terminal.ts';
import { newLearnerId, openTerminal, type TestTerminal } from './support/ws-client.ts';
import { startTestSlipway, testInstance } from './support/slipway.ts';
import { objectName } from '../server/sandbox/docker/labels.ts';

let slipway: Slipway;
const learner = newLearnerId();
let terminal: TestTerminal;

beforeAll(async () => {
  slipway = await startTestSlipway({ SLIPWAY_RESUME_SECONDS: '2' });
  terminal = openTerminal(slipway.url, { learnerId: learner, origin: new URL(slipway.url).origin });
  await terminal.waitForMessage('status', (message) => message.phase === 'ready', 60000);
});

afterAll(async () => {
  terminal?.socket.close();
  await slipway.stop();
});

/** The session id of a learner's sandbox, from the labels on its container. */
async function sessionOf(server: Slipway, learnerId: string): Promise<string> {
  const [container] = await docker.listContainers({ filters: { label: [`${labelKeys.learner}=${learnerId}`] } });
  const sessionId = container?.Labels[labelKeys.session];
  if (!sessionId) throw new Error(`learner ${learnerId} has no sandbox`);
  return sessionId;
}

const ready = (t: TestTerminal) => t.waitForMessage('status', (message) => message.phase === 'ready', 60000);

describe('terminal socket', () => {
  it('says what it is doing before the shell is ready', () => {
    const phases = terminal.messages.filter((message) => message.type === 'status').map((message) => message.phase);
    expect(phases[0]).toBe('starting');
    expect(phases).toContain('waiting-engine');
    expect(phases.at(-1)).toBe('ready');
  });

  it('is a root shell in the learner\'s node', async () => {
    terminal.type('echo "I am $(id -un) on $(hostname) in $PWD, $((6*7))"\r');
    await terminal.waitFor(() => terminal.output().includes('I am root on node1 in /home/learner, 42'), 10000, 'the echo');
  });

  it('follows resizes and refuses absurd ones without closing', async () => {
    terminal.send({ type: 'resize', cols: 100, rows: 30 });
    terminal.type('stty size\r');
    await terminal.waitFor(() => terminal.output().includes('30 100'), 10000, 'stty size');
    terminal.socket.send(JSON.stringify({ type: 'resize', cols: 100000, rows: -1 }));
    const error = await terminal.waitForMessage('error', (message) => message.code === 'BAD_MESSAGE');
    expect(error.fatal).toBe(false);
    expect(error.message).toMatch(/cols/);
  });

  it('answers malformed frames with an error frame and stays usable', async () => {
    const before = terminal.messages.length;
    terminal.socket.send('this is not json');
    terminal.socket.send(JSON.stringify({ type: 'launch-missiles' }));
    terminal.socket.send('x'.repeat(10000));
    await terminal.waitFor(
      () => terminal.messages.slice(before).filter((message) => message.type === 'error').length >= 3,
      10000,
      'three error frames',
    );
    terminal.send({ type: 'ping' });
    await terminal.waitFor(() => terminal.messages.slice(before).some((message) => message.type === 'pong'), 5000, 'pong');
    expect(terminal.socket.readyState).toBe(terminal.socket.OPEN);
  });

  it('checks the lesson by itself when a command finishes', async () => {
    terminal.type('docker run hello-world\r');
    const checks = await terminal.waitForMessage(
      'checks',
      (message) => message.trigger === 'command' && message.results.some((result) => result.stepId === 'run-hello-world' && result.done),
      30000,
    );
    expect(checks.results.find((result) => result.stepId === 'list-images')?.done).toBe(false);
    await terminal.waitFor(() => terminal.output().includes('Hello from Slipway!'), 10000, 'the greeting');
  });

  it('checks on request, reporting steps not yet done', async () => {
    terminal.send({ type: 'check' });
    const checks = await terminal.waitForMessage('checks', (message) => message.trigger === 'button');
    expect(checks.results.map((result) => [result.stepId, result.done])).toEqual([
      ['run-hello-world', true],
      ['list-images', false],
      ['find-exited-container', false],
      ['remove-container', false],
    ]);
  });

  it('keeps the server\'s buffering bounded under a flood, and Ctrl-C still works', async () => {
    const flood = openTerminal(slipway.url, { learnerId: learner });
    await ready(flood);
    flood.type('yes slipway-flood\r');
    // Never acknowledge: the server must stop reading after the high watermark.
    await flood.waitFor(() => flood.outputBytes() > flowControl.high, 20000, 'the flood');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const settled = flood.outputBytes();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(flood.outputBytes() - settled).toBeLessThan(256 * 1024);
    expect(settled).toBeLessThan(flowControl.high + 1024 * 1024);
    flood.type('\x03');
    flood.send({ type: 'ack', bytes: flood.outputBytes() });
    const mark = flood.outputBytes();
    flood.type('echo flood-$((1+1))-over\r');
    // Acknowledge as we go, as the browser does, until the prompt is back.
    await flood.waitFor(
      () => {
        flood.send({ type: 'ack', bytes: Math.max(1, flood.outputBytes() - mark) });
        return flood.output().includes('flood-2-over\r\n');
      },
      30000,
      'the prompt after Ctrl-C',
    );
    flood.socket.close();
  });

  it('reads every ack of a fast output, so the output never stalls', async () => {
    const fast = openTerminal(slipway.url, { learnerId: learner });
    await ready(fast);
    // Acknowledge every 32 KiB as it arrives, as the browser does: hundreds of acks a second.
    let acked = 0;
    fast.socket.on('message', (_data, isBinary) => {
      if (isBinary && fast.outputBytes() - acked >= flowControl.ackEvery) {
        fast.send({ type: 'ack', bytes: fast.outputBytes() - acked });
        acked = fast.outputBytes();
      }
    });
    fast.type('head -c 15000000 /dev/zero | base64 -w 0; echo; echo FAST-$((1+1))-END\r');
    await fast.waitFor(() => fast.output().includes('\nFAST-2-END'), 60000, 'the end of 20 MB of output');
    expect(fast.outputBytes()).toBeGreaterThan(20_000_000);
    expect(fast.messages.filter((message) => message.type === 'error')).toEqual([]);
    fast.socket.close();
  });

  it('puts a reconnecting learner back into the same sandbox', async () => {
    terminal.socket.close();
    await terminal.closed;
    const again = openTerminal(slipway.url, { learnerId: learner });
    await ready(again);
    again.type('docker images --format "{{.Repository}}"\r');
    await again.waitFor(() => again.output().includes('hello-world\r\n'), 10000, 'the image pulled before');
    terminal = again;
  });

  it('ends the shell when its terminal closes, and says so when the learner exits', async () => {
    const sessionId = await sessionOf(slipway, learner);
    const shells = async () => {
      const result = await slipway.runtime.driver.run(sessionId, 'node1', 'pgrep -c -x bash || true', 5000);
      return Number(result.output.trim());
    };
    // Shells of sockets closed by earlier tests end once their 2-second grace period is over.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const before = await shells();
    const extra = openTerminal(slipway.url, { learnerId: learner });
    await ready(extra);
    // The node's shell holder starts bash just after the terminal says it is ready.
    await expect.poll(shells, { timeout: 5000 }).toBe(before + 1);
    extra.socket.close();
    await extra.closed;
    // Kept for the grace period (a reload would take it back), then ended.
    expect(await shells()).toBe(before + 1);
    await expect.poll(shells, { timeout: 10000 }).toBe(before);

    const leaving = openTerminal(slipway.url, { learnerId: learner });
    await ready(leaving);
    leaving.type('exit 3\r');
    const exit = await leaving.waitForMessage('exit');
    expect(exit.code).toBe(3);
    expect((await leaving.closed).code).toBe(1000);
  });

  it('tells the learner when their node vanishes, and gives them a new sandbox on reconnect', async () => {
    const learnerId = newLearnerId();
    const first = openTerminal(slipway.url, { learnerId });
    await ready(first);
    const oldSession = await sessionOf(slipway, learnerId);
    await docker.getContainer(objectName(testInstance(), oldSession, 'node1')).remove({ force: true });
    const exit = await first.waitForMessage('exit', () => true, 15000);
    expect(exit.type).toBe('exit');
    await first.closed;
    const second = openTerminal(slipway.url, { learnerId });
    await ready(second);
    expect(second.messages.some((message) => message.type === 'status' && message.phase === 'starting')).toBe(true);
    const newSession = await sessionOf(slipway, learnerId);
    expect(newSession).not.toBe(oldSession);
    second.type('echo fresh-$((40+2))\r');
    await second.waitFor(() => second.output().includes('fresh-42'), 10000, 'the new shell');
    second.socket.close();
    await slipway.runtime.driver.stop(oldSession);
  });

  it('lets a dropped terminal take its shell back, with exactly the output it missed', async () => {
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const learnerId = newLearnerId();
    const first = openTerminal(slipway.url, { learnerId });
    await ready(first);
    const shell = await first.waitForMessage('shell');
    expect(shell).toMatchObject({ resumed: false, reset: false });
    first.type('cd /tmp; (sleep 1; echo printed-while-$((1+1))-away) &\r');
    await first.waitFor(() => first.output().includes('[1]'), 10000, 'the background job');
    const received = shell.offset + first.outputBytes();
    first.socket.terminate(); // no close handshake, as when a laptop sleeps
    await first.closed;
    await sleep(1500);

    const second = openTerminal(slipway.url, { learnerId, resume: { shellId: shell.id, offset: received } });
    await ready(second);
    expect(await second.waitForMessage('shell')).toMatchObject({ id: shell.id, resumed: true, reset: false, offset: received });
    await second.waitFor(() => second.output().includes('printed-while-2-away'), 10000, 'output from while the socket was gone');
    expect(second.output()).not.toContain('cd /tmp;');
    second.type('echo "in $PWD"\r');
    await second.waitFor(() => second.output().includes('in /tmp\r\n'), 10000, 'the same shell');
    second.socket.terminate();
    await second.closed;

    // A reloaded page has nothing: it gets the screen as the server keeps it, lines above included.
    const third = openTerminal(slipway.url, { learnerId, resume: { shellId: shell.id, offset: 0 } });
    await ready(third);
    const reloaded = await third.waitForMessage('shell');
    expect(reloaded).toMatchObject({ id: shell.id, resumed: true, reset: true });
    // The command line reads `"in $PWD"`, so `in /tmp` is the output. What follows it depends on whether the
    // next prompt was drawn yet: a line break, or the serializer's cursor move to an empty line.
    expect(reloaded.screen).toContain('in /tmp');
    expect(reloaded.screen).toContain('cd /tmp;');
    third.socket.close();
    await third.closed;

    // Nobody else can take it.
    const stranger = openTerminal(slipway.url, { learnerId: newLearnerId(), resume: { shellId: shell.id, offset: 0 } });
    const strangers = await stranger.waitForMessage('shell', () => true, 60000);
    expect(strangers.resumed).toBe(false);
    expect(strangers.id).not.toBe(shell.id);
    stranger.socket.close();

    // Once the grace period is over, the shell is gone and a new one starts.
    await sleep(3000);
    const late = openTerminal(slipway.url, { learnerId, resume: { shellId: shell.id, offset: 0 } });
    const lates = await late.waitForMessage('shell');
    expect(lates.resumed).toBe(false);
    late.socket.close();
  });

  it('refuses other origins, missing learner ids and unknown lessons', async () => {
    const foreign = openTerminal(slipway.url, { learnerId: newLearnerId(), origin: 'http://evil.example' });
    expect((await foreign.closed).code).not.toBe(1000);
    expect(foreign.messages).toEqual([]);
    const anonymous = openTerminal(slipway.url, {});
    await anonymous.closed;
    expect(anonymous.messages).toEqual([]);
    const unknown = openTerminal(slipway.url, { learnerId: newLearnerId(), lesson: 'no-such-lesson' });
    const error = await unknown.waitForMessage('error');
    expect(error.code).toBe('UNKNOWN_LESSON');
  });

  it('closes a socket that stops answering pings, and its shell with it', async () => {
    const quick = await startTestSlipway({ SLIPWAY_HEARTBEAT_SECONDS: '1', SLIPWAY_RESUME_SECONDS: '1' });
    try {
      const learnerId = newLearnerId();
      const silent = openTerminal(quick.url, { learnerId });
      await ready(silent);
      const sessionId = await sessionOf(quick, learnerId);
      const shells = async () => Number((await quick.runtime.driver.run(sessionId, 'node1', 'pgrep -c -x bash || true', 5000)).output.trim());
      expect(await shells()).toBe(1);
      // A peer that has gone away: its socket still exists, but nothing it receives is read.
      silent.socket.pause();
      await expect.poll(shells, { timeout: 15000, interval: 500 }).toBe(0);
      silent.socket.resume();
      expect((await silent.closed).code).not.toBe(1000);
    } finally {
      await quick.stop();
    }
  });

  it('tells the learner in one sentence when the server is full', async () => {
    const full = await startTestSlipway({ SLIPWAY_MAX_SANDBOXES: '1' });
    try {
      const first = openTerminal(full.url, { learnerId: newLearnerId() });
      await ready(first);
      const second = openTerminal(full.url, { learnerId: newLearnerId() });
      const error = await second.waitForMessage('error');
      expect(error.code).toBe('OUT_OF_CAPACITY');
      expect(error.message).toMatch(/in use/);
      first.socket.close();
    } finally {
      await full.stop();
    }
  });

  it('starts no new sandbox while the engine\'s disk is low, and says so', async () => {
    const low = await startTestSlipway({ SLIPWAY_MIN_FREE_DISK_MB: '10000000' });
    try {
      const t = openTerminal(low.url, { learnerId: newLearnerId() });
      const error = await t.waitForMessage('error');
      expect(error.code).toBe('OUT_OF_CAPACITY');
      expect(error.message).toMatch(/low on disk space/);
    } finally {
      await low.stop();
    }
  });

  it('tells the learner in one sentence when the engine is unreachable', async () => {
    const log = createLogger('silent');
    const docker = new Docker({ socketPath: '/nonexistent/docker.sock' });
    const driver = new DockerDriver(docker, { instance: 'nowhere', sandboxImage: 'none', mirrorContainer: 'none', memoryMb: 512, cpus: 1, pids: 256 }, log);
    const sessions = new SessionManager(driver, { maxSandboxes: 5, idleMs: 60000 }, log);
    const app = createApp({ secret: testSecret, teacherKey: testTeacherKey, siteDir: mkdtempSync(path.join(os.tmpdir(), 'slipway-empty-site-')), course: { 'hello-world': { order: 1, nodes: ['node1'], requires: [], setup: [], setupTimeoutSeconds: 60, steps: [] } }, store: new SqliteProgressStore(':memory:'), driver, sessions, checkTimeoutMs: 1000, log });
    const url = await app.listen(0, '127.0.0.1');
    try {
      const t = openTerminal(url, { learnerId: newLearnerId() });
      const error = await t.waitForMessage('error');
      expect(error.code).toBe('ENGINE_UNAVAILABLE');
      expect(error.message).toMatch(/Docker engine cannot be reached/);
      expect(error.fatal).toBe(true);
    } finally {
      await app.close();
    }
  });

  it('serves the lesson pages with a learner cookie', async () => {
    const response = await fetch(new URL('/en/hello-world/', slipway.url));
    expect(response.status).toBe(200);
    expect(response.headers.get('set-cookie')).toMatch(/slipway_learner=[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}; .*HttpOnly/);
    expect(await response.text()).toContain('data-terminal');
    const zh = await fetch(new URL('/zh/hello-world/', slipway.url));
    expect(zh.status).toBe(200);
  });
});
