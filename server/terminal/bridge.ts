/**
 * One terminal WebSocket: attaches a login shell in the learner's sandbox to the socket
 * (a new one, or the learner's shell whose socket dropped), with flow control, resize, and
 * the lesson's checks (on connect, after each command, and on the learner's request).
 */
import type { WebSocket, RawData } from 'ws';
import type { Course } from '../../lessons/schema.ts';
import type { Logger } from '../log.ts';
import { toSlipwayError } from '../errors.ts';
import { CheckScheduler } from '../checks/check-scheduler.ts';
import { runSetup } from '../checks/run-setup.ts';
import type { SandboxDriver } from '../sandbox/driver.ts';
import type { Session, SessionManager } from '../sessions/session-manager.ts';
import type { ProgressStore } from '../store/progress-store.ts';
import { LiveShell, type ShellRegistry } from './live-shell.ts';
import { CommandFinishedDetector } from './osc133.ts';
import {
  flowControl,
  maxControlFrameBytes,
  maxInputFrameBytes,
  parseClientMessage,
  type ServerMessage,
} from './protocol.ts';

export interface BridgeContext {
  sessions: SessionManager;
  driver: SandboxDriver;
  course: Course;
  store: ProgressStore;
  shells: ShellRegistry;
  /** How long a shell waits for a new socket after its socket closed. */
  resumeGraceMs: number;
  checkTimeoutMs: number;
  log: Logger;
}

export interface TerminalRequest {
  learnerId: string;
  /** The lesson's slug. */
  lesson: string;
  /** The node whose shell this terminal shows. */
  node: string;
  cols: number;
  rows: number;
  /** A shell to take over, and how much of its output the browser already has. */
  resume?: { shellId: string; offset: number } | undefined;
}

export function bridgeTerminal(ws: WebSocket, request: TerminalRequest, context: BridgeContext): void {
  const lesson = Object.hasOwn(context.course, request.lesson) ? context.course[request.lesson] : undefined;
  let log = context.log.child({ learner: request.learnerId.slice(0, 8), lesson: request.lesson, node: request.node });
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
    send({ type: 'error', code: 'UNKNOWN_LESSON', message: `There is no lesson called "${request.lesson}".`, fatal: true });
    ws.close(1008, 'UNKNOWN_LESSON');
    return;
  }
  const node = request.node;
  if (!lesson.nodes.includes(node)) {
    send({ type: 'error', code: 'BAD_MESSAGE', message: `This lesson has no ${node}; its nodes are ${lesson.nodes.join(', ')}.`, fatal: true });
    ws.close(1008, 'BAD_MESSAGE');
    return;
  }

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

  let checks: CheckScheduler | undefined;
  let settingUp = false;
  const setUp = async () => {
    if (!session || settingUp) return;
    settingUp = true;
    send({ type: 'setup', state: 'running', output: '' });
    try {
      const result = await runSetup(context.driver, session.id, lesson);
      send({ type: 'setup', state: result.ok ? 'done' : 'failed', output: result.output });
      checks?.request('button');
    } catch (error) {
      send({ type: 'setup', state: 'failed', output: toSlipwayError(error).message });
    } finally {
      settingUp = false;
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
        checks?.request('button');
        break;
      case 'solution': {
        const step = lesson.steps.find((candidate) => candidate.id === message.stepId);
        if (!step) send({ type: 'error', code: 'BAD_MESSAGE', message: `This lesson has no step "${message.stepId}".`, fatal: false });
        else send({ type: 'solution', stepId: step.id, node: step.node, commands: step.solution });
        break;
      }
      case 'setup':
        void setUp();
        break;
      case 'ping':
        send({ type: 'pong' });
        break;
    }
  });

  ws.on('close', () => {
    closed = true;
    checks?.close();
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
      const owned = session;
      checks = new CheckScheduler({
        driver: context.driver,
        store: context.store,
        sessionId: owned.id,
        learnerId: request.learnerId,
        lessonSlug: request.lesson,
        lesson,
        timeoutMs: context.checkTimeoutMs,
        report: (trigger, results) => send({ type: 'checks', trigger, results }),
        failed: (error) => {
          const slipwayError = toSlipwayError(error);
          log.warn('check failed to run', { error });
          send({ type: 'error', code: slipwayError.code, message: slipwayError.message, fatal: false });
        },
        log,
      });
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
          if (detector.push(chunk) > 0) checks?.request('command');
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
      checks.request('connect');
    } catch (error) {
      fail(error);
    }
  })();
}
