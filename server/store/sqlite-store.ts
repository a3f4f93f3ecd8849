/**
 * Progress in an embedded SQLite file (Node's built-in node:sqlite: no native module to
 * build). Writes are single statements in WAL mode, so a crash loses at most the step being
 * written and a restart finds everything else.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { DatabaseSync as DatabaseSyncType } from 'node:sqlite';
import { SlipwayError } from '../errors.ts';
import type { DoneStep, ProgressStore } from './progress-store.ts';

/**
 * node:sqlite, loaded without its "experimental" warning: Node 22 prints one on first load,
 * and an operator's terminal (and the one-sentence start-up errors) should not show it.
 */
function loadSqlite(): typeof import('node:sqlite') {
  const emitWarning = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    if (String(warning instanceof Error ? warning.message : warning).includes('SQLite')) return;
    (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return createRequire(import.meta.url)('node:sqlite') as typeof import('node:sqlite');
  } finally {
    process.emitWarning = emitWarning;
  }
}
const { DatabaseSync } = loadSqlite();

/**
 * Opens (or creates) the database file in WAL mode and makes sure `schema` exists; a file that
 * cannot be opened is named, with what to check.
 */
export function openDatabase(file: string, schema: string): DatabaseSyncType {
  try {
    if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
    const db = new DatabaseSync(file);
    db.exec(`PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; ${schema}`);
    return db;
  } catch (error) {
    throw new SlipwayError('INTERNAL', `The progress database ${file} cannot be opened: ${(error as Error).message}. Check that the state folder is writable (SLIPWAY_STATE_DIR).`, {
      cause: error,
    });
  }
}

export class SqliteProgressStore implements ProgressStore {
  readonly #db: DatabaseSyncType;
  readonly #insert;
  readonly #selectLesson;
  readonly #selectAll;
  readonly #selectTimes;

  /** `file` is a path, or ':memory:' for a store that lives as long as the process. */
  constructor(file: string) {
    this.#db = openDatabase(file, `
      CREATE TABLE IF NOT EXISTS step_done (
        learner TEXT NOT NULL,
        lesson TEXT NOT NULL,
        step TEXT NOT NULL,
        done_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        PRIMARY KEY (learner, lesson, step)
      ) WITHOUT ROWID;
    `);
    this.#insert = this.#db.prepare('INSERT OR IGNORE INTO step_done (learner, lesson, step) VALUES (?, ?, ?)');
    this.#selectLesson = this.#db.prepare('SELECT step FROM step_done WHERE learner = ? AND lesson = ?');
    this.#selectAll = this.#db.prepare('SELECT lesson, step FROM step_done WHERE learner = ? ORDER BY lesson, step');
    this.#selectTimes = this.#db.prepare('SELECT lesson, step, done_at FROM step_done WHERE learner = ? ORDER BY done_at');
  }

  async doneTimes(learnerId: string): Promise<DoneStep[]> {
    return this.#selectTimes.all(learnerId).map((row) => ({ lesson: String(row.lesson), step: String(row.step), doneAt: Date.parse(String(row.done_at)) }));
  }

  async doneSteps(learnerId: string, lesson: string): Promise<Set<string>> {
    return new Set(this.#selectLesson.all(learnerId, lesson).map((row) => String(row.step)));
  }

  async allDone(learnerId: string): Promise<Record<string, string[]>> {
    const out: Record<string, string[]> = {};
    for (const row of this.#selectAll.all(learnerId)) (out[String(row.lesson)] ??= []).push(String(row.step));
    return out;
  }

  async markDone(learnerId: string, lesson: string, stepIds: readonly string[]): Promise<void> {
    if (stepIds.length === 0) return;
    this.#db.exec('BEGIN');
    try {
      for (const step of stepIds) this.#insert.run(learnerId, lesson, step);
      this.#db.exec('COMMIT');
    } catch (error) {
      this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }
}
