/**
 * The workshop API on a real socket with the in-memory sandbox driver: who may do what, joining
 * and rejoining by name, the teacher's message on a learner's open terminal, results as CSV.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDriver } from '../../tests/doubles/memory-driver.ts';
import { newLearnerId, learnerCookie, openTerminal } from '../../tests/support/ws-client.ts';
import { testSecret, testTeacherKey } from '../../tests/support/secret.ts';
import { createApp, type App } from '../http/app.ts';
import { createLogger } from '../log.ts';
import { SessionManager } from '../sessions/session-manager.ts';
import { SqliteProgressStore } from '../store/sqlite-store.ts';
import { WorkshopStore } from './workshop-store.ts';
import { Workshops } from './workshops.ts';

const log = createLogger('silent');
const progress = new SqliteProgressStore(':memory:');
const driver = new MemoryDriver();
const sessions = new SessionManager(driver, { maxSandboxes: 20, idleMs: 60_000, perAddress: 1 }, log);
let app: App;
let base: string;
const course = {
  test: { order: 1, nodes: ['node1'], requires: [], setup: [], setupTimeoutSeconds: 60, steps: [{ id: 'first', node: 'node1', check: 'true', history: false, solution: ['true'] }] },
};
const workshops = new Workshops({ store: new WorkshopStore(':memory:'), progress, sessions, course, driver, log });

beforeAll(async () => {
  const siteDir = mkdtempSync(path.join(os.tmpdir(), 'slipway-site-'));
  writeFileSync(path.join(siteDir, 'index.html'), '<!doctype html><title>Slipway</title>\n');
  app = createApp({ secret: testSecret, teacherKey: testTeacherKey, siteDir, course, store: progress, driver, sessions, workshops, checkTimeoutMs: 1000, log });
  base = await app.listen(0, '127.0.0.1');
});
afterAll(async () => {
  workshops.close();
  await app.close();
  await sessions.shutdown();
});

const teacher = { authorization: `Bearer ${testTeacherKey}`, 'content-type': 'application/json' };
const post = (route: string, body: unknown, headers: Record<string, string> = teacher) =>
  fetch(new URL(route, base), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
const hour = 3600_000;
async function newWorkshop(extra: Record<string, unknown> = {}): Promise<{ id: string; code: string }> {
  const response = await post('/api/teach/workshops', { title: 'Docker 101', lessons: ['test'], seats: 3, startsAt: Date.now() - 1000, endsAt: Date.now() + hour, ...extra });
  expect(response.status).toBe(201);
  return ((await response.json()) as { workshop: { id: string; code: string } }).workshop;
}

describe('workshop API', () => {
  it('keeps teacher routes shut without the key, and lets a browser sign in with it', async () => {
    const refused = await fetch(new URL('/api/teach/workshops', base));
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toContain('Bearer');
    expect((await post('/api/teach/signin', { key: 'wrong' }, {})).status).toBe(401);
    const signedIn = await post('/api/teach/signin', { key: testTeacherKey }, {});
    expect(signedIn.status).toBe(200);
    const cookie = signedIn.headers.get('set-cookie')!.split(';')[0]!;
    expect((await fetch(new URL('/api/teach/workshops', base), { headers: { cookie } })).status).toBe(200);
    // The learner cookie is not a teacher's.
    expect((await fetch(new URL('/api/teach/workshops', base), { headers: { cookie: learnerCookie(newLearnerId()) } })).status).toBe(401);
  });

  it('refuses a state change from another site, and a workshop with a lesson that does not exist', async () => {
    expect((await post('/api/teach/workshops', { title: 'x', lessons: ['test'], seats: 1, startsAt: 1, endsAt: 2 }, { ...teacher, origin: 'http://evil.example' })).status).toBe(403);
    const unknown = await post('/api/teach/workshops', { title: 'x', lessons: ['nope'], seats: 1, startsAt: Date.now(), endsAt: Date.now() + hour });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { message: string }).message).toContain('nope');
    const bad = await post('/api/teach/workshops', { title: 'x', lessons: ['test'], seats: 0, startsAt: Date.now(), endsAt: Date.now() + hour });
    expect(((await bad.json()) as { message: string }).message).toMatch(/^seats: /);
  });

  it('joins by code and name, gives a learner with a lost cookie their own id back, and sends /join/CODE to the join page', async () => {
    const { code } = await newWorkshop();
    const short = await fetch(new URL(`/join/${code.toLowerCase()}`, base), { redirect: 'manual', headers: { 'accept-language': 'zh-CN,zh;q=0.9' } });
    expect(short.status).toBe(302);
    expect(short.headers.get('location')).toBe(`/zh/join/?code=${code}`);
    const ann = newLearnerId();
    const joined = await post('/api/join', { code, name: 'Ann' }, { cookie: learnerCookie(ann) });
    expect(joined.status).toBe(200);
    expect(await joined.json()).toMatchObject({ ok: true, rejoined: false, lessons: ['test'] });
    expect((await post('/api/join', { code: 'ZZZZZZ', name: 'Ann' }, {})).status).toBe(404);
    // A new browser, the same name: the cookie it gets is Ann's.
    const back = await post('/api/join', { code, name: 'ann' }, { cookie: learnerCookie(newLearnerId()) });
    expect(back.status).toBe(200);
    expect(back.headers.get('set-cookie')).toContain(learnerCookie(ann));
  });

  it("puts the teacher's message on a member's open terminal, and on one opened later", async () => {
    const { id, code } = await newWorkshop();
    const bob = newLearnerId();
    await post('/api/join', { code, name: 'Bob' }, { cookie: learnerCookie(bob) });
    const terminal = openTerminal(base, { lesson: 'test', learnerId: bob });
    await terminal.waitForMessage('status', (message) => message.phase === 'ready');
    expect((await post(`/api/teach/workshops/${id}/message`, { text: 'Break until 11:00' })).status).toBe(200);
    expect((await terminal.waitForMessage('notice')).text).toBe('Break until 11:00');
    terminal.socket.close();
    await terminal.closed;
    const later = openTerminal(base, { lesson: 'test', learnerId: bob });
    expect((await later.waitForMessage('notice')).text).toBe('Break until 11:00');
    later.socket.close();
    await later.closed;
  });

  it('gives seats sandboxes past the per-address limit that others from the same address meet', async () => {
    const { code } = await newWorkshop({ seats: 5 });
    const members = [newLearnerId(), newLearnerId()];
    for (const [index, member] of members.entries()) await post('/api/join', { code, name: `Seat ${index}` }, { cookie: learnerCookie(member) });
    const outsider = newLearnerId();
    const first = openTerminal(base, { lesson: 'test', learnerId: outsider });
    await first.waitForMessage('status', (message) => message.phase === 'ready');
    const second = openTerminal(base, { lesson: 'test', learnerId: newLearnerId() });
    expect((await second.waitForMessage('error')).code).toBe('TOO_MANY');
    const seats = members.map((member) => openTerminal(base, { lesson: 'test', learnerId: member }));
    for (const seat of seats) await seat.waitForMessage('status', (message) => message.phase === 'ready');
    for (const socket of [first, second, ...seats]) socket.socket.close();
  });

  it("marks a learner whose sandbox ran out of memory on the dashboard", async () => {
    const { id, code } = await newWorkshop();
    const fay = newLearnerId();
    await post('/api/join', { code, name: 'Fay' }, { cookie: learnerCookie(fay) });
    const terminal = openTerminal(base, { lesson: 'test', learnerId: fay });
    await terminal.waitForMessage('status', (message) => message.phase === 'ready');
    const row = async () => ((await (await fetch(new URL(`/api/teach/workshops/${id}`, base), { headers: teacher })).json()) as { learners: { name: string; outOfMemoryAt?: number }[] }).learners.find((learner) => learner.name === 'Fay');
    expect((await row())?.outOfMemoryAt).toBeUndefined();
    const sessionId = [...driver.sandboxes.entries()].find(([, spec]) => spec.learnerId === fay)![0];
    driver.outOfMemory(sessionId, 'node1');
    expect((await row())?.outOfMemoryAt).toBeGreaterThan(Date.now() - 5000);
    terminal.socket.close();
  });

  it('exports results as CSV that a spreadsheet cannot be tricked by', async () => {
    const { id, code } = await newWorkshop();
    const carl = newLearnerId();
    await post('/api/join', { code, name: '=HYPERLINK("http://x")' }, { cookie: learnerCookie(carl) });
    await progress.markDone(carl, 'test', ['first']);
    const response = await fetch(new URL(`/api/teach/workshops/${id}/results.csv`, base), { headers: teacher });
    expect(response.headers.get('content-type')).toContain('text/csv');
    const lines = (await response.text()).replace(/^\uFEFF/, '').trim().split('\r\n');
    expect(lines[0]).toBe('name,joined,steps done,steps,test/first');
    expect(lines[1]).toMatch(/^"'=HYPERLINK\(""http:\/\/x""\)",[^,]+,1,1,\d{4}-/);
  });

  it('ends a workshop: its members lose their sandboxes and keep their progress; joining is closed', async () => {
    const { id, code } = await newWorkshop();
    const dan = newLearnerId();
    await post('/api/join', { code, name: 'Dan' }, { cookie: learnerCookie(dan) });
    const terminal = openTerminal(base, { lesson: 'test', learnerId: dan });
    await terminal.waitForMessage('status', (message) => message.phase === 'ready');
    expect(sessions.stateOf(dan)).toBe('ready');
    expect((await post(`/api/teach/workshops/${id}/end`, {})).status).toBe(200);
    expect(sessions.stateOf(dan)).toBe('none');
    expect((await terminal.waitForMessage('notice')).text).toContain('ended');
    const late = await post('/api/join', { code, name: 'Eve' }, { cookie: learnerCookie(newLearnerId()) });
    expect(late.status).toBe(409);
    terminal.socket.close();
  });
});
