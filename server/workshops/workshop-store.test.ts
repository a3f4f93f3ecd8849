import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { joinCodePattern, WorkshopStore, workshopInputSchema } from './workshop-store.ts';

const hour = 3600_000;
const input = (now: number, extra: Record<string, unknown> = {}) =>
  workshopInputSchema.parse({ title: 'Docker 101', lessons: ['hello-world', 'volumes'], seats: 2, startsAt: now, endsAt: now + 2 * hour, ...extra });

describe('WorkshopStore', () => {
  it('makes a workshop with a join code that reads well on a projector, found by code in any case', () => {
    const store = new WorkshopStore(':memory:');
    const now = Date.now();
    const workshop = store.create(input(now));
    expect(workshop.code).toMatch(joinCodePattern);
    expect(workshop.code).not.toMatch(/[01IOL]/);
    expect(store.byCode(` ${workshop.code.toLowerCase()} `)?.id).toBe(workshop.id);
    expect(store.byCode('nope')).toBeUndefined();
    expect(workshop).toMatchObject({ title: 'Docker 101', lessons: ['hello-world', 'volumes'], seats: 2, allowRejoin: true, endedAt: undefined });
  });

  it('refuses a workshop that ends before it starts, naming the field', () => {
    const parsed = workshopInputSchema.safeParse({ title: 'x', lessons: ['a'], seats: 1, startsAt: 10, endsAt: 5 });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(['endsAt']);
  });

  it('seats learners by name, lets a learner with a lost cookie back in by name, and keeps the seat count', () => {
    const store = new WorkshopStore(':memory:');
    const now = Date.now();
    const workshop = store.create(input(now));
    expect(store.join(workshop, 'learner-ann', 'Ann', now)).toEqual({ ok: true, learnerId: 'learner-ann', rejoined: false });
    // The same browser again: nothing changes.
    expect(store.join(workshop, 'learner-ann', 'Ann', now)).toEqual({ ok: true, learnerId: 'learner-ann', rejoined: false });
    // Ann on a new browser (lost cookie): she gets her own learner id back.
    expect(store.join(workshop, 'learner-new', ' ann ', now)).toEqual({ ok: true, learnerId: 'learner-ann', rejoined: true });
    expect(store.join(workshop, 'learner-bob', 'Bob', now).ok).toBe(true);
    expect(store.join(workshop, 'learner-carl', 'Carl', now)).toEqual({ ok: false, reason: 'FULL' });
    expect(store.members(workshop.id).map((member) => member.name)).toEqual(['Ann', 'Bob']);
    expect(store.workshopsOf('learner-bob', now).map((found) => found.id)).toEqual([workshop.id]);
  });

  it('refuses a taken name when the teacher does not allow rejoining, and everyone once it ended', () => {
    const store = new WorkshopStore(':memory:');
    const now = Date.now();
    const strict = store.create(input(now, { allowRejoin: false }));
    store.join(strict, 'learner-ann', 'Ann', now);
    expect(store.join(strict, 'learner-eve', 'Ann', now)).toEqual({ ok: false, reason: 'NAME_TAKEN' });
    store.end(strict.id, now);
    expect(store.join(store.get(strict.id)!, 'learner-bob', 'Bob', now)).toEqual({ ok: false, reason: 'ENDED' });
    expect(store.open(now)).toEqual([]);
    store.extend(strict.id, now + hour);
    expect(store.open(now).map((found) => found.id)).toEqual([strict.id]);
  });

  it('keeps workshops, members and the last message across a reopen (a restart)', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'slipway-workshops-')), 'slipway.db');
    const now = Date.now();
    const first = new WorkshopStore(file);
    const workshop = first.create(input(now));
    first.join(workshop, 'learner-ann', 'Ann', now);
    first.setMessage(workshop.id, 'Break until 11:00', now);
    first.close();
    const second = new WorkshopStore(file);
    expect(second.get(workshop.id)?.message).toEqual({ text: 'Break until 11:00', at: now });
    expect(second.members(workshop.id)).toEqual([{ learnerId: 'learner-ann', name: 'Ann', joinedAt: now }]);
    second.close();
  });
});
