import { afterEach, describe, expect, it } from 'vitest';
import { FailingDriver, MemoryDriver } from '../../tests/doubles/memory-driver.ts';
import { SlipwayError } from '../errors.ts';
import { createLogger } from '../log.ts';
import type { AcquirePhase } from './session-manager.ts';
import { SessionManager, type SessionManagerOptions } from './session-manager.ts';

const log = createLogger('silent');
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const noProgress = () => undefined;

const managers: SessionManager[] = [];
function manager(driver: MemoryDriver | FailingDriver, options: Partial<SessionManagerOptions> = {}): SessionManager {
  const created = new SessionManager(driver, { maxSandboxes: 10, idleMs: 60_000, ...options }, log);
  managers.push(created);
  return created;
}

afterEach(async () => {
  // Clears the idle timers.
  await Promise.all(managers.splice(0).map((created) => created.shutdown()));
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('SessionManager', () => {
  it('adds the nodes a later lesson needs, once, when two terminals ask at the same time', async () => {
    const driver = new MemoryDriver({ startDelayMs: 20 });
    const sessions = manager(driver);
    const first = await sessions.acquire('learner-a', ['node1'], noProgress);
    const [a, b] = await Promise.all([
      sessions.acquire('learner-a', ['node1', 'node2'], noProgress),
      sessions.acquire('learner-a', ['node1', 'node2'], noProgress),
    ]);
    expect(a).toBe(first);
    expect(b).toBe(first);
    expect(first.nodes).toEqual(['node1', 'node2']);
    expect(driver.callsTo('addNodes')).toEqual([{ method: 'addNodes', sessionId: first.id, nodes: ['node2'] }]);
    expect(driver.sandboxes.get(first.id)?.nodes).toEqual(['node1', 'node2']);
    await sessions.acquire('learner-a', ['node1'], noProgress);
    expect(driver.callsTo('addNodes')).toHaveLength(1);
  });

  it('starts a sandbox with the learner and nodes', async () => {
    const driver = new MemoryDriver();
    const sessions = manager(driver);
    const session = await sessions.acquire('learner-a', ['node1', 'node2'], noProgress);
    expect(session.learnerId).toBe('learner-a');
    expect(session.nodes).toEqual(['node1', 'node2']);
    expect(session.attached).toBe(0);
    expect(driver.callsTo('start')).toEqual([{ method: 'start', sessionId: session.id, learnerId: 'learner-a', nodes: ['node1', 'node2'] }]);
    expect(driver.sandboxes.has(session.id)).toBe(true);
    expect(sessions.size).toBe(1);
  });

  it('reports start progress to the caller', async () => {
    const driver = new MemoryDriver();
    const phases: AcquirePhase[] = [];
    await manager(driver).acquire('learner-a', ['node1'], (phase) => phases.push(phase));
    expect(phases).toEqual(['starting', 'waiting-engine']);
  });

  it('gives the same learner the same session twice', async () => {
    const driver = new MemoryDriver();
    const sessions = manager(driver);
    const first = await sessions.acquire('learner-a', ['node1'], noProgress);
    const second = await sessions.acquire('learner-a', ['node1'], noProgress);
    expect(second).toBe(first);
    expect(driver.callsTo('start')).toHaveLength(1);
    expect(sessions.size).toBe(1);
  });

  it('gives different learners different sessions', async () => {
    const driver = new MemoryDriver();
    const sessions = manager(driver);
    const a = await sessions.acquire('learner-a', ['node1'], noProgress);
    const b = await sessions.acquire('learner-b', ['node1'], noProgress);
    expect(a.id).not.toBe(b.id);
    expect(driver.sandboxes.size).toBe(2);
    expect(sessions.size).toBe(2);
  });

  it('starts only one sandbox for concurrent acquires by one learner', async () => {
    const driver = new MemoryDriver({ startDelayMs: 30 });
    const sessions = manager(driver);
    const firstPhases: AcquirePhase[] = [];
    const secondPhases: AcquirePhase[] = [];
    const [first, second] = await Promise.all([
      sessions.acquire('learner-a', ['node1'], (phase) => firstPhases.push(phase)),
      sessions.acquire('learner-a', ['node1'], (phase) => secondPhases.push(phase)),
    ]);
    expect(second).toBe(first);
    expect(driver.callsTo('start')).toHaveLength(1);
    expect(driver.sandboxes.size).toBe(1);
    expect(firstPhases).toEqual(['starting', 'waiting-engine']);
    expect(secondPhases).toEqual(['starting', 'waiting-engine']);
  });

  it('gives a latecomer the progress still to come', async () => {
    const driver = new MemoryDriver({ startDelayMs: 40 });
    const sessions = manager(driver);
    const latePhases: AcquirePhase[] = [];
    const first = sessions.acquire('learner-a', ['node1'], noProgress);
    await sleep(10);
    const late = sessions.acquire('learner-a', ['node1'], (phase) => latePhases.push(phase));
    expect(await late).toBe(await first);
    expect(latePhases).toEqual(['waiting-engine']);
    expect(driver.callsTo('start')).toHaveLength(1);
  });

  it('counts a sandbox that is still starting', async () => {
    const driver = new MemoryDriver({ startDelayMs: 30 });
    const sessions = manager(driver, { maxSandboxes: 1 });
    const first = sessions.acquire('learner-a', ['node1'], noProgress);
    expect(sessions.size).toBe(1);
    const error = await rejection(sessions.acquire('learner-b', ['node1'], noProgress));
    expect(error).toBeInstanceOf(SlipwayError);
    expect((error as SlipwayError).code).toBe('OUT_OF_CAPACITY');
    await first;
  });

  it('refuses a second learner when at capacity', async () => {
    const driver = new MemoryDriver();
    const sessions = manager(driver, { maxSandboxes: 1 });
    await sessions.acquire('learner-a', ['node1'], noProgress);
    const error = await rejection(sessions.acquire('learner-b', ['node1'], noProgress));
    expect(error).toBeInstanceOf(SlipwayError);
    expect((error as SlipwayError).code).toBe('OUT_OF_CAPACITY');
    expect((error as SlipwayError).message).toContain('1');
    expect(driver.callsTo('start')).toHaveLength(1);
    // The learner who has a sandbox still gets it.
    await expect(sessions.acquire('learner-a', ['node1'], noProgress)).resolves.toMatchObject({ learnerId: 'learner-a' });
  });

  it('frees capacity when a session ends', async () => {
    const driver = new MemoryDriver();
    const sessions = manager(driver, { maxSandboxes: 1 });
    const a = await sessions.acquire('learner-a', ['node1'], noProgress);
    await sessions.end(a);
    expect(driver.sandboxes.has(a.id)).toBe(false);
    expect(sessions.size).toBe(0);
    const b = await sessions.acquire('learner-b', ['node1'], noProgress);
    expect(b.learnerId).toBe('learner-b');
  });

  it('replaces a vanished sandbox with a new session', async () => {
    const driver = new MemoryDriver();
    const sessions = manager(driver);
    const first = await sessions.acquire('learner-a', ['node1'], noProgress);
    driver.vanish(first.id);
    const second = await sessions.acquire('learner-a', ['node1'], noProgress);
    expect(second.id).not.toBe(first.id);
    expect(second.learnerId).toBe('learner-a');
    expect(driver.sandboxes.has(second.id)).toBe(true);
    expect(driver.callsTo('start')).toHaveLength(2);
    expect(driver.callsTo('stop').map((call) => call.sessionId)).toContain(first.id);
    expect(sessions.size).toBe(1);
    expect(await sessions.acquire('learner-a', ['node1'], noProgress)).toBe(second);
  });

  it('a vanished sandbox does not count against capacity', async () => {
    const driver = new MemoryDriver();
    const sessions = manager(driver, { maxSandboxes: 1 });
    const first = await sessions.acquire('learner-a', ['node1'], noProgress);
    driver.vanish(first.id);
    const second = await sessions.acquire('learner-a', ['node1'], noProgress);
    expect(second.id).not.toBe(first.id);
  });

  it('removes an idle sandbox that has no terminal', async () => {
    const driver = new MemoryDriver();
    const sessions = manager(driver, { idleMs: 50 });
    const session = await sessions.acquire('learner-a', ['node1'], noProgress);
    await sleep(150);
    expect(driver.sandboxes.has(session.id)).toBe(false);
    expect(driver.callsTo('stop').map((call) => call.sessionId)).toEqual([session.id]);
    expect(sessions.size).toBe(0);
    const next = await sessions.acquire('learner-a', ['node1'], noProgress);
    expect(next.id).not.toBe(session.id);
  });

  it('keeps a sandbox while a terminal is attached, and removes it once detached', async () => {
    const driver = new MemoryDriver();
    const sessions = manager(driver, { idleMs: 50 });
    const session = await sessions.acquire('learner-a', ['node1'], noProgress);
    sessions.attach(session);
    expect(session.attached).toBe(1);
    await sleep(150);
    expect(driver.sandboxes.has(session.id)).toBe(true);
    expect(driver.callsTo('stop')).toHaveLength(0);

    sessions.detach(session);
    expect(session.attached).toBe(0);
    await sleep(150);
    expect(driver.sandboxes.has(session.id)).toBe(false);
    expect(sessions.size).toBe(0);
  });

  it('keeps a sandbox until its last terminal detaches', async () => {
    const driver = new MemoryDriver();
    const sessions = manager(driver, { idleMs: 50 });
    const session = await sessions.acquire('learner-a', ['node1'], noProgress);
    sessions.attach(session);
    sessions.attach(session);
    sessions.detach(session);
    await sleep(150);
    expect(driver.sandboxes.has(session.id)).toBe(true);
    sessions.detach(session);
    await sleep(150);
    expect(driver.sandboxes.has(session.id)).toBe(false);
  });

  it('never counts attached terminals below zero', async () => {
    const sessions = manager(new MemoryDriver());
    const session = await sessions.acquire('learner-a', ['node1'], noProgress);
    sessions.detach(session);
    sessions.detach(session);
    expect(session.attached).toBe(0);
    sessions.attach(session);
    expect(session.attached).toBe(1);
  });

  it('passes on the driver error code when the engine is unavailable', async () => {
    const driver = new FailingDriver();
    const sessions = manager(driver);
    const error = await rejection(sessions.acquire('learner-a', ['node1'], noProgress));
    expect(error).toBeInstanceOf(SlipwayError);
    expect((error as SlipwayError).code).toBe('ENGINE_UNAVAILABLE');
    expect(sessions.size).toBe(0);
    // A failed start does not hold a place or a pending start: the next try starts afresh.
    await rejection(sessions.acquire('learner-a', ['node1'], noProgress));
    expect(driver.startCalls).toBe(2);
  });

  it('gives every concurrent caller the start error', async () => {
    const driver = new FailingDriver();
    const sessions = manager(driver);
    const results = await Promise.allSettled([
      sessions.acquire('learner-a', ['node1'], noProgress),
      sessions.acquire('learner-a', ['node1'], noProgress),
    ]);
    for (const result of results) {
      expect(result.status).toBe('rejected');
      if (result.status === 'rejected') expect((result.reason as SlipwayError).code).toBe('ENGINE_UNAVAILABLE');
    }
    expect(driver.startCalls).toBe(1);
  });

  it('stops every sandbox on shutdown', async () => {
    const driver = new MemoryDriver();
    const sessions = manager(driver);
    const a = await sessions.acquire('learner-a', ['node1'], noProgress);
    const b = await sessions.acquire('learner-b', ['node1', 'node2'], noProgress);
    await sessions.shutdown();
    expect(driver.sandboxes.size).toBe(0);
    expect(driver.callsTo('stop').map((call) => call.sessionId).sort()).toEqual([a.id, b.id].sort());
    expect(sessions.size).toBe(0);
  });

  it('waits for starts in progress on shutdown and stops them too', async () => {
    const driver = new MemoryDriver({ startDelayMs: 30 });
    const sessions = manager(driver);
    const starting = sessions.acquire('learner-a', ['node1'], noProgress);
    await sessions.shutdown();
    const session = await starting;
    expect(driver.sandboxes.has(session.id)).toBe(false);
    expect(driver.sandboxes.size).toBe(0);
  });

  it('takes back running sandboxes of an earlier run and removes the rest', async () => {
    const driver = new MemoryDriver();
    driver.adopt({ sessionId: 'kept', learnerId: 'learner-b', nodes: ['node1'] });
    driver.adopt({ sessionId: 'crashed', learnerId: 'learner-c', nodes: ['node1'] });
    driver.stopped.add('crashed');
    driver.adopt({ sessionId: 'anonymous', learnerId: '', nodes: ['node1'] });
    const sessions = manager(driver);
    const mine = await sessions.acquire('learner-a', ['node1'], noProgress);
    driver.adopt({ sessionId: 'second-of-a', learnerId: 'learner-a', nodes: ['node1'] });
    expect(await sessions.recover()).toEqual({ adopted: 1, removed: 3 });
    expect([...driver.sandboxes.keys()].sort()).toEqual(['kept', mine.id].sort());
    expect(driver.callsTo('stop').map((call) => call.sessionId).sort()).toEqual(['anonymous', 'crashed', 'second-of-a']);
    const taken = await sessions.acquire('learner-b', ['node1'], noProgress);
    expect(taken.id).toBe('kept');
    expect(driver.callsTo('start')).toHaveLength(1);
    expect(await sessions.recover()).toEqual({ adopted: 0, removed: 0 });
    expect(await sessions.acquire('learner-a', ['node1'], noProgress)).toBe(mine);
  });

  it('removes an adopted sandbox that stays idle', async () => {
    const driver = new MemoryDriver();
    driver.adopt({ sessionId: 'kept', learnerId: 'learner-b', nodes: ['node1'] });
    const sessions = manager(driver, { idleMs: 30 });
    await sessions.recover();
    await sleep(100);
    expect(driver.sandboxes.has('kept')).toBe(false);
  });

  it('does not hand out a session whose idle timer ended it during the lookup', async () => {
    const driver = new MemoryDriver({ isRunningDelayMs: 80 });
    const sessions = manager(driver, { idleMs: 50 });
    const first = await sessions.acquire('learner', ['node1'], noProgress);
    const again = await sessions.acquire('learner', ['node1'], noProgress);
    expect(again.id).not.toBe(first.id);
    expect(driver.sandboxes.has(again.id)).toBe(true);
    sessions.attach(again);
  });

  describe('warm pool', () => {
    const poolReady = async (sessions: SessionManager, count: number) => {
      for (let waited = 0; sessions.pooled < count && waited < 2000; waited += 5) await sleep(5);
      expect(sessions.pooled).toBe(count);
    };

    it('keeps sandboxes started for no one, gives one to a new learner without a start, and refills', async () => {
      const driver = new MemoryDriver({ startDelayMs: 20 });
      const sessions = manager(driver, { poolSize: 2 });
      sessions.fillPool();
      await poolReady(sessions, 2);
      expect(driver.callsTo('start').map((call) => call.learnerId)).toEqual(['', '']);
      const starts = driver.callsTo('start').length;

      const phases: AcquirePhase[] = [];
      const session = await sessions.acquire('learner-a', ['node1'], (phase) => phases.push(phase));
      expect(phases).toEqual([]);
      expect(driver.callsTo('claim')).toEqual([{ method: 'claim', sessionId: session.id, learnerId: 'learner-a' }]);
      expect(driver.sandboxes.get(session.id)?.learnerId).toBe('learner-a');
      expect(sessions.size).toBe(1);
      // The pool's shell exec says the sandbox runs: no engine call to ask.
      expect(driver.callsTo('isRunning')).toEqual([]);
      // Its node1 shell was opened ahead and is still attached, paused; the first terminal
      // takes it, once.
      const prepared = sessions.takePreparedShell(session, 'node1');
      expect(driver.heldShells.get(prepared!.id)).toMatchObject({ sessionId: session.id, node: 'node1' });
      expect(prepared!.shell?.stream.destroyed).toBe(false);
      expect(prepared!.shell?.stream.isPaused()).toBe(true);
      expect(sessions.takePreparedShell(session, 'node1')).toBeUndefined();
      // One more starts in the background, for no one.
      await poolReady(sessions, 2);
      expect(driver.callsTo('start').length).toBe(starts + 1);
    });

    it('adds the nodes a lesson needs to a pooled sandbox', async () => {
      const driver = new MemoryDriver();
      const sessions = manager(driver, { poolSize: 1 });
      sessions.fillPool();
      await poolReady(sessions, 1);
      const session = await sessions.acquire('learner-a', ['node1', 'node2'], noProgress);
      expect(session.nodes).toEqual(['node1', 'node2']);
      expect(driver.callsTo('addNodes')).toEqual([{ method: 'addNodes', sessionId: session.id, nodes: ['node2'] }]);
    });

    it('counts pooled sandboxes against the capacity, and still gives the last ones to learners', async () => {
      const driver = new MemoryDriver();
      const sessions = manager(driver, { poolSize: 2, maxSandboxes: 2 });
      sessions.fillPool();
      await poolReady(sessions, 2);
      await sessions.acquire('learner-a', ['node1'], noProgress);
      await sessions.acquire('learner-b', ['node1'], noProgress);
      expect(driver.sandboxes.size).toBe(2);
      expect(sessions.pooled).toBe(0);
      const refused = await rejection(sessions.acquire('learner-c', ['node1'], noProgress));
      expect((refused as SlipwayError).code).toBe('OUT_OF_CAPACITY');
    });

    it('skips a pooled sandbox that died, and starts a fresh one for the learner', async () => {
      const driver = new MemoryDriver();
      const sessions = manager(driver, { poolSize: 1 });
      sessions.fillPool();
      await poolReady(sessions, 1);
      const [dead] = [...driver.sandboxes.keys()];
      driver.sandboxes.delete(dead!);
      const session = await sessions.acquire('learner-a', ['node1'], noProgress);
      expect(session.id).not.toBe(dead);
      expect(driver.callsTo('start').some((call) => call.learnerId === 'learner-a')).toBe(true);
    });

    it('after a restart, keeps an untaken pool sandbox in the pool and gives a taken one back to its learner', async () => {
      const driver = new MemoryDriver();
      const before = manager(driver, { poolSize: 2 });
      before.fillPool();
      await poolReady(before, 2);
      const taken = await before.acquire('learner-a', ['node1'], noProgress);
      await poolReady(before, 2);

      const after = new SessionManager(driver, { maxSandboxes: 10, idleMs: 60_000, poolSize: 2 }, log);
      managers.push(after);
      await after.recover();
      expect(after.pooled).toBe(2);
      const again = await after.acquire('learner-a', ['node1'], noProgress);
      expect(again.id).toBe(taken.id);
    });

    it('removes its pooled sandboxes on shutdown', async () => {
      const driver = new MemoryDriver();
      const sessions = manager(driver, { poolSize: 2 });
      sessions.fillPool();
      await poolReady(sessions, 2);
      await sessions.shutdown();
      expect(driver.sandboxes.size).toBe(0);
    });
  });

  describe('workshop seats and the waiting line', () => {
    it('lets seats past the per-address limit, which still holds for others', async () => {
      const sessions = manager(new MemoryDriver(), { perAddress: 1 });
      await sessions.acquire('learner-a', ['node1'], noProgress, '10.0.0.1');
      const refused = await rejection(sessions.acquire('learner-b', ['node1'], noProgress, '10.0.0.1'));
      expect((refused as SlipwayError).code).toBe('TOO_MANY');
      await sessions.acquire('learner-c', ['node1'], noProgress, '10.0.0.1', { seat: true });
      expect(sessions.size).toBe(2);
    });

    it('puts seats in line when full, tells each their place, and hands out places in order as sandboxes end', async () => {
      const sessions = manager(new MemoryDriver(), { maxSandboxes: 1 });
      const first = await sessions.acquire('learner-a', ['node1'], noProgress, '', { seat: true });
      const told: Record<string, (number | undefined)[]> = { b: [], c: [] };
      const order: string[] = [];
      const b = sessions
        .acquire('learner-b', ['node1'], (phase, _message, position) => phase === 'queued' && told.b!.push(position), '', { seat: true })
        .then((session) => (order.push('b'), session));
      const c = sessions
        .acquire('learner-c', ['node1'], (phase, _message, position) => phase === 'queued' && told.c!.push(position), '', { seat: true })
        .then((session) => (order.push('c'), session));
      await sleep(10);
      expect(sessions.waiting).toBe(2);
      expect(sessions.stateOf('learner-c')).toBe('queued');
      expect(sessions.placeOf('learner-c')).toBe(2);
      // Not a seat: turned away, not queued.
      expect(((await rejection(sessions.acquire('learner-x', ['node1'], noProgress))) as SlipwayError).code).toBe('OUT_OF_CAPACITY');
      await sessions.end(first);
      const second = await b;
      expect(order).toEqual(['b']);
      expect(told.c).toEqual([2, 1]);
      expect(sessions.waiting).toBe(1);
      await sessions.end(second);
      await c;
      expect(order).toEqual(['b', 'c']);
      expect(told.b).toEqual([1]);
      expect(sessions.size).toBe(1);
      expect(sessions.waiting).toBe(0);
    });

    it('lets a learner whose page went away leave the line, and the next moves up', async () => {
      const sessions = manager(new MemoryDriver(), { maxSandboxes: 1 });
      const first = await sessions.acquire('learner-a', ['node1'], noProgress, '', { seat: true });
      const gone = new AbortController();
      const left = rejection(sessions.acquire('learner-b', ['node1'], noProgress, '', { seat: true, signal: gone.signal }));
      const places: (number | undefined)[] = [];
      const c = sessions.acquire('learner-c', ['node1'], (phase, _message, position) => phase === 'queued' && places.push(position), '', { seat: true });
      await sleep(10);
      gone.abort();
      expect(((await left) as SlipwayError).code).toBe('OUT_OF_CAPACITY');
      expect(places).toEqual([2, 1]);
      await sessions.end(first);
      expect((await c).learnerId).toBe('learner-c');
    });

    it('gives a learner with two terminals in line one place, not two', async () => {
      const driver = new MemoryDriver();
      const sessions = manager(driver, { maxSandboxes: 1 });
      const first = await sessions.acquire('learner-a', ['node1'], noProgress, '', { seat: true });
      const one = sessions.acquire('learner-b', ['node1'], noProgress, '', { seat: true });
      const two = sessions.acquire('learner-b', ['node1', 'node2'], noProgress, '', { seat: true });
      await sleep(10);
      expect(sessions.waiting).toBe(1);
      await sessions.end(first);
      const [a, b] = await Promise.all([one, two]);
      expect(a).toBe(b);
      expect(driver.callsTo('start')).toHaveLength(2);
      // Nothing reserved is left over: with the place taken, the next learner is refused.
      expect(((await rejection(sessions.acquire('learner-x', ['node1'], noProgress))) as SlipwayError).code).toBe('OUT_OF_CAPACITY');
    });

    it('raises the pool for a workshop within the capacity, and never below the configured size', async () => {
      const sessions = manager(new MemoryDriver(), { maxSandboxes: 3, poolSize: 1 });
      sessions.setPoolTarget(10);
      expect(sessions.poolTarget).toBe(3);
      await sleep(20);
      expect(sessions.pooled).toBe(3);
      sessions.setPoolTarget(0);
      expect(sessions.poolTarget).toBe(1);
    });

    it('hands a pool sandbox that becomes ready to the first in line, and only to them', async () => {
      const driver = new MemoryDriver({ startDelayMs: 30 });
      const sessions = manager(driver, { maxSandboxes: 1 });
      // A workshop raised the pool: its one sandbox is starting when two learners come.
      sessions.setPoolTarget(1);
      const ann = sessions.acquire('learner-a', ['node1'], noProgress, '', { seat: true });
      const bob = sessions.acquire('learner-b', ['node1'], noProgress, '', { seat: true });
      await sleep(5);
      expect(sessions.waiting).toBe(2);
      const first = await ann;
      expect(sessions.placeOf('learner-b')).toBe(1);
      expect(driver.callsTo('start')).toHaveLength(1);
      await sessions.end(first);
      expect((await bob).learnerId).toBe('learner-b');
    });
  });
});
