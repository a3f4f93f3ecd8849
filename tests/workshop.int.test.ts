/**
 * Workshops on a real engine: a restart keeps a workshop, its seats and its progress, and a
 * learner who lost their cookie rejoins by name and finds their steps done; when the server
 * is full the waiting line hands out sandboxes in order as others end; a teacher's watch
 * socket sees the learner's shell and cannot type into it.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import { watchPath, watchQuery, type WatchMessage } from '../protocol/watch.ts';
import { learnerCookie, newLearnerId, openTerminal, type TestTerminal } from './support/ws-client.ts';
import { startTestSlipway } from './support/slipway.ts';
import { testTeacherKey } from './support/secret.ts';
import type { Slipway } from '../server/main.ts';

const ready = (terminal: TestTerminal) => terminal.waitForMessage('status', (message) => message.phase === 'ready', 60_000);
const teacher = { authorization: `Bearer ${testTeacherKey}`, 'content-type': 'application/json' };

async function post<T>(slipway: Slipway, route: string, body: unknown, headers: Record<string, string> = teacher): Promise<{ status: number; body: T; cookie: string | null }> {
  const response = await fetch(new URL(route, slipway.url), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as T, cookie: response.headers.get('set-cookie') };
}

async function createWorkshop(slipway: Slipway, seats = 5): Promise<{ id: string; code: string }> {
  const created = await post<{ workshop: { id: string; code: string } }>(slipway, '/api/teach/workshops', {
    title: 'Integration',
    lessons: ['hello-world'],
    seats,
    startsAt: Date.now() - 1000,
    endsAt: Date.now() + 3600_000,
  });
  expect(created.status).toBe(201);
  return created.body.workshop;
}

interface DashboardRow {
  learnerId: string;
  name: string;
  sandbox: string;
  place?: number;
  done: Record<string, string[]>;
}
async function dashboard(slipway: Slipway, id: string): Promise<{ learners: DashboardRow[]; waiting: number }> {
  const response = await fetch(new URL(`/api/teach/workshops/${id}`, slipway.url), { headers: teacher });
  expect(response.status).toBe(200);
  return (await response.json()) as { learners: DashboardRow[]; waiting: number };
}

/** A server for one test, stopped whatever the test does. */
async function withSlipway(env: Record<string, string>, body: (slipway: Slipway) => Promise<void>): Promise<void> {
  const slipway = await startTestSlipway(env);
  try {
    await body(slipway);
  } finally {
    await slipway.stop();
  }
}

describe('workshops', () => {
  it('keep their seats and progress across a restart, and a learner with a lost cookie rejoins by name', async () => {
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'slipway-workshop-state-'));
    const first = await startTestSlipway({ SLIPWAY_STATE_DIR: stateDir });
    const ann = newLearnerId();
    let workshop: { id: string; code: string };
    try {
      workshop = await createWorkshop(first);
      expect((await post(first, '/api/join', { code: workshop.code, name: 'Ann' }, { cookie: learnerCookie(ann) })).status).toBe(200);
      const terminal = openTerminal(first.url, { learnerId: ann });
      await ready(terminal);
      terminal.type('docker run hello-world\r');
      await terminal.waitForMessage('checks', (message) => message.results.some((result) => result.stepId === 'run-hello-world' && result.done), 60_000);
      terminal.socket.close();
      await terminal.closed;
    } finally {
      await first.stop();
    }

    const second = await startTestSlipway({ SLIPWAY_STATE_DIR: stateDir });
    try {
      const after = await dashboard(second, workshop.id);
      expect(after.learners).toMatchObject([{ learnerId: ann, name: 'Ann', done: { 'hello-world': ['run-hello-world'] } }]);
      // Ann on another browser: her name brings her learner id back, and with it her progress.
      const back = await post<{ rejoined: boolean }>(second, '/api/join', { code: workshop.code, name: 'ann' }, { cookie: learnerCookie(newLearnerId()) });
      expect(back.body.rejoined).toBe(true);
      expect(back.cookie).toContain(learnerCookie(ann));
      const terminal = openTerminal(second.url, { learnerId: ann });
      const checks = await terminal.waitForMessage('checks', () => true, 60_000);
      expect(checks.results.find((result) => result.stepId === 'run-hello-world')?.done).toBe(true);
      terminal.socket.close();
      await terminal.closed;
    } finally {
      await second.stop();
    }
  });

  it('hand out sandboxes in the order learners lined up for them, as others end', async () => {
    await withSlipway({ SLIPWAY_MAX_SANDBOXES: '1' }, async (slipway) => {
      const { id, code } = await createWorkshop(slipway);
      const [ann, bob, cem] = [newLearnerId(), newLearnerId(), newLearnerId()];
      for (const [learner, name] of [[ann, 'Ann'], [bob, 'Bob'], [cem, 'Cem']] as const) await post(slipway, '/api/join', { code, name }, { cookie: learnerCookie(learner) });
      const first = openTerminal(slipway.url, { learnerId: ann });
      await ready(first);
      const second = openTerminal(slipway.url, { learnerId: bob });
      await second.waitForMessage('status', (message) => message.phase === 'queued' && message.position === 1, 10_000);
      const third = openTerminal(slipway.url, { learnerId: cem });
      await third.waitForMessage('status', (message) => message.phase === 'queued' && message.position === 2, 10_000);
      const waiting = await dashboard(slipway, id);
      expect(waiting.waiting).toBe(2);
      expect(waiting.learners.find((row) => row.name === 'Cem')).toMatchObject({ sandbox: 'queued', place: 2 });
      // The operator sees the same on /metrics.
      const metrics = await (await fetch(new URL('/metrics', slipway.url), { headers: { authorization: teacher.authorization } })).text();
      expect(metrics).toMatch(/^slipway_queue_length 2$/m);
      expect(metrics).toMatch(/^slipway_sessions 1$/m);
      expect(metrics).toMatch(/^slipway_websocket_connections\{kind="terminal"\} 3$/m);
      expect(metrics).toMatch(/^slipway_sandbox_start_seconds_count\{source="pool"\} 1$/m);

      // The teacher resets Ann's sandbox: Bob is next, and Cem moves up.
      expect((await post(slipway, `/api/teach/workshops/${id}/learners/${ann}/reset`, {})).status).toBe(200);
      await ready(second);
      await third.waitForMessage('status', (message) => message.phase === 'queued' && message.position === 1, 10_000);
      expect(third.messages.some((message) => message.type === 'status' && message.phase === 'ready')).toBe(false);
      // Bob leaves; his sandbox ends (as the idle timer would end it) and Cem gets the place.
      second.socket.close();
      await second.closed;
      await slipway.sessions.endFor(bob);
      await ready(third);
      third.type('echo cem-$((40+2))\r');
      await third.waitFor(() => third.output().includes('cem-42\r\n'), 15_000, "Cem's shell");
      for (const socket of [first, third]) socket.socket.close();
    });
  });

  it("let a teacher watch a learner's shell, and never pass on what the teacher types", async () => {
    await withSlipway({}, async (slipway) => {
      const learnerId = newLearnerId();
      const learner = openTerminal(slipway.url, { learnerId });
      await ready(learner);
      learner.type('echo before-$((1+1))\r');
      await learner.waitFor(() => learner.output().includes('before-2\r\n'), 10_000, 'the first output');

      const url = new URL(watchPath, slipway.url.replace(/^http/, 'ws'));
      url.search = watchQuery(learnerId);
      // Without the teacher key: refused at the handshake.
      const stranger = new WebSocket(url, { headers: { cookie: learnerCookie(learnerId) } });
      const refused = await new Promise<number>((resolve) => stranger.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0)).on('error', () => undefined));
      expect(refused).toBe(401);

      const watch = new WebSocket(url, { headers: { authorization: teacher.authorization } });
      const messages: WatchMessage[] = [];
      let output = '';
      watch.on('message', (data, binary) => {
        if (binary) output += data.toString();
        else messages.push(JSON.parse(data.toString()) as WatchMessage);
      });
      const until = async (condition: () => boolean, what: string) => {
        for (let waited = 0; !condition(); waited += 50) {
          if (waited > 15_000) throw new Error(`timed out waiting for ${what}; watch got ${JSON.stringify(messages).slice(0, 500)} and ${output.slice(-300)}`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      };
      await until(() => messages.some((message) => message.type === 'screen'), 'the screen');
      const screen = messages.find((message) => message.type === 'screen');
      expect(screen).toMatchObject({ cols: 80, rows: 24 });
      expect(screen?.type === 'screen' && screen.screen).toContain('before-2');
      learner.type('echo after-$((2+2))\r');
      await until(() => output.includes('after-4'), "the learner's new output");

      watch.send(Buffer.from('echo teacher-$((3+3))\r'));
      await until(() => messages.some((message) => message.type === 'read-only'), 'the refusal');
      learner.type('echo mine-$((4+4))\r');
      await learner.waitFor(() => learner.output().includes('mine-8\r\n'), 10_000, 'the next output');
      expect(learner.output()).not.toContain('teacher-');
      watch.close();
      learner.socket.close();
      await learner.closed;
    });
  });

  it("show a sandbox that ran out of memory on the teacher's dashboard", async () => {
    await withSlipway({ SLIPWAY_SANDBOX_MEMORY_MB: '256' }, async (slipway) => {
      const { id, code } = await createWorkshop(slipway);
      const learnerId = newLearnerId();
      await post(slipway, '/api/join', { code, name: 'Gus' }, { cookie: learnerCookie(learnerId) });
      const terminal = openTerminal(slipway.url, { learnerId });
      await ready(terminal);
      expect((await dashboard(slipway, id)).learners[0]).not.toHaveProperty('outOfMemoryAt');
      // tail keeps a line in memory until it ends: 400 MB without a newline, over the node's 256 MiB.
      terminal.type('head -c 400m /dev/zero | tail > /dev/null; echo "status-$?"\r');
      await terminal.waitFor(() => /status-(137|1)\r\n/.test(terminal.output()), 60_000, 'the killed pipeline');
      let row: DashboardRow & { outOfMemoryAt?: number } = (await dashboard(slipway, id)).learners[0]!;
      for (let waited = 0; row.outOfMemoryAt === undefined && waited < 10_000; waited += 200) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        row = (await dashboard(slipway, id)).learners[0]!;
      }
      expect(row.outOfMemoryAt).toBeGreaterThan(Date.now() - 120_000);
      // The sandbox itself goes on.
      terminal.type('echo alive-$((5*5))\r');
      await terminal.waitFor(() => terminal.output().includes('alive-25\r\n'), 10_000, 'the shell after the kill');
      terminal.socket.close();
    });
  });
});
