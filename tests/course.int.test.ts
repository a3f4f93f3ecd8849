/**
 * The course around the lessons, against a real server and real sandboxes: progress that
 * survives a restart of the server, a lesson with two nodes (a terminal per node, checks on
 * node2), and a lesson's setup button.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Slipway } from '../server/main.ts';
import { learnerCookie, newLearnerId, openTerminal, type TestTerminal } from './support/ws-client.ts';
import { startTestSlipway } from './support/slipway.ts';

const stateDir = mkdtempSync(path.join(os.tmpdir(), 'slipway-course-state-'));
const lessonsDir = mkdtempSync(path.join(os.tmpdir(), 'slipway-course-lessons-'));
mkdirSync(path.join(lessonsDir, 'two-nodes'));
writeFileSync(
  path.join(lessonsDir, 'two-nodes', 'lesson.yaml'),
  `order: 1
nodes: [node1, node2]
setup:
  - node: node2
    run: mkdir -p /tmp/ready && echo set-up > /tmp/ready/marker
steps:
  - id: file-on-node1
    check: test -f /tmp/from-node1 || { echo "no /tmp/from-node1 on $(hostname)"; exit 1; }
    solution: [touch /tmp/from-node1]
  - id: file-on-node2
    node: node2
    check: test -f /tmp/from-node2 || { echo "no /tmp/from-node2 on $(hostname)"; exit 1; }
    solution: [touch /tmp/from-node2]
`,
);
const env = { SLIPWAY_STATE_DIR: stateDir, SLIPWAY_LESSONS_DIR: lessonsDir };
const servers: Slipway[] = [];
afterAll(async () => {
  for (const server of servers) await server.stop().catch(() => undefined);
});

const ready = (t: TestTerminal) => t.waitForMessage('status', (message) => message.phase === 'ready', 90000);
const stepDone = (t: TestTerminal, stepId: string) =>
  t.waitForMessage('checks', (message) => message.results.some((result) => result.stepId === stepId && result.done), 30000);

describe('course', () => {
  const learnerId = newLearnerId();

  it('gives each node of a lesson its own terminal, and checks each step on its node', async () => {
    const slipway = await startTestSlipway(env);
    servers.push(slipway);
    const node1 = openTerminal(slipway.url, { learnerId, lesson: 'two-nodes', node: 'node1' });
    await ready(node1);
    const node2 = openTerminal(slipway.url, { learnerId, lesson: 'two-nodes', node: 'node2' });
    await ready(node2);
    node2.type('echo "I am on $(hostname)"\r');
    await node2.waitFor(() => node2.output().includes('I am on node2'), 10000, 'node2 hostname');
    node2.type('touch /tmp/from-node1\r');
    const afterWrongNode = await node2.waitForMessage('checks', (message) => message.trigger === 'command', 30000);
    expect(afterWrongNode.results.find((result) => result.stepId === 'file-on-node1')?.done).toBe(false);
    node1.send({ type: 'check' });
    const told = await node1.waitForMessage('checks', (message) => message.trigger === 'button');
    expect(told.results.find((result) => result.stepId === 'file-on-node1')?.output).toBe('no /tmp/from-node1 on node1');
    node1.type('touch /tmp/from-node1\r');
    await stepDone(node1, 'file-on-node1');
    node1.socket.close();
    node2.socket.close();
  });

  it('runs the lesson setup when asked, outside the learner\'s shell', async () => {
    const [slipway] = servers;
    const t = openTerminal(slipway!.url, { learnerId, lesson: 'two-nodes', node: 'node2' });
    await ready(t);
    t.send({ type: 'setup' });
    const done = await t.waitForMessage('setup', (message) => message.state !== 'running', 60000);
    expect(done.state).toBe('done');
    t.type('cat /tmp/ready/marker\r');
    await t.waitFor(() => t.output().includes('set-up'), 10000, 'the marker the setup wrote');
    t.socket.close();
  });

  it('keeps progress across a restart of the server', async () => {
    const first = servers.pop()!;
    await first.stop();
    const second = await startTestSlipway(env);
    servers.push(second);
    const progress = await fetch(new URL('/api/progress', second.url), { headers: { cookie: learnerCookie(learnerId) } });
    expect(await progress.json()).toEqual({ lessons: { 'two-nodes': ['file-on-node1'] } });
    // A new sandbox, where the file is gone: the step stays done all the same.
    const t = openTerminal(second.url, { learnerId, lesson: 'two-nodes', node: 'node1' });
    const checks = await t.waitForMessage('checks', undefined, 90000);
    expect(checks.results).toEqual([
      { stepId: 'file-on-node1', done: true, output: '' },
      { stepId: 'file-on-node2', done: false, output: 'no /tmp/from-node2 on node2' },
    ]);
    t.socket.close();
  });
});
