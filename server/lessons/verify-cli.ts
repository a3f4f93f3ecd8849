/**
 * `npm run lesson -- <slug> [--setup]`: runs one lesson's solutions in a fresh sandbox and
 * reports each step, the way CI does; with --setup, runs the lesson's setup instead. Builds
 * the images and starts the mirror if needed.
 */
import { loadCourse } from '../../lessons/course.ts';
import { loadConfig } from '../config.ts';
import { createLogger } from '../log.ts';
import { openBackend } from '../sandbox/backend.ts';
import { verifyLesson } from './verify.ts';

const args = process.argv.slice(2);
const slug = args.find((arg) => !arg.startsWith('--'));
const config = loadConfig();
const course = await loadCourse(config.SLIPWAY_LESSONS_DIR);
if (!slug || !course[slug]) {
  process.stderr.write(`usage: npm run lesson -- <lesson> [--setup]\nlessons: ${Object.keys(course).join(', ')}\n`);
  process.exit(2);
}
const runtime = await openBackend(config, createLogger('warn'));
process.stdout.write(`lesson ${slug}: ${course[slug].steps.length} steps on ${course[slug].nodes.join(', ')}\n`);
// --setup checks the setup alone, in a fresh sandbox of its own, as CI does: after it, the
// steps it builds for would pass before their solutions, which is what a setup is for.
const withSetup = args.includes('--setup');
const report = await verifyLesson(runtime.driver, withSetup ? { ...course[slug], steps: [] } : course[slug], {
  withSetup,
  onStep: (step) => {
    const verdict = step.passedBefore ? 'FAIL (the check passed before the solution)' : step.passedAfter ? 'ok' : 'FAIL (the check fails after the solution)';
    process.stdout.write(`  ${step.stepId} [${step.node}] ${verdict} (${step.ms} ms)\n`);
    if (!step.passedAfter) process.stdout.write(`    check said: ${step.checkOutput || '(nothing)'}\n    shell:\n${step.shellOutput.replace(/^/gm, '      ')}\n`);
  },
});
if (report.setup) process.stdout.write(`  setup: ${report.setup.ok ? 'ok' : `FAIL\n${report.setup.output}`}\n`);
process.stdout.write(report.ok ? `lesson ${slug}: every step can be done\n` : `lesson ${slug}: FAILED\n`);
process.exit(report.ok ? 0 : 1);
