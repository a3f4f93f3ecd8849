/**
 * Proves a lesson can be finished: in a fresh sandbox, each step's check fails before its
 * solution is typed into a real shell on the step's node, and passes after. CI runs it for
 * every lesson (tests/lesson-solutions.int.test.ts); authors run it for one
 * (`npm run lesson -- <slug>`, server/lessons/verify-cli.ts).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { LessonSpec } from '../../lessons/schema.ts';
import { runChecks } from '../checks/run-checks.ts';
import { runSetup } from '../checks/run-setup.ts';
import type { SandboxDriver, Shell } from '../sandbox/driver.ts';
import { typingShell, type TypingShell } from './typing-shell.ts';

export interface StepReport {
  stepId: string;
  node: string;
  /** The check passed before the solution was typed (it checks nothing the step does). */
  passedBefore: boolean;
  passedAfter: boolean;
  /** What the check printed after the solution, and the end of the shell's output. */
  checkOutput: string;
  shellOutput: string;
  ms: number;
}

export interface LessonReport {
  ok: boolean;
  setup?: { ok: boolean; output: string };
  steps: StepReport[];
}

export interface VerifyOptions {
  checkTimeoutMs?: number;
  /** Called after each step, for progress output. */
  onStep?: (report: StepReport) => void;
  /** Run the lesson's setup first, as the Set up button would (proves the setup works). */
  withSetup?: boolean;
}

export async function verifyLesson(driver: SandboxDriver, lesson: LessonSpec, options: VerifyOptions = {}): Promise<LessonReport> {
  const sessionId = randomBytes(6).toString('hex');
  const timeoutMs = options.checkTimeoutMs ?? 20000;
  await driver.start({ sessionId, learnerId: 'lesson-verify', nodes: lesson.nodes }, () => undefined);
  const opened: Shell[] = [];
  const shells = new Map<string, TypingShell>();
  const shellOn = async (node: string) => {
    let shell = shells.get(node);
    if (!shell) {
      const raw = await driver.openShell(sessionId, node, { cols: 160, rows: 40, id: randomUUID() });
      opened.push(raw);
      shell = await typingShell(raw);
      shells.set(node, shell);
    }
    return shell;
  };
  const report: LessonReport = { ok: true, steps: [] };
  try {
    if (options.withSetup && lesson.setup.length > 0) {
      report.setup = await runSetup(driver, sessionId, lesson);
      if (!report.setup.ok) return { ...report, ok: false };
    }
    for (const step of lesson.steps) {
      const began = Date.now();
      const shell = await shellOn(step.node);
      const [before] = await runChecks(driver, sessionId, [step], timeoutMs);
      for (const command of step.solution) await shell.type(command, 180_000);
      const [after] = await runChecks(driver, sessionId, [step], timeoutMs);
      const stepReport: StepReport = {
        stepId: step.id,
        node: step.node,
        passedBefore: before?.done ?? false,
        passedAfter: after?.done ?? false,
        checkOutput: after?.output ?? '',
        shellOutput: shell.output().slice(-1500),
        ms: Date.now() - began,
      };
      report.steps.push(stepReport);
      options.onStep?.(stepReport);
      if (stepReport.passedBefore || !stepReport.passedAfter) report.ok = false;
    }
    return report;
  } finally {
    await Promise.all(opened.map((shell) => shell.close().catch(() => undefined)));
    await driver.stop(sessionId);
  }
}
