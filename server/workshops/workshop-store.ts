/**
 * Workshops in the embedded store, beside progress (the same SQLite file, WAL mode): a
 * restart keeps every workshop, its members and, through the progress table, their steps.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { z } from 'zod';
import { openDatabase } from '../store/sqlite-store.ts';
import type { DatabaseSync } from 'node:sqlite';

/** Join codes avoid letters and digits that read alike on a projector (0/O, 1/I/L). */
const codeAlphabet = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
export const joinCodePattern = /^[A-HJ-NP-Z2-9]{6}$/;

export const workshopInputSchema = z
  .object({
    title: z.string().trim().min(1, 'give the workshop a title').max(120),
    lessons: z.array(z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/)).min(1, 'choose at least one lesson').max(100),
    seats: z.number().int().min(1, 'at least one seat').max(1000),
    startsAt: z.number().int().positive().describe('When it starts, ms since 1970.'),
    endsAt: z.number().int().positive().describe('When it ends, ms since 1970.'),
    allowRejoin: z.boolean().default(true).describe('A learner who lost their cookie may come back by name.'),
  })
  .strict()
  .refine((input) => input.endsAt > input.startsAt, { message: 'the end must come after the start', path: ['endsAt'] });
export type WorkshopInput = z.input<typeof workshopInputSchema>;

export interface Workshop {
  id: string;
  code: string;
  title: string;
  lessons: string[];
  seats: number;
  startsAt: number;
  endsAt: number;
  allowRejoin: boolean;
  /** When the teacher (or the clock) ended it. */
  endedAt: number | undefined;
  /** The teacher's last message to everyone, and when it was sent. */
  message: { text: string; at: number } | undefined;
}

export interface Member {
  learnerId: string;
  name: string;
  joinedAt: number;
}

export type JoinResult =
  | { ok: true; learnerId: string; rejoined: boolean }
  | { ok: false; reason: 'NAME_TAKEN' | 'FULL' | 'ENDED' };

export class WorkshopStore {
  readonly #db: DatabaseSync;

  constructor(file: string) {
    this.#db = openDatabase(file, `
      CREATE TABLE IF NOT EXISTS workshop (
        id TEXT PRIMARY KEY,
        code TEXT NOT NULL UNIQUE,
        title TEXT NOT NULL,
        lessons TEXT NOT NULL,
        seats INTEGER NOT NULL,
        starts_at INTEGER NOT NULL,
        ends_at INTEGER NOT NULL,
        allow_rejoin INTEGER NOT NULL,
        ended_at INTEGER,
        message TEXT,
        message_at INTEGER
      );
      CREATE TABLE IF NOT EXISTS workshop_member (
        workshop TEXT NOT NULL REFERENCES workshop(id),
        learner TEXT NOT NULL,
        name TEXT NOT NULL,
        name_key TEXT NOT NULL,
        joined_at INTEGER NOT NULL,
        PRIMARY KEY (workshop, learner),
        UNIQUE (workshop, name_key)
      ) WITHOUT ROWID;
    `);
  }

  create(input: z.output<typeof workshopInputSchema>): Workshop {
    const id = randomBytes(8).toString('hex');
    for (let attempt = 0; ; attempt += 1) {
      const code = Array.from({ length: 6 }, () => codeAlphabet[randomInt(codeAlphabet.length)]).join('');
      try {
        this.#db
          .prepare('INSERT INTO workshop (id, code, title, lessons, seats, starts_at, ends_at, allow_rejoin) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
          .run(id, code, input.title, JSON.stringify(input.lessons), input.seats, input.startsAt, input.endsAt, input.allowRejoin ? 1 : 0);
        return this.get(id)!;
      } catch (error) {
        // A code already taken: draw again (31^6 codes; a clash is rare).
        if (attempt >= 5 || !/UNIQUE/.test((error as Error).message)) throw error;
      }
    }
  }

  get(id: string): Workshop | undefined {
    const row = this.#db.prepare('SELECT * FROM workshop WHERE id = ?').get(id);
    return row ? toWorkshop(row) : undefined;
  }

  byCode(code: string): Workshop | undefined {
    const normalized = code.trim().toUpperCase();
    if (!joinCodePattern.test(normalized)) return undefined;
    const row = this.#db.prepare('SELECT * FROM workshop WHERE code = ?').get(normalized);
    return row ? toWorkshop(row) : undefined;
  }

  /** Every workshop, the newest first. */
  list(): Workshop[] {
    return this.#db.prepare('SELECT * FROM workshop ORDER BY starts_at DESC').all().map(toWorkshop);
  }

  /** Workshops not ended whose time has not run out, at `now`. */
  open(now: number): Workshop[] {
    return this.#db
      .prepare('SELECT * FROM workshop WHERE ended_at IS NULL AND ends_at > ? ORDER BY starts_at')
      .all(now)
      .map(toWorkshop);
  }

  members(workshopId: string): Member[] {
    return this.#db
      .prepare('SELECT learner, name, joined_at FROM workshop_member WHERE workshop = ? ORDER BY joined_at, name')
      .all(workshopId)
      .map((row) => ({ learnerId: String(row.learner), name: String(row.name), joinedAt: Number(row.joined_at) }));
  }

  /** The open workshops this learner belongs to. */
  workshopsOf(learnerId: string, now: number): Workshop[] {
    return this.#db
      .prepare(
        'SELECT w.* FROM workshop w JOIN workshop_member m ON m.workshop = w.id WHERE m.learner = ? AND w.ended_at IS NULL AND w.ends_at > ? ORDER BY w.starts_at',
      )
      .all(learnerId, now)
      .map(toWorkshop);
  }

  /**
   * Joins `learnerId` as `name`. A name that a member already has is theirs: it lets this
   * browser in as that member (their learner id and progress) when the workshop allows rejoining,
   * and is refused otherwise. A learner already in keeps their seat and takes the new name.
   */
  join(workshop: Workshop, learnerId: string, name: string, now: number): JoinResult {
    if (workshop.endedAt !== undefined || workshop.endsAt <= now) return { ok: false, reason: 'ENDED' };
    const nameKey = name.trim().toLocaleLowerCase();
    const holder = this.#db.prepare('SELECT learner FROM workshop_member WHERE workshop = ? AND name_key = ?').get(workshop.id, nameKey);
    if (holder) {
      const holderId = String(holder.learner);
      if (holderId === learnerId) return { ok: true, learnerId, rejoined: false };
      return workshop.allowRejoin ? { ok: true, learnerId: holderId, rejoined: true } : { ok: false, reason: 'NAME_TAKEN' };
    }
    const already = this.#db.prepare('SELECT 1 FROM workshop_member WHERE workshop = ? AND learner = ?').get(workshop.id, learnerId);
    if (already) {
      this.#db.prepare('UPDATE workshop_member SET name = ?, name_key = ? WHERE workshop = ? AND learner = ?').run(name.trim(), nameKey, workshop.id, learnerId);
      return { ok: true, learnerId, rejoined: false };
    }
    const count = Number(this.#db.prepare('SELECT COUNT(*) AS n FROM workshop_member WHERE workshop = ?').get(workshop.id)?.n ?? 0);
    if (count >= workshop.seats) return { ok: false, reason: 'FULL' };
    this.#db.prepare('INSERT INTO workshop_member (workshop, learner, name, name_key, joined_at) VALUES (?, ?, ?, ?, ?)').run(workshop.id, learnerId, name.trim(), nameKey, now);
    return { ok: true, learnerId, rejoined: false };
  }

  /** Moves the end; a workshop that had ended is open again. */
  extend(workshopId: string, endsAt: number): void {
    this.#db.prepare('UPDATE workshop SET ends_at = ?, ended_at = NULL WHERE id = ?').run(endsAt, workshopId);
  }

  end(workshopId: string, now: number): void {
    this.#db.prepare('UPDATE workshop SET ended_at = COALESCE(ended_at, ?) WHERE id = ?').run(now, workshopId);
  }

  setMessage(workshopId: string, text: string, now: number): void {
    this.#db.prepare('UPDATE workshop SET message = ?, message_at = ? WHERE id = ?').run(text, now, workshopId);
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }
}

function toWorkshop(row: Record<string, unknown>): Workshop {
  return {
    id: String(row.id),
    code: String(row.code),
    title: String(row.title),
    lessons: JSON.parse(String(row.lessons)) as string[],
    seats: Number(row.seats),
    startsAt: Number(row.starts_at),
    endsAt: Number(row.ends_at),
    allowRejoin: Number(row.allow_rejoin) === 1,
    endedAt: row.ended_at === null ? undefined : Number(row.ended_at),
    message: row.message === null ? undefined : { text: String(row.message), at: Number(row.message_at) },
  };
}
