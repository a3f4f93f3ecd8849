/**
 * Checks see the sandbox as it is, not as the learner's shell is made to show it: a fake
 * `docker` bind-mounted in the learner's namespace fools their shell but not the checks.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCourse } from '../lessons/course.ts';
import { runChecks } from '../server/checks/run-checks.ts';
import { loadConfig } from '../server/config.ts';
import { typingShell } from '../server/lessons/typing-shell.ts';
import type { Slipway } from '../server/main.ts';
import { startTestSlipway } from './support/slipway.ts';

let slipway: Slipway;
beforeAll(async () => {
  slipway = await startTestSlipway();
});
afterAll(async () => {
  await slipway.stop();
});

describe('checks', () => {
  it('are not fooled by a fake docker in the learner\'s mount namespace', async () => {
    const driver = slipway.runtime.driver;
    const course = await loadCourse(loadConfig().SLIPWAY_LESSONS_DIR);
    const lesson = course['hello-world']!;
    const sessionId = randomBytes(6).toString('hex');
    await driver.start({ sessionId, learnerId: 'check-faker', nodes: ['node1'] }, () => undefined);
    const raw = await driver.openShell(sessionId, 'node1', { cols: 120, rows: 40, id: randomUUID() });
    try {
      const shell = await typingShell(raw);
      await shell.type(`printf '#!/bin/sh\\necho "CONTAINER ID  IMAGE\\nf00  hello-world"\\n' > /tmp/fake-docker && chmod +x /tmp/fake-docker`);
      await shell.type('mount --bind /tmp/fake-docker /usr/bin/docker');
      // Control: in the learner's own view, docker is now the fake.
      const seen = await shell.type('docker ps -a --filter ancestor=hello-world');
      expect(seen).toContain('f00  hello-world');
      const [result] = await runChecks(driver, sessionId, [lesson.steps.find((step) => step.id === 'run-hello-world')!], 10000);
      expect(result?.done).toBe(false);
      expect(result?.output).toMatch(/No container made from the hello-world image/);
    } finally {
      await raw.close();
      await driver.stop(sessionId);
    }
  });
});
