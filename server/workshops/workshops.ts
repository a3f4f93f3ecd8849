/**
 * Classroom workshops, live: who joined, how far each learner got, who is stuck, each
 * sandbox's state, the teacher's message to everyone, and the workshop's clock (a pool warmed
 * before it starts, sandboxes removed when it ends). The store keeps what must survive a
 * restart; the rest (failing streaks, open pages, dashboards) lives here.
 */
import type { Course } from '../../lessons/schema.ts';
import type { StepResult } from '../../protocol/terminal.ts';
import type { Logger } from '../log.ts';
import type { SandboxState, SessionManager } from '../sessions/session-manager.ts';
import type { ProgressStore } from '../store/progress-store.ts';
import type { SandboxDriver } from '../sandbox/driver.ts';
import type { JoinResult, Workshop, WorkshopStore, workshopInputSchema } from './workshop-store.ts';
import type { z } from 'zod';

/** What a learner's page gets from its workshop: the teacher's messages. */
export interface LearnerChannel {
  notice(text: string, at: number): void;
}

export interface StuckInfo {
  /** `idle`: no step done for a while; `failing`: the same step's check failed again and again. */
  reason: 'idle' | 'failing';
  lesson?: string;
  step?: string;
  /** How many checks of that step failed in a row. */
  failures?: number;
  /** What the failing check printed last. */
  output?: string;
  /** Since when (ms since 1970). */
  since: number;
}

export interface LearnerRow {
  learnerId: string;
  name: string;
  joinedAt: number;
  sandbox: SandboxState;
  /** Place in the waiting line, when queued. */
  place: number | undefined;
  /** Whether a page of theirs is open. */
  online: boolean;
  /** When the kernel last killed a process in their sandbox at its memory limit (shown for a while). */
  outOfMemoryAt: number | undefined;
  /** Done steps by lesson (only the workshop's lessons). */
  done: Record<string, string[]>;
  lastProgressAt: number | undefined;
  stuck: StuckInfo | undefined;
}

export interface Snapshot {
  workshop: Workshop;
  now: number;
  state: 'upcoming' | 'running' | 'ended';
  lessons: { slug: string; steps: string[] }[];
  learners: LearnerRow[];
  waiting: number;
  pooled: number;
  poolTarget: number;
}

export interface WorkshopsOptions {
  store: WorkshopStore;
  progress: ProgressStore;
  sessions: SessionManager;
  course: Course;
  log: Logger;
  /** Where out-of-memory kills in sandboxes are heard of. */
  driver?: Pick<SandboxDriver, 'onOutOfMemory'>;
  clock?: () => number;
  /** No step done for this long counts as stuck (default 10 minutes). */
  idleStuckMs?: number;
  /** This many failed checks of the same step in a row count as stuck (default 3). */
  failuresStuck?: number;
  /** The pool is warmed this long before a workshop starts (default 10 minutes). */
  warmBeforeMs?: number;
  /** How often the workshops' clocks are looked at (default 15 s). */
  tickMs?: number;
}

interface Streak {
  lesson: string;
  step: string;
  failures: number;
  output: string;
  since: number;
}

export class Workshops {
  readonly #options: WorkshopsOptions;
  readonly #clock: () => number;
  /** Learners' open pages, for the teacher's messages. */
  readonly #channels = new Map<string, Set<LearnerChannel>>();
  /** The step each learner's checks keep failing on, by learner. */
  readonly #streaks = new Map<string, Streak>();
  /** Dashboards listening, by workshop. */
  readonly #listeners = new Map<string, Set<() => void>>();
  readonly #ticker: NodeJS.Timeout;
  /** Workshops whose sandboxes were removed at their end, so it happens once. */
  readonly #closedDown = new Set<string>();
  /** The last out-of-memory kill in each learner's sandbox. */
  readonly #outOfMemory = new Map<string, number>();
  readonly #stopOomWatch: () => void;

  constructor(options: WorkshopsOptions) {
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
    this.#ticker = setInterval(() => void this.tick(), options.tickMs ?? 15_000);
    this.#ticker.unref();
    this.#stopOomWatch =
      options.driver?.onOutOfMemory((sessionId) => {
        const learnerId = options.sessions.ownerOf(sessionId);
        if (!learnerId) return;
        this.#outOfMemory.set(learnerId, this.#clock());
        const workshop = this.seatOf(learnerId);
        if (workshop) this.#changed(workshop.id);
      }) ?? (() => undefined);
  }

  get store(): WorkshopStore {
    return this.#options.store;
  }

  create(input: z.output<typeof workshopInputSchema>): Workshop {
    const unknown = input.lessons.filter((slug) => !Object.hasOwn(this.#options.course, slug));
    if (unknown.length > 0) throw new WorkshopError(`There is no lesson called ${unknown.join(', ')}.`);
    const workshop = this.#options.store.create(input);
    this.#options.log.info('workshop created', { workshop: workshop.id, seats: workshop.seats });
    void this.tick();
    return workshop;
  }

  /** The open workshop (started or about to) this learner has a seat in. */
  seatOf(learnerId: string): Workshop | undefined {
    return this.#options.store.workshopsOf(learnerId, this.#clock())[0];
  }

  join(code: string, learnerId: string, name: string): { workshop: Workshop; result: JoinResult } | undefined {
    const workshop = this.#options.store.byCode(code);
    if (!workshop) return undefined;
    const result = this.#options.store.join(workshop, learnerId, name, this.#clock());
    if (result.ok) {
      this.#options.log.info(result.rejoined ? 'learner rejoined a workshop by name' : 'learner joined a workshop', { workshop: workshop.id });
      this.#changed(workshop.id);
    }
    return { workshop, result };
  }

  /** A learner's page opened: it gets the teacher's latest message, and later ones. */
  connect(learnerId: string, channel: LearnerChannel): () => void {
    const channels = this.#channels.get(learnerId) ?? new Set();
    channels.add(channel);
    this.#channels.set(learnerId, channels);
    const workshop = this.seatOf(learnerId);
    if (workshop?.message) channel.notice(workshop.message.text, workshop.message.at);
    if (workshop) this.#changed(workshop.id);
    return () => {
      channels.delete(channel);
      if (channels.size === 0) this.#channels.delete(learnerId);
      if (workshop) this.#changed(workshop.id);
    };
  }

  /** A check run's results for a learner: progress, and failing streaks for "stuck". */
  checked(learnerId: string, lesson: string, trigger: 'connect' | 'command' | 'button', results: StepResult[]): void {
    const workshop = this.seatOf(learnerId);
    if (!workshop || !workshop.lessons.includes(lesson)) return;
    const firstPending = results.find((result) => !result.done);
    const streak = this.#streaks.get(learnerId);
    if (!firstPending) this.#streaks.delete(learnerId);
    else if (trigger !== 'connect') {
      // A failure counts when the learner did something (a command, the Check button).
      const same = streak && streak.lesson === lesson && streak.step === firstPending.stepId;
      this.#streaks.set(learnerId, {
        lesson,
        step: firstPending.stepId,
        failures: same ? streak.failures + 1 : 1,
        output: firstPending.output.slice(0, 2000),
        since: same ? streak.since : this.#clock(),
      });
    }
    this.#changed(workshop.id);
  }

  async snapshot(workshopId: string): Promise<Snapshot | undefined> {
    const workshop = this.#options.store.get(workshopId);
    if (!workshop) return undefined;
    const now = this.#clock();
    const { sessions, course, progress } = this.#options;
    const lessons = workshop.lessons.filter((slug) => Object.hasOwn(course, slug)).map((slug) => ({ slug, steps: course[slug]!.steps.map((step) => step.id) }));
    const total = lessons.reduce((sum, lesson) => sum + lesson.steps.length, 0);
    const state = stateOf(workshop, now);
    const learners: LearnerRow[] = [];
    for (const member of this.#options.store.members(workshop.id)) {
      const times = (await progress.doneTimes(member.learnerId)).filter((entry) => workshop.lessons.includes(entry.lesson));
      const done: Record<string, string[]> = {};
      for (const entry of times) (done[entry.lesson] ??= []).push(entry.step);
      const lastProgressAt = times.at(-1)?.doneAt;
      const streak = this.#streaks.get(member.learnerId);
      const quietSince = Math.max(member.joinedAt, workshop.startsAt, lastProgressAt ?? 0);
      let stuck: StuckInfo | undefined;
      if (state === 'running' && times.length < total) {
        if (streak && streak.failures >= (this.#options.failuresStuck ?? 3)) {
          stuck = { reason: 'failing', lesson: streak.lesson, step: streak.step, failures: streak.failures, output: streak.output, since: streak.since };
        } else if (now - quietSince >= (this.#options.idleStuckMs ?? 10 * 60_000)) {
          stuck = { reason: 'idle', since: quietSince };
        }
      }
      learners.push({
        learnerId: member.learnerId,
        name: member.name,
        joinedAt: member.joinedAt,
        sandbox: sessions.stateOf(member.learnerId),
        place: sessions.placeOf(member.learnerId),
        online: this.#channels.has(member.learnerId),
        outOfMemoryAt: recent(this.#outOfMemory.get(member.learnerId), now),
        done,
        lastProgressAt,
        stuck,
      });
    }
    return { workshop, now, state, lessons, learners, waiting: sessions.waiting, pooled: sessions.pooled, poolTarget: sessions.poolTarget };
  }

  /** Calls `listener` whenever something on the workshop's dashboard may have changed. */
  subscribe(workshopId: string, listener: () => void): () => void {
    const listeners = this.#listeners.get(workshopId) ?? new Set();
    listeners.add(listener);
    this.#listeners.set(workshopId, listeners);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0) this.#listeners.delete(workshopId);
    };
  }

  /** The teacher's message: on every member's open page now, and on pages opened later. */
  message(workshopId: string, text: string): number {
    const workshop = this.#options.store.get(workshopId);
    if (!workshop) return 0;
    const at = this.#clock();
    this.#options.store.setMessage(workshopId, text, at);
    let reached = 0;
    for (const member of this.#options.store.members(workshopId)) {
      for (const channel of this.#channels.get(member.learnerId) ?? []) {
        channel.notice(text, at);
        reached += 1;
      }
    }
    this.#options.log.info('workshop message sent', { workshop: workshopId, pages: reached });
    this.#changed(workshopId);
    return reached;
  }

  /** Removes a member's sandbox; their page reconnects to a new one, with their progress kept. */
  async reset(workshopId: string, learnerId: string): Promise<boolean> {
    if (!this.#options.store.members(workshopId).some((member) => member.learnerId === learnerId)) return false;
    this.#streaks.delete(learnerId);
    await this.#options.sessions.endFor(learnerId);
    this.#options.log.info('sandbox reset by the teacher', { workshop: workshopId });
    this.#changed(workshopId);
    return true;
  }

  extend(workshopId: string, minutes: number): Workshop | undefined {
    const workshop = this.#options.store.get(workshopId);
    if (!workshop) return undefined;
    const from = Math.max(workshop.endsAt, this.#clock());
    this.#options.store.extend(workshopId, from + minutes * 60_000);
    this.#closedDown.delete(workshopId);
    this.#changed(workshopId);
    void this.tick();
    return this.#options.store.get(workshopId);
  }

  async end(workshopId: string): Promise<Workshop | undefined> {
    if (!this.#options.store.get(workshopId)) return undefined;
    this.#options.store.end(workshopId, this.#clock());
    await this.tick();
    return this.#options.store.get(workshopId);
  }

  /** Keeps as many sandboxes ready as the workshop has seats nobody has taken a sandbox for yet. */
  warm(workshopId: string): void {
    const workshop = this.#options.store.get(workshopId);
    if (workshop) this.#warm([workshop]);
  }

  /**
   * The clock: warms the pool for workshops about to start or running, puts it back when none
   * is, and at a workshop's end removes its members' sandboxes (their progress stays).
   */
  async tick(): Promise<void> {
    const now = this.#clock();
    const soon = this.#options.store.open(now).filter((workshop) => workshop.startsAt - (this.#options.warmBeforeMs ?? 10 * 60_000) <= now);
    this.#warm(soon);
    for (const workshop of this.#options.store.list()) {
      if (stateOf(workshop, now) !== 'ended' || this.#closedDown.has(workshop.id)) continue;
      this.#closedDown.add(workshop.id);
      if (workshop.endsAt < now - 24 * 3600_000 && workshop.endedAt === undefined) continue; // long over before this run
      const members = this.#options.store.members(workshop.id);
      for (const member of members) {
        if (this.seatOf(member.learnerId)) continue; // a seat in another workshop still running
        for (const channel of this.#channels.get(member.learnerId) ?? []) channel.notice(workshopEndedNotice, now);
        await this.#options.sessions.endFor(member.learnerId);
      }
      this.#options.log.info('workshop ended; its sandboxes removed', { workshop: workshop.id, learners: members.length });
      this.#changed(workshop.id);
    }
  }

  #warm(workshops: Workshop[]): void {
    const { sessions, store } = this.#options;
    let wanted = 0;
    for (const workshop of workshops) {
      const members = store.members(workshop.id);
      const withSandbox = members.filter((member) => sessions.stateOf(member.learnerId) !== 'none').length;
      wanted += Math.max(0, workshop.seats - withSandbox);
    }
    sessions.setPoolTarget(wanted);
  }

  /** Results as CSV: one row per learner, a column per step (when it was done), and totals. */
  async csv(workshopId: string): Promise<string | undefined> {
    const snapshot = await this.snapshot(workshopId);
    if (!snapshot) return undefined;
    const steps = snapshot.lessons.flatMap((lesson) => lesson.steps.map((step) => ({ lesson: lesson.slug, step })));
    const header = ['name', 'joined', 'steps done', 'steps', ...steps.map(({ lesson, step }) => `${lesson}/${step}`)];
    const rows = [header];
    for (const learner of snapshot.learners) {
      const times = new Map(
        (await this.#options.progress.doneTimes(learner.learnerId)).map((entry) => [`${entry.lesson}/${entry.step}`, new Date(entry.doneAt).toISOString()]),
      );
      const cells = steps.map(({ lesson, step }) => times.get(`${lesson}/${step}`) ?? '');
      rows.push([learner.name, new Date(learner.joinedAt).toISOString(), String(cells.filter(Boolean).length), String(steps.length), ...cells]);
    }
    return rows.map((row) => row.map(csvCell).join(',')).join('\r\n') + '\r\n';
  }

  #changed(workshopId: string): void {
    for (const listener of this.#listeners.get(workshopId) ?? []) listener();
  }

  close(): void {
    this.#stopOomWatch();
    clearInterval(this.#ticker);
    this.#listeners.clear();
  }
}

export class WorkshopError extends Error {}

/** Said on every member's page when the workshop ends (in both languages: the server does not know the page's). */
export const workshopEndedNotice = 'The workshop has ended; your progress is kept. 工作坊已结束，你的进度已保存。';

/** An out-of-memory kill is shown on the dashboard for this long. */
const outOfMemoryShownMs = 10 * 60_000;
const recent = (at: number | undefined, now: number) => (at !== undefined && now - at < outOfMemoryShownMs ? at : undefined);

export function stateOf(workshop: Workshop, now: number): Snapshot['state'] {
  if (workshop.endedAt !== undefined || workshop.endsAt <= now) return 'ended';
  return workshop.startsAt > now ? 'upcoming' : 'running';
}

/**
 * One CSV cell (RFC 4180), and no formula: a name a learner typed as `=HYPERLINK(...)` must not
 * run in the teacher's spreadsheet, so a cell starting with = + - @ gets a leading apostrophe.
 */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
