/**
 * One terminal WebSocket: attaches a login shell in the learner's sandbox to the socket
 * (a new one, or the learner's shell whose socket dropped), with flow control, resize, and
 * the lesson's checks (on connect, after each command, and on the learner's request).
 */
import type { WebSocket, RawData } from 'ws';
import type { LessonCatalog } from '../../lessons/schema.ts';
import type { Logger } from '../log.ts';
import { toSlipwayError } from '../errors.ts';
import { runChecks } from '../checks/run-checks.ts';
import type { SandboxDriver } from '../sandbox/driver.ts';
import type { Session, SessionManager } from '../sessions/session-manager.ts';
import { LiveShell, type ShellRegistry } from './live-shell.ts';
import { CommandFinishedDetector } from './osc133.ts';
import {
  flowControl,
  maxControlFrameBytes,
  maxInputFrameBytes,
  parseClientMessage,
  type ServerMessage,
  type StepResult,
} from './protocol.ts';

export interface BridgeContext {
  sessions: SessionManager;
  driver: SandboxDriver;
  catalog: LessonCatalog;
  shells: ShellRegistry;
  /** How long a shell waits for a new socket after its socket closed. */
  resumeGraceMs: number;
  checkTimeoutMs: number;
  log: Logger;
}

export interface TerminalRequest {
  learnerId: string;
  lessonId: string;
  cols: number;
  rows: number;
  /** A shell to take over, and how much of its output the browser already has. */
  resume?: { shellId: string; offset: number } | undefined;
}

/** Wait after a command finishes before checking, so that a burst of prompts checks once. */
const checkDebounceMs = 100;

export function bridgeTerminal(ws: WebSocket, request: TerminalRequest, context: BridgeContext): void {
  const lesson = context.catalog[request.lessonId];
  let log = context.log.child({ learner: request.learnerId.slice(0, 8), lesson: request.lessonId });
  const send = (message: ServerMessage) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
  };
  const fail = (error: unknown) => {
    const slipwayError = toSlipwayError(error);
    if (slipwayError.code === 'INTERNAL') log.error('terminal failed', { error });
    else log.info('terminal refused', { code: slipwayError.code, reason: slipwayError.message });
    send({ type: 'error', code: slipwayError.code, message: slipwayError.message, fatal: true });
    ws.close(1011, slipwayError.code);
  };
  if (!lesson) {
    send({ type: 'error', code: 'UNKNOWN_LESSON', message: `There is no lesson called "${request.lessonId}".`, fatal: true });
    ws.close(1008, 'UNKNOWN_LESSON');
    return;
  }
  const node = lesson.nodes[0] ?? 'node1';

  let session: Session | undefined;
  let live: LiveShell | undefined;
  let closed = false;
  const pendingInput: Buffer[] = [];
  // Resizes are engine calls; input that follows one waits for it, in order.
  let ordered: Promise<void> = Promise.resolve();
  let resizesInFlight = 0;
  let size = { cols: request.cols, rows: request.rows };

  // Flow control: bytes sent to the browser that its terminal has not yet parsed.
  let unacked = 0;
  let paused = false;
  const sendOutput = (chunk: Buffer) => {
    if (ws.readyState !== ws.OPEN) return;
    ws.send(chunk, { binary: true });
    unacked += chunk.length;
    if (!paused && unacked > flowControl.high && live) {
      paused = true;
      live.shell.stream.pause();
    }
  };

  // Checks: one run at a time; a request during a run queues one more.
  let checking = false;
  let checkAgain: 'command' | 'button' | undefined;
  let debounce: NodeJS.Timeout | undefined;
  const check = async (trigger: 'connect' | 'command' | 'button') => {
    if (!session) return;
    if (checking) {
      checkAgain = trigger === 'button' || checkAgain === 'button' ? 'button' : 'command';
      return;
    }
    checking = true;
    try {
      const done = session.progress.get(request.lessonId) ?? new Set<string>();
      session.progress.set(request.lessonId, done);
      const pending = lesson.steps.filter((step) => !done.has(step.id));
      const results: StepResult[] = await runChecks(context.driver, session.id, pending, context.checkTimeoutMs);
      for (const result of results) if (result.done) done.add(result.stepId);
      const all = lesson.steps.map(
        (step) => results.find((result) => result.stepId === step.id) ?? { stepId: step.id, done: true, output: '' },
      );
      send({ type: 'checks', trigger, results: all });
    } catch (error) {
      const slipwayError = toSlipwayError(error);
      log.warn('check failed to run', { error });
      send({ type: 'error', code: slipwayError.code, message: slipwayError.message, fatal: false });
    } finally {
      checking = false;
      const again = checkAgain;
      checkAgain = undefined;
      if (again && !closed) void check(again);
    }
  };

  ws.on('message', (data: RawData, isBinary: boolean) => {
    const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (isBinary) {
      if (buffer.length > maxInputFrameBytes) {
        send({ type: 'error', code: 'BAD_MESSAGE', message: `Input frames are limited to ${maxInputFrameBytes} bytes.`, fatal: false });
        return;
      }
      if (!live) pendingInput.push(buffer);
      else if (resizesInFlight > 0) {
        // Keystrokes typed after a resize must see the new size (think `stty size`).
        const target = live;
        ordered = ordered.then(() => void target.shell.stream.write(buffer));
      } else live.shell.stream.write(buffer);
      return;
    }
    if (buffer.length > maxControlFrameBytes) {
      send({ type: 'error', code: 'BAD_MESSAGE', message: 'Control frame too large.', fatal: false });
      return;
    }
    const parsed = parseClientMessage(buffer.toString('utf8'));
    if (!parsed.ok) {
      send({ type: 'error', code: 'BAD_MESSAGE', message: parsed.error, fatal: false });
      return;
    }
    const message = parsed.message;
    switch (message.type) {
      case 'resize':
        size = { cols: message.cols, rows: message.rows };
        if (live) {
          const target = live;
          resizesInFlight += 1;
          ordered = ordered
            .then(() => target.shell.resize(message.cols, message.rows))
            .catch((error: unknown) => log.warn('resize failed', { error }))
            .finally(() => {
              resizesInFlight -= 1;
            });
        }
        break;
      case 'ack':
        unacked = Math.max(0, unacked - message.bytes);
        if (paused && unacked < flowControl.low && live) {
          paused = false;
          live.shell.stream.resume();
        }
        break;
      case 'check':
        void check('button');
        break;
      case 'ping':
        send({ type: 'pong' });
        break;
    }
  });

  ws.on('close', () => {
    closed = true;
    clearTimeout(debounce);
    if (!session) return;
    const owned = session;
    const release = () => context.sessions.detach(owned);
    if (!live) return release();
    const shell = live;
    if (!shell.running) {
      context.shells.delete(shell);
      return release();
    }
    // Keep the shell for a new socket (a reload, a dropped connection); end it if none comes.
    shell.detach(context.resumeGraceMs, () => {
      context.shells.delete(shell);
      void shell.close();
      release();
    });
  });

  void (async () => {
    try {
      session = await context.sessions.acquire(request.learnerId, lesson.nodes, (phase, message) => send({ type: 'status', phase, message }));
      context.sessions.attach(session);
      if (closed) {
        context.sessions.detach(session);
        return;
      }
      log = log.child({ session: session.id });
      const owner = { learnerId: request.learnerId, sessionId: session.id, node };
      const resumed = request.resume ? context.shells.take(request.resume.shellId, owner) : undefined;
      let opened: LiveShell;
      if (resumed) {
        opened = resumed;
        // The shell was counted as attached while it waited; this socket now holds that count.
        context.sessions.detach(session);
      } else {
        send({ type: 'status', phase: 'attaching', message: 'Opening a shell…' });
        opened = new LiveShell(await context.driver.openShell(session.id, node, size), owner);
        context.shells.add(opened);
        if (closed) {
          context.shells.delete(opened);
          await opened.close();
          return;
        }
      }
      live = opened;
      const detector = new CommandFinishedDetector();
      opened.attach({
        output: (chunk) => {
          sendOutput(chunk);
          if (detector.push(chunk) > 0) {
            clearTimeout(debounce);
            debounce = setTimeout(() => void check('command'), checkDebounceMs);
          }
        },
        exited: (code) => {
          if (closed) return;
          send({ type: 'exit', code });
          ws.close(1000, 'shell exited');
        },
      });
      // What the browser is missing: exactly the rest after its offset, or a fresh screen.
      const missed = resumed && request.resume ? opened.ring.since(request.resume.offset) : undefined;
      const replay = resumed ? (missed ? { data: missed, offset: request.resume!.offset } : opened.ring.replay()) : undefined;
      send({ type: 'shell', id: opened.id, resumed: Boolean(resumed), reset: Boolean(resumed && !missed), offset: replay?.offset ?? opened.ring.end });
      if (replay && replay.data.length > 0) sendOutput(replay.data);
      if (!paused) opened.shell.stream.resume();
      await opened.shell.resize(size.cols, size.rows);
      for (const input of pendingInput.splice(0)) opened.shell.stream.write(input);
      send({ type: 'status', phase: 'ready', message: 'Ready.' });
      log.info(resumed ? 'terminal resumed' : 'terminal attached', { shell: opened.id.slice(0, 8) });
      void check('connect');
    } catch (error) {
      fail(error);
    }
  })();
}
