/**
 * Runs a lesson's step checks inside the learner's sandbox: each one a separate,
 * non-interactive exec with a timeout, never through the learner's own shell.
 */
import type { StepSpec } from '../../lessons/schema.ts';
import type { SandboxDriver } from '../sandbox/driver.ts';
import type { StepResult } from '../../protocol/terminal.ts';

const maxReportedOutput = 2000;

export async function runChecks(
  driver: SandboxDriver,
  sessionId: string,
  steps: readonly StepSpec[],
  timeoutMs: number,
): Promise<StepResult[]> {
  const results: StepResult[] = [];
  for (const step of steps) {
    const result = await driver.run(sessionId, step.node, step.check, timeoutMs);
    const output = result.timedOut
      ? `The check did not finish within ${Math.round(timeoutMs / 1000)} s.`
      : result.output.trim().slice(0, maxReportedOutput);
    results.push({ stepId: step.id, done: result.exitCode === 0, output });
  }
  return results;
}
