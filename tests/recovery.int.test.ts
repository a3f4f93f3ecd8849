/**
 * A server that went away without cleaning up (a crash, a kill) gives learners their
 * sandboxes back when it starts again, and their shells: the node holds each shell (dtach), so
 * the programs in it keep running and the page attaches again.
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

  it('gives a learner back their shell with its program still running, and ends the shells nobody came back for', async () => {
    const first = await startTestSlipway();
    const learnerId = newLearnerId();
    const kept = openTerminal(first.url, { learnerId });
    const abandoned = openTerminal(first.url, { learnerId });
    await Promise.all([ready(kept), ready(abandoned)]);
    const keptShell = await kept.waitForMessage('shell');
    const abandonedShell = await abandoned.waitForMessage('shell');
    // A shell variable and a program in the foreground: both live only in that shell.
    kept.type('MARK=$((6*7)); for i in $(seq 1 600); do echo tick-$i; sleep 0.1; done\r');
    await kept.waitFor(() => kept.output().includes('tick-3\r\n'), 10000, 'the first ticks');
    await first.app.close();

    const second = await startTestSlipway({ SLIPWAY_RESUME_SECONDS: '3' }, { recover: true });
    try {
      const offset = kept.outputBytes();
      const after = openTerminal(second.url, { learnerId, resume: { shellId: keptShell.id, offset } });
      await ready(after);
      const shell = await after.waitForMessage('shell');
      expect(shell).toMatchObject({ id: keptShell.id, resumed: true, reset: false, offset });
      // The loop went on while no server listened, and its output flows again.
      const tick = () => Math.max(0, ...[...after.output().matchAll(/tick-(\d+)\r\n/g)].map((match) => Number(match[1])));
      const lastBefore = Math.max(...[...kept.output().matchAll(/tick-(\d+)\r\n/g)].map((match) => Number(match[1])));
      await after.waitFor(() => tick() > lastBefore + 5, 10000, 'ticks after the restart');
      expect(after.output()).not.toContain('dtach');
      after.type('\x03');
      after.type('echo mark-$MARK\r');
      await after.waitFor(() => after.output().includes('mark-42\r\n'), 10000, 'the shell variable set before the restart');

      // The abandoned shell's page never came back: after the resume time it is ended.
      const session = [...(await second.runtime.driver.list())].find((info) => info.learnerId === learnerId);
      expect(session).toBeDefined();
      const held = async () => (await second.runtime.driver.run(session!.sessionId, 'node1', 'ls "$XDG_RUNTIME_DIR/shells"', 5000)).output;
      expect(await held()).toContain(`${abandonedShell.id}.sock`);
      let finalList = await held();
      for (let waited = 0; finalList.includes(`${abandonedShell.id}.sock`) && waited < 15000; waited += 500) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        finalList = await held();
      }
      expect(finalList).not.toContain(`${abandonedShell.id}.sock`);
      expect(finalList).toContain(`${keptShell.id}.sock`);
      after.socket.close();
    } finally {
      await second.stop();
    }
  });
});
