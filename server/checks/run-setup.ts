/**
 * A lesson's setup: commands that build, in the learner's sandbox, what the lesson needs from
 * earlier ones (an image, a running registry). Run as separate execs, never through the
 * learner's shell, one after another; the first failure stops it.
 */
import type { LessonSpec } from '../../lessons/schema.ts';
import type { SandboxDriver } from '../sandbox/driver.ts';

const maxReportedOutput = 4000;

export async function runSetup(driver: SandboxDriver, sessionId: string, lesson: LessonSpec): Promise<{ ok: boolean; output: string }> {
  const outputs: string[] = [];
  for (const setup of lesson.setup) {
    const result = await driver.run(sessionId, setup.node, setup.run, lesson.setupTimeoutSeconds * 1000);
    outputs.push(result.output.trim());
    if (result.exitCode !== 0) {
      const why = result.timedOut ? `did not finish within ${lesson.setupTimeoutSeconds} s` : `failed (exit status ${result.exitCode})`;
      return { ok: false, output: `Setup on ${setup.node} ${why}:\n${outputs.join('\n').slice(-maxReportedOutput)}` };
    }
  }
  return { ok: true, output: outputs.join('\n').slice(-maxReportedOutput) };
}
