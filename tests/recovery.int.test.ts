/**
 * A server that went away without cleaning up (a crash, a kill) gives learners their
 * sandboxes back when it starts again.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../server/config.ts';
import { createLogger } from '../server/log.ts';
import { startSlipway } from '../server/main.ts';
import { newLearnerId, openTerminal, type TestTerminal } from './support/ws-client.ts';
import { startTestSlipway, testInstance } from './support/slipway.ts';

const ready = (t: TestTerminal) => t.waitForMessage('status', (message) => message.phase === 'ready', 60000);

describe('restart', () => {
  it('gives a learner back the sandbox the previous server started', async () => {
    const first = await startTestSlipway();
    const learnerId = newLearnerId();
    const before = openTerminal(first.url, { learnerId });
    await ready(before);
    before.type('docker pull -q busybox >/dev/null && echo pulled-before-the-crash\r');
    await before.waitFor(() => before.output().includes('pulled-before-the-crash\r\n'), 30000, 'the pull');
    // The server goes away without removing anything, as when it is killed.
    await first.app.close();

    const config = loadConfig({
      ...process.env,
      SLIPWAY_INSTANCE: testInstance(),
      SLIPWAY_HOST: '127.0.0.1',
      SLIPWAY_PORT: '0',
      SLIPWAY_LOG_LEVEL: 'warn',
    });
    const second = await startSlipway(config, createLogger('warn'), { recover: true });
    try {
      const after = openTerminal(second.url, { learnerId });
      await ready(after);
      expect(after.messages.some((message) => message.type === 'status' && message.phase === 'starting')).toBe(false);
      after.type('docker images --format "{{.Repository}}"\r');
      await after.waitFor(() => after.output().includes('busybox\r\n'), 10000, 'the image pulled before the restart');
      after.socket.close();
    } finally {
      await second.stop();
    }
  });
});
