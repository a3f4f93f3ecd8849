/**
 * A restarted server takes over the shells the nodes still hold (with an in-memory driver that
 * holds shells as a node does): only for the learner whose node holds it, and only once.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryDriver } from '../../tests/doubles/memory-driver.ts';
import { openTerminal, type TestTerminal } from '../../tests/support/ws-client.ts';
import { testSecret, testTeacherKey } from '../../tests/support/secret.ts';
import { createApp, type App } from '../http/app.ts';
import { createLogger } from '../log.ts';
import { SessionManager } from '../sessions/session-manager.ts';
import { SqliteProgressStore } from '../store/sqlite-store.ts';

const log = createLogger('silent');
const siteDir = mkdtempSync(path.join(os.tmpdir(), 'slipway-site-'));
writeFileSync(path.join(siteDir, 'index.html'), '<!doctype html><title>Slipway</title>\n');
const course = {
  test: { order: 1, nodes: ['node1'], requires: [], setup: [], setupTimeoutSeconds: 60, steps: [{ id: 'first', node: 'node1', check: 'true', history: false, solution: [] }] },
};
const apps: App[] = [];

/** A server over `driver`, as a fresh process would start: new sessions (taking back what the driver runs), new shell registry. */
async function startServer(driver: MemoryDriver): Promise<string> {
  const sessions = new SessionManager(driver, { maxSandboxes: 5, idleMs: 60_000, heldShellGraceMs: 200 }, log);
  await sessions.recover();
  const app = createApp({ secret: testSecret, teacherKey: testTeacherKey, siteDir, course, store: new SqliteProgressStore(':memory:'), driver, sessions, checkTimeoutMs: 1000, resumeGraceMs: 60_000, log });
  apps.push(app);
  return app.listen(0, '127.0.0.1');
}

const learner = () => randomBytes(16).toString('base64url');
const shellOf = (terminal: TestTerminal) => terminal.waitForMessage('shell', undefined, 5000);

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

describe('shells held across a server restart', () => {
  it('are taken over by their learner, from the offset the page has, without a reset', async () => {
    const driver = new MemoryDriver();
    const learnerId = learner();
    const first = openTerminal(await startServer(driver), { lesson: 'test', learnerId });
    const opened = await shellOf(first);
    await apps[0]!.close();

    const again = openTerminal(await startServer(driver), { lesson: 'test', learnerId, resume: { shellId: opened.id, offset: 1234 } });
    expect(await shellOf(again)).toMatchObject({ id: opened.id, resumed: true, reset: false, offset: 1234 });
    expect(driver.calls.some((call) => call.method === 'reattachShell' && call.options.id === opened.id)).toBe(true);
    again.socket.close();
  });

  it('are not taken by another learner or by a second socket, who get shells of their own', async () => {
    const driver = new MemoryDriver();
    const owner = learner();
    const first = openTerminal(await startServer(driver), { lesson: 'test', learnerId: owner });
    const opened = await shellOf(first);
    await apps[0]!.close();

    const url = await startServer(driver);
    const stranger = openTerminal(url, { lesson: 'test', learnerId: learner(), resume: { shellId: opened.id, offset: 0 } });
    const strangerShell = await shellOf(stranger);
    expect(strangerShell.id).not.toBe(opened.id);
    expect(strangerShell.resumed).toBe(false);

    const [a, b] = [0, 1].map(() => openTerminal(url, { lesson: 'test', learnerId: owner, resume: { shellId: opened.id, offset: 0 } }));
    const shells = await Promise.all([shellOf(a!), shellOf(b!)]);
    expect(shells.filter((shell) => shell.id === opened.id)).toHaveLength(1);
    for (const terminal of [stranger, a!, b!]) terminal.socket.close();
  });

  it('are ended when no page comes back for them; the ones taken over stay', async () => {
    const driver = new MemoryDriver();
    const learnerId = learner();
    const url = await startServer(driver);
    const [left, back] = [openTerminal(url, { lesson: 'test', learnerId }), openTerminal(url, { lesson: 'test', learnerId })];
    const [leftShell, backShell] = await Promise.all([shellOf(left!), shellOf(back!)]);
    await apps[0]!.close();
    expect(driver.heldShells.has(leftShell.id)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 20));

    const again = openTerminal(await startServer(driver), { lesson: 'test', learnerId, resume: { shellId: backShell.id, offset: 0 } });
    expect((await shellOf(again)).id).toBe(backShell.id);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(driver.heldShells.has(leftShell.id)).toBe(false);
    expect(driver.heldShells.has(backShell.id)).toBe(true);
    again.socket.close();
  });
});
