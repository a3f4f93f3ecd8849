/**
 * The warm pool on a real engine: a new learner takes a sandbox that was already started, and
 * keeps it across a server restart (the claim is recorded in the engine, not in memory).
 */
import { describe, expect, it } from 'vitest';
import { newLearnerId, openTerminal, type TestTerminal } from './support/ws-client.ts';
import { startTestSlipway } from './support/slipway.ts';

const ready = (t: TestTerminal) => t.waitForMessage('status', (message) => message.phase === 'ready', 60000);

async function poolReady(slipway: Awaited<ReturnType<typeof startTestSlipway>>, count: number): Promise<void> {
  for (let waited = 0; slipway.sessions.pooled < count && waited < 60000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
  expect(slipway.sessions.pooled).toBe(count);
}

describe('warm pool', () => {
  it('gives a new learner a ready sandbox at once, refills, and the learner keeps it after a restart', async () => {
    const first = await startTestSlipway({ SLIPWAY_POOL_SIZE: '1' });
    const learnerId = newLearnerId();
    try {
      await poolReady(first, 1);
      const before = Date.now();
      const terminal = openTerminal(first.url, { learnerId });
      await ready(terminal);
      const elapsed = Date.now() - before;
      // No start: the sandbox was ready before the learner came.
      expect(terminal.messages.some((message) => message.type === 'status' && (message.phase === 'starting' || message.phase === 'waiting-engine'))).toBe(false);
      terminal.type('docker info --format "{{.ServerVersion}}" >/dev/null && echo engine-$((6*7))\r');
      await terminal.waitFor(() => terminal.output().includes('engine-42\r\n'), 20000, 'the engine in the pooled sandbox');
      console.log(`pooled sandbox to ready: ${elapsed} ms`);
      await poolReady(first, 1);
      const sandboxes = await first.runtime.driver.list();
      const mine = sandboxes.find((info) => info.learnerId === learnerId);
      expect(mine).toBeDefined();
      expect(sandboxes.filter((info) => info.learnerId === '')).toHaveLength(1);
      terminal.socket.close();
    } finally {
      // Gone without cleaning up, as after a crash.
      await first.app.close();
    }

    const mineAfterCrash = (await first.runtime.driver.list()).find((info) => info.learnerId === learnerId);
    const second = await startTestSlipway({ SLIPWAY_POOL_SIZE: '1' }, { recover: true });
    try {
      expect(second.sessions.pooled).toBe(1);
      const again = openTerminal(second.url, { learnerId });
      await ready(again);
      expect(again.messages.some((message) => message.type === 'status' && message.phase === 'starting')).toBe(false);
      again.socket.close();
    } finally {
      await second.stop();
    }
    // Ctrl-C removes them all: the learner's, with its claim, and the pool's.
    const left = await second.runtime.driver.list();
    expect(left.find((info) => info.sessionId === mineAfterCrash?.sessionId)).toBeUndefined();
    expect(left.filter((info) => info.learnerId === '')).toEqual([]);
  });
});
