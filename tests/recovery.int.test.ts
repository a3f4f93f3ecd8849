/**
 * A server that went away without cleaning up (a crash, a kill) gives learners their
 * sandboxes back when it starts again.
 */
import { describe, expect, it } from 'vitest';
import { newLearnerId, openTerminal, type TestTerminal } from './support/ws-client.ts';
import { startTestSlipway } from './support/slipway.ts';

const ready = (t: TestTerminal) => t.waitForMessage('status', (message) => message.phase === 'ready', 60000);

describe('restart', () => {
  it('gives a learner back the sandbox the previous server started', async () => {
    const first = await startTestSlipway();
    const learnerId = newLearnerId();
    const before = openTerminal(first.url, { learnerId });
    await ready(before);
    // The shell computes the marker, so the echo of the typed line cannot match it.
    before.type('docker pull -q busybox >/dev/null && echo pulled-$((6*7))\r');
    await before.waitFor(() => before.output().includes('pulled-42\r\n'), 30000, 'the pull');
    // The server goes away without removing anything, as when it is killed.
    await first.app.close();

    const second = await startTestSlipway({}, { recover: true });
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
