/**
 * A workshop's start: a teacher creates a workshop of N seats starting now, the warm pool fills
 * to N (timed), then N learners join in the same second and open their terminals at once; each
 * one's wait from opening the socket to a prompt is timed, and the pool's hits counted. Slipway
 * in-process (instance `bench`), loopback only, everything removed at the end.
 *
 *   node bench/workshop.ts [--seats N]
 */
import { performance } from 'node:perf_hooks';
import { testTeacherKey } from '../tests/support/secret.ts';
import { learnerCookie, newLearnerId } from '../tests/support/ws-client.ts';
import { connect, waitForIdlePrompt } from './terminal-client.ts';
import { BenchError, loopbackUrl, median, parseCountOption, percentile, runBench, sortedCopy, type BenchRun, type Table } from './support.ts';

const lesson = 'hello-world';
const prompt = 'root@node1';
const seatsOption = { name: 'seats', defaultValue: 30, min: 1, max: 100, usage: 'Usage: node bench/workshop.ts [--seats N]   (default 30)' };
const seats = parseCountOption(process.argv.slice(2), seatsOption);

const results: { warmMs?: number; waits: number[]; hits?: number } = { waits: [] };

async function teacherPost<T>(base: URL, route: string, body: unknown): Promise<T> {
  const response = await fetch(new URL(route, base), { method: 'POST', headers: { authorization: `Bearer ${testTeacherKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) throw new BenchError(`${route} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

async function body(bench: BenchRun): Promise<void> {
  const base = loopbackUrl(bench.slipway);
  const { workshop } = await teacherPost<{ workshop: { id: string; code: string } }>(base, '/api/teach/workshops', {
    title: 'Benchmark workshop',
    lessons: [lesson],
    seats,
    startsAt: Date.now(),
    endsAt: Date.now() + 3600_000,
  });
  bench.closeAtEnd('the workshop', () => teacherPost(base, `/api/teach/workshops/${workshop.id}/end`, {}));
  process.stdout.write(`Warming the pool to ${seats} sandboxes… `);
  const warming = performance.now();
  while (bench.slipway.sessions.pooled < seats) {
    bench.interrupts.checkpoint();
    if (performance.now() - warming > 30 * 60_000) throw new BenchError(`The pool reached only ${bench.slipway.sessions.pooled} of ${seats} in 30 minutes.`);
    await bench.interrupts.sleep(200);
  }
  results.warmMs = performance.now() - warming;
  console.log(`${(results.warmMs / 1000).toFixed(1)} s`);

  const learners = Array.from({ length: seats }, (_, index) => ({ id: newLearnerId(), name: `Learner ${index + 1}` }));
  for (const learner of learners) {
    const response = await fetch(new URL('/api/join', base), { method: 'POST', headers: { cookie: learnerCookie(learner.id), 'content-type': 'application/json' }, body: JSON.stringify({ code: workshop.code, name: learner.name }) });
    if (!response.ok) throw new BenchError(`Joining answered ${response.status}: ${await response.text()}`);
  }
  process.stdout.write(`${seats} learners open their terminals at once… `);
  await Promise.all(
    learners.map(async (learner) => {
      const opened = performance.now();
      const terminal = await connect(base, learner.id, { lesson, cols: 120, rows: 40 });
      bench.closeAtEnd('a terminal socket', () => terminal.close());
      await terminal.waitFor(() => terminal.tail().includes(prompt), 300_000, `${learner.name}'s prompt`);
      results.waits.push(performance.now() - opened);
      await waitForIdlePrompt(terminal, prompt, 120_000);
    }),
  );
  const metrics = await (await fetch(new URL('/metrics', base), { headers: { authorization: `Bearer ${testTeacherKey}` } })).text();
  results.hits = Number(/^slipway_pool_takes_total\{result="hit"\} (\S+)$/m.exec(metrics)?.[1] ?? 0);
  console.log('all at their prompts');
}

function tables(): Table[] {
  const waits = sortedCopy(results.waits);
  const ms = (value: number | undefined) => (value === undefined ? '' : value.toFixed(0));
  return [
    {
      title: `A workshop of ${seats} seats`,
      header: ['metric', 'value'],
      rows: [
        ['pool warmed to the seats (s, two sandboxes starting at a time)', results.warmMs === undefined ? '' : (results.warmMs / 1000).toFixed(1)],
        [`learners who opened their terminal at the same moment`, String(waits.length)],
        ['socket open to prompt, median (ms)', ms(waits.length ? median(waits) : undefined)],
        ['socket open to prompt, p90 (ms)', ms(waits.length ? percentile(waits, 90) : undefined)],
        ['socket open to prompt, slowest (ms)', ms(waits.at(-1))],
        ['sandboxes taken from the pool', results.hits === undefined ? '' : String(results.hits)],
      ],
    },
  ];
}

runBench({
  env: { SLIPWAY_MAX_SANDBOXES: String(seats + 2), SLIPWAY_SANDBOXES_PER_ADDRESS: String(seats + 2) },
  options: () => seats,
  body: (bench) => body(bench),
  report: tables,
});
