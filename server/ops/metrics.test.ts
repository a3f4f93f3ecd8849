/**
 * /metrics, /healthz and /readyz on a real socket with the in-memory driver: the metrics are the
 * teacher's, and they move when something happens.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDriver } from '../../tests/doubles/memory-driver.ts';
import { testSecret, testTeacherKey } from '../../tests/support/secret.ts';
import { newLearnerId, openTerminal } from '../../tests/support/ws-client.ts';
import { createApp, type App } from '../http/app.ts';
import { createLogger } from '../log.ts';
import { SessionManager } from '../sessions/session-manager.ts';
import { SqliteProgressStore } from '../store/sqlite-store.ts';
import { Metrics } from './metrics.ts';

const log = createLogger('silent');
const driver = new MemoryDriver();
let metrics: Metrics;
const sessions = new SessionManager(driver, { maxSandboxes: 5, idleMs: 60_000, observer: { sandboxReady: (seconds, source) => metrics.sandboxReady(seconds, source) } }, log);
metrics = new Metrics(sessions);
let app: App;
let base: string;

beforeAll(async () => {
  const siteDir = mkdtempSync(path.join(os.tmpdir(), 'slipway-site-'));
  writeFileSync(path.join(siteDir, 'index.html'), '<!doctype html><title>Slipway</title>\n');
  const course = { test: { order: 1, nodes: ['node1'], requires: [], setup: [], setupTimeoutSeconds: 60, steps: [{ id: 'first', node: 'node1', check: 'true', history: false, solution: ['true'] }] } };
  app = createApp({ secret: testSecret, teacherKey: testTeacherKey, siteDir, course, store: new SqliteProgressStore(':memory:'), driver, sessions, metrics, checkTimeoutMs: 1000, log });
  base = await app.listen(0, '127.0.0.1');
});
afterAll(async () => {
  await app.close();
  await sessions.shutdown();
});

const scrape = async () => (await fetch(new URL('/metrics', base), { headers: { authorization: `Bearer ${testTeacherKey}` } })).text();
/** One sample's value from the exposition text, 0 when absent. */
const sample = (text: string, name: string) => Number(new RegExp(`^${name.replace(/[{}"=]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);

describe('/metrics', () => {
  it('needs the teacher key', async () => {
    const refused = await fetch(new URL('/metrics', base));
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toContain('Bearer');
    expect(await scrape()).toContain('# TYPE slipway_sessions gauge');
  });

  it('counts sessions, terminals, sandbox starts, check runs and errors as they happen', async () => {
    const before = await scrape();
    expect(sample(before, 'slipway_sessions')).toBe(0);
    const terminal = openTerminal(base, { lesson: 'test', learnerId: newLearnerId() });
    await terminal.waitForMessage('checks');
    const during = await scrape();
    expect(sample(during, 'slipway_sessions')).toBe(1);
    expect(sample(during, 'slipway_nodes')).toBe(1);
    expect(sample(during, 'slipway_websocket_connections{kind="terminal"}')).toBe(1);
    expect(sample(during, 'slipway_sandbox_start_seconds_count{source="new"}')).toBe(1);
    expect(sample(during, 'slipway_pool_takes_total{result="miss"}')).toBe(1);
    expect(sample(during, 'slipway_check_runs_total{trigger="connect",result="ran"}')).toBe(1);
    expect(sample(during, 'slipway_check_run_seconds_count{trigger="connect"}')).toBe(1);
    const wrong = openTerminal(base, { lesson: 'no-such-lesson', learnerId: newLearnerId() });
    await wrong.closed;
    terminal.socket.close();
    await terminal.closed;
    await expect.poll(async () => sample(await scrape(), 'slipway_websocket_connections{kind="terminal"}')).toBe(0);
    expect(sample(await scrape(), 'slipway_errors_total{code="UNKNOWN_LESSON"}')).toBe(1);
  });
});

describe('/healthz and /readyz', () => {
  it('says the process answers, and whether sandboxes can start, with the reason when not', async () => {
    expect((await fetch(new URL('/healthz', base))).status).toBe(200);
    const ready = await fetch(new URL('/readyz', base));
    expect([ready.status, await ready.text()]).toEqual([200, 'ready\n']);
    driver.notReadyBecause = 'The Docker engine does not answer.';
    const notReady = await fetch(new URL('/readyz', base));
    expect([notReady.status, await notReady.text()]).toEqual([503, 'not ready: The Docker engine does not answer.\n']);
    driver.notReadyBecause = undefined;
  });
});
