/**
 * Every lesson can be finished: in a fresh sandbox, each step's check fails before its
 * solution is typed into a real shell and passes after; a lesson's setup builds what it
 * needs. Once per lesson, not per language (the machine part exists once).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCourse } from '../lessons/course.ts';
import { loadConfig } from '../server/config.ts';
import type { Slipway } from '../server/main.ts';
import { verifyLesson } from '../server/lessons/verify.ts';
import { startTestSlipway } from './support/slipway.ts';

const course = await loadCourse(loadConfig().SLIPWAY_LESSONS_DIR);
let slipway: Slipway;

beforeAll(async () => {
  slipway = await startTestSlipway();
});
afterAll(async () => {
  await slipway.stop();
});

describe.each(Object.entries(course))('lesson %s', (slug, lesson) => {
  it('fails each check before its solution and passes it after', { timeout: 600_000 }, async () => {
    const report = await verifyLesson(slipway.runtime.driver, lesson);
    for (const step of report.steps) {
      expect(step.passedBefore, `lesson ${slug}, step ${step.stepId}: the check passes before its solution`).toBe(false);
      expect(step.passedAfter, `lesson ${slug}, step ${step.stepId}: the check fails after its solution:\n${step.checkOutput}\n${step.shellOutput}`).toBe(true);
    }
    expect(report.steps).toHaveLength(lesson.steps.length);
  });

  it.runIf(lesson.setup.length > 0)('sets itself up from a fresh sandbox', { timeout: 600_000 }, async () => {
    const report = await verifyLesson(slipway.runtime.driver, { ...lesson, steps: [] }, { withSetup: true });
    expect(report.setup?.ok, `lesson ${slug}: setup failed:\n${report.setup?.output}`).toBe(true);
  });
});
