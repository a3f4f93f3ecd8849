/**
 * Every lesson can be finished: in a fresh sandbox, each step's check fails before its
 * solution is typed into a real shell and passes after.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../server/config.ts';
import { runChecks } from '../server/checks/run-checks.ts';
import { loadCatalog } from '../server/lessons/catalog.ts';
import type { Slipway } from '../server/main.ts';
import path from 'node:path';
import { startTestSlipway } from './support/slipway.ts';
import { typingShell } from './support/shell.ts';

const catalog = await loadCatalog(path.join(projectRoot, 'dist'));
let slipway: Slipway;

beforeAll(async () => {
  slipway = await startTestSlipway();
});
afterAll(async () => {
  await slipway.stop();
});

describe.each(Object.entries(catalog))('lesson %s', (_lessonId, lesson) => {
  it('fails each check before its solution and passes it after', async () => {
    const driver = slipway.runtime.driver;
    const sessionId = randomBytes(6).toString('hex');
    await driver.start({ sessionId, learnerId: 'lesson-test', nodes: lesson.nodes }, () => undefined);
    const opened = await driver.openShell(sessionId, lesson.nodes[0] ?? 'node1', { cols: 120, rows: 40 });
    try {
      const shell = await typingShell(opened);
      for (const step of lesson.steps) {
        const [before] = await runChecks(driver, sessionId, [step], 10000);
        expect(before?.done, `step ${step.id} passes before its solution`).toBe(false);
        for (const command of step.solution) await shell.type(command);
        const [after] = await runChecks(driver, sessionId, [step], 10000);
        expect(after?.done, `step ${step.id} fails after its solution:\n${after?.output}\n${shell.output().slice(-1500)}`).toBe(true);
      }
    } finally {
      await opened.close();
      await driver.stop(sessionId);
    }
  });
});
