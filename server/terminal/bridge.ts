/**
 * One terminal WebSocket: attaches a login shell on one node of the learner's sandbox to the
 * socket (a new one, or the learner's shell whose socket dropped) and wires the units that do
 * the work: TerminalInput (keystrokes and resizes, bounded), OutputFlow (output, bounded),
 * CheckScheduler (the lesson's checks and progress), the lesson's setup and solutions.
 */
import { randomUUID } from 'node:crypto';
import type { WebSocket, RawData } from 'ws';
import type { Course } from '../../lessons/schema.ts';
import type { Logger } from '../log.ts';
import { toSlipwayError } from '../errors.ts';
import { CheckScheduler } from '../checks/check-scheduler.ts';
import { runSetup } from '../checks/run-setup.ts';
import type { SandboxDriver, Shell } from '../sandbox/driver.ts';
import type { Session, SessionManager } from '../sessions/session-manager.ts';
import type { ProgressStore } from '../store/progress-store.ts';
import { LiveShell, type ShellOwner, type ShellRegistry } from './live-shell.ts';
import { CommandFinishedDetector } from './osc133.ts';
import { OutputFlow } from './output-flow.ts';
import { closeCodes, maxControlFrameBytes, maxInputFrameBytes, parseClientMessage, type ServerMessage } from '../../protocol/terminal.ts';
import { RateLimit } from './rate-limit.ts';
import { TerminalInput } from './terminal-input.ts';
import { PortWatch } from '../ports/port-watch.ts';
import type { PortLinks } from '../ports/port-links.ts';
import type { Workshops } from '../workshops/workshops.ts';
import type { Metrics } from '../ops/metrics.ts';

export interface BridgeContext {
  sessions: SessionManager;
  driver: SandboxDriver;
  course: Course;
  store: ProgressStore;
  shells: ShellRegistry;
  /** How long a shell waits for a new socket after its socket closed. */
  resumeGraceMs: number;
  checkTimeoutMs: number;
  /** Links to the node's published ports; without them, ports are not watched. */
  ports?: PortLinks | undefined;
  /** The learner's workshop: the teacher's messages reach the page, check results the dashboard. */
  workshops?: Workshops | undefined;
  /** Counters for /metrics. */
  metrics?: Metrics | undefined;
  log: Logger;
}

export interface TerminalRequest {
  learnerId: string;
  /** The client's address, for per-address limits. */
  address: string;
  /** A workshop seat: no per-address limit, and a place in line when the server is full. */
  seat?: boolean;
  /** The lesson's slug. */
  lesson: string;
  /** The node whose shell this terminal shows. */
  node: string;
  cols: number;
  rows: number;
  /** A shell to take over, and how much of its output the browser already has. */
  resume?: { shellId: string; offset: number } | undefined;
}

/** Control frames (resize, ack, check, …) a socket may send: this many a second, in bursts of twice that. */
const controlFramesPerSecond = 50;

/**
 * The shell the learner's node still holds under `resume.shellId` when this process does not
 * know it (an earlier run of the server opened it), attached again and registered; undefined
 * when the node holds no such shell or another socket is taking it over.
 */
async function takeOverHeldShell(
  context: BridgeContext,
  owner: ShellOwner,
  resume: { shellId: string; offset: number },
  size: { cols: number; rows: number },
): Promise<LiveShell | undefined> {
  if (!context.shells.claim(resume.shellId)) return undefined;
  try {
    const held = await context.driver.reattachShell(owner.sessionId, owner.node, { ...size, id: resume.shellId });
    if (!held) return undefined;
    // The page keeps its screen and goes on from its offset.
    const live = new LiveShell(held, owner, resume.shellId, size, resume.offset);
    held.stream.pause();
    context.shells.add(live);
    return live;
  } finally {
    context.shells.unclaim(resume.shellId);
  }
}

/**
 * A new shell for the socket: the one opened ahead in a pooled sandbox (its start-up already
 * done), or a fresh one. Registered before it is returned.
 */
async function openShell(context: BridgeContext, session: Session, owner: ShellOwner, size: { cols: number; rows: number }): Promise<LiveShell> {
  const prepared = context.sessions.takePreparedShell(session, owner.node);
  const attached = prepared?.shell && !prepared.shell.stream.destroyed && !prepared.shell.stream.readableEnded ? prepared.shell : undefined;
  if (prepared && !attached) prepared.shell?.stream.destroy();
  let shell: Shell | undefined;
  if (attached) {
    // Still attached and paused since the pool opened it: only its size changes. The resize
    // is not awaited; the bridge's first resize would wait behind it anyway.
    shell = attached;
    void attached.resize(size.cols, size.rows).catch(() => undefined);
  } else if (prepared) {
    shell = await context.driver.reattachShell(session.id, owner.node, { ...size, id: prepared.id }).catch(() => undefined);
  }
  const id = shell && prepared ? prepared.id : randomUUID();
  shell ??= await context.driver.openShell(session.id, owner.node, { ...size, id });
  const live = new LiveShell(shell, owner, id, size);
  context.shells.add(live);
  return live;
}

export function bridgeTerminal(ws: WebSocket, request: TerminalRequest, context: BridgeContext): void {
  const lesson = Object.hasOwn(context.course, request.lesson) ? context.course[request.lesson] : undefined;
  let log = context.log.child({ learner: request.learnerId.slice(0, 8), lesson: request.lesson, node: request.node });
  const send = (message: ServerMessage) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
  };
  const refuse = (code: 'UNKNOWN_LESSON' | 'BAD_MESSAGE', message: string) => {
    context.metrics?.errors.inc({ code });
    send({ type: 'error', code, message, fatal: true });
    ws.close(closeCodes.refused, code);
  };
  if (!lesson) return refuse('UNKNOWN_LESSON', `There is no lesson called "${request.lesson}".`);
  const node = request.node;
  if (!lesson.nodes.includes(node)) return refuse('BAD_MESSAGE', `This lesson has no ${node}; its nodes are ${lesson.nodes.join(', ')}.`);

  let session: Session | undefined;
  let live: LiveShell | undefined;
  let checks: CheckScheduler | undefined;
  let ports: PortWatch | undefined;
  let closed = false;
  let size = { cols: request.cols, rows: request.rows };
  const input = new TerminalInput(ws, { onResizeError: (error) => log.warn('resize failed', { error }) });
  const output = new OutputFlow({
    send: (chunk, written) => {
      if (ws.readyState === ws.OPEN) ws.send(chunk, { binary: true }, () => written());
    },
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
    pause: () => live?.shell.stream.pause(),
    resume: () => live?.shell.stream.resume(),
  });
  const controlFrames = new RateLimit(controlFramesPerSecond, controlFramesPerSecond * 2);
  let lastRateWarning = 0;
  const badMessage = (message: string) => send({ type: 'error', code: 'BAD_MESSAGE', message, fatal: false });

  let settingUp = false;
  const setUp = async (owned: Session) => {
    if (settingUp) return;
    settingUp = true;
    send({ type: 'setup', state: 'running', output: '' });
    try {
      const result = await runSetup(context.driver, owned.id, lesson);
      send({ type: 'setup', state: result.ok ? 'done' : 'failed', output: result.output });
      checks?.request('button');
      ports?.request();
    } catch (error) {
      send({ type: 'setup', state: 'failed', output: toSlipwayError(error).message });
    } finally {
      settingUp = false;
    }
  };

  ws.on('message', (data: RawData, isBinary: boolean) => {
    const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (isBinary) {
      if (buffer.length > maxInputFrameBytes) return badMessage(`Input frames are limited to ${maxInputFrameBytes} bytes.`);
      if (session && !session.used) context.sessions.markUsed(session);
      input.write(buffer);
      return;
    }
    if (buffer.length > maxControlFrameBytes) return badMessage('Control frame too large.');
    const parsed = parseClientMessage(buffer.toString('utf8'));
    // Acks are never dropped: a browser sends one per 32 KiB it has parsed (over a hundred a
    // second while output streams), and output pauses for good once acks go missing. They
    // cost a parse, and OutputFlow bounds what any ack can release.
    if (!(parsed.ok && parsed.message.type === 'ack') && !controlFrames.take()) {
      // Dropped, and said at most once a second: a flood must not cost more than it gets.
      if (Date.now() - lastRateWarning > 1000) {
        lastRateWarning = Date.now();
        badMessage(`Too many control messages; at most ${controlFramesPerSecond} a second are read.`);
      }
      return;
    }
    if (!parsed.ok) return badMessage(parsed.error);
    const message = parsed.message;
    switch (message.type) {
      case 'resize':
        size = { cols: message.cols, rows: message.rows };
        input.resize(message.cols, message.rows);
        break;
      case 'ack':
        output.ack(message.bytes);
        break;
      case 'check':
        checks?.request('button');
        break;
      case 'solution': {
        const step = lesson.steps.find((candidate) => candidate.id === message.stepId);
        if (!step) badMessage(`This lesson has no step "${message.stepId}".`);
        else send({ type: 'solution', stepId: step.id, node: step.node, commands: step.solution });
        break;
      }
      case 'setup':
        if (session) void setUp(session);
        break;
      case 'share-port':
        if (session && context.ports) {
          const { url, expires } = context.ports.share({ session: session.id, node, port: message.port });
          send({ type: 'port-share', node, port: message.port, url, expires });
          log.info('port share link made', { port: message.port });
        }
        break;
      case 'ping':
        send({ type: 'pong' });
        break;
    }
  });

  // The page leaving ends a wait in line; the teacher's messages reach it while it is open.
  const gone = new AbortController();
  const disconnect = context.workshops?.connect(request.learnerId, { notice: (text, at) => send({ type: 'notice', text, at }) });
  ws.on('close', () => {
    closed = true;
    gone.abort();
    disconnect?.();
    checks?.close();
    ports?.close();
    input.detach();
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
      const owned = await context.sessions.acquire(
        request.learnerId,
        lesson.nodes,
        (phase, message, position) => send({ type: 'status', phase, message, ...(position === undefined ? {} : { position }) }),
        request.address,
        { seat: request.seat ?? false, signal: gone.signal },
      );
      session = owned;
      context.sessions.attach(owned);
      if (closed) {
        context.sessions.detach(owned);
        return;
      }
      log = log.child({ session: owned.id });
      checks = new CheckScheduler({
        driver: context.driver,
        store: context.store,
        sessionId: owned.id,
        learnerId: request.learnerId,
        lessonSlug: request.lesson,
        lesson,
        timeoutMs: context.checkTimeoutMs,
        report: (trigger, results) => {
          send({ type: 'checks', trigger, results });
          context.workshops?.checked(request.learnerId, request.lesson, trigger, results);
        },
        observe: (trigger, seconds, ran) => {
          context.metrics?.checkRuns.inc({ trigger, result: ran ? 'ran' : 'failed' });
          if (ran) context.metrics?.checkSeconds.observe({ trigger }, seconds);
        },
        failed: (error) => {
          const slipwayError = toSlipwayError(error);
          context.metrics?.errors.inc({ code: slipwayError.code });
          log.warn('check failed to run', { error });
          send({ type: 'error', code: slipwayError.code, message: slipwayError.message, fatal: false });
        },
        log,
      });
      const owner = { learnerId: request.learnerId, sessionId: owned.id, node };
      const resumed = request.resume ? context.shells.take(request.resume.shellId, owner) : undefined;
      let opened: LiveShell;
      let held: LiveShell | undefined;
      if (resumed) {
        opened = resumed;
        // The shell was counted as attached while it waited; this socket now holds that count.
        context.sessions.detach(owned);
      } else {
        send({ type: 'status', phase: 'attaching', message: 'Opening a shell…' });
        held = request.resume ? await takeOverHeldShell(context, owner, request.resume, size) : undefined;
        if (held) {
          // Opened by an earlier run of the server (a crash or restart). What it printed while
          // no server listened is gone; full-screen programs redraw on the SIGWINCH of attaching.
          opened = held;
          log.info('held shell taken over after a restart', { shell: held.id.slice(0, 8) });
        } else {
          opened = await openShell(context, owned, owner, size);
        }
        if (closed) {
          const shell = opened;
          // A held shell stays held (its page may come back); a new one is not needed.
          if (held) shell.detach(context.resumeGraceMs, () => void shell.close().finally(() => context.shells.delete(shell)));
          else {
            context.shells.delete(shell);
            await shell.close();
          }
          return;
        }
      }
      // Attached before anything is awaited, so no other socket can take the shell meanwhile;
      // its output stays paused until the page has been told where it starts.
      live = opened;
      const detector = new CommandFinishedDetector();
      opened.attach({
        output: (chunk) => {
          output.send(chunk);
          if (detector.push(chunk) > 0) {
            checks?.request('command');
            ports?.requestSoon();
          }
        },
        exited: (code) => {
          if (closed) return;
          send({ type: 'exit', code });
          ws.close(closeCodes.shellExited, 'shell exited');
        },
      });
      const replay = resumed || held ? await opened.replayFor(request.resume?.offset) : undefined;
      // A socket that closed meanwhile has left the shell waiting for the next one.
      if (closed) return;
      send({ type: 'shell', id: opened.id, resumed: Boolean(replay), reset: replay?.reset ?? false, offset: replay?.offset ?? opened.ring.end, screen: replay?.screen });
      if (replay && replay.data.length > 0) output.send(replay.data);
      if (!output.paused) opened.shell.stream.resume();
      input.attach({ stream: opened.shell.stream, resize: (cols, rows) => opened.resize(cols, rows) }, size);
      send({ type: 'status', phase: 'ready', message: 'Ready.' });
      log.info(resumed ? 'terminal resumed' : 'terminal attached', { shell: opened.id.slice(0, 8) });
      checks.request('connect');
      const links = context.ports;
      if (links) {
        const sessionId = owned.id;
        ports = new PortWatch({
          driver: context.driver,
          sessionId,
          node,
          log,
          report: (list) =>
            send({ type: 'ports', node, ports: list.map((entry) => ({ ...entry, url: links.open({ session: sessionId, node, port: entry.port }) })) }),
        });
        ports.request();
      }
    } catch (error) {
      const slipwayError = toSlipwayError(error);
      context.metrics?.errors.inc({ code: slipwayError.code });
      if (slipwayError.code === 'INTERNAL') log.error('terminal failed', { error });
      else log.info('terminal refused', { code: slipwayError.code, reason: slipwayError.message });
      send({ type: 'error', code: slipwayError.code, message: slipwayError.message, fatal: true });
      ws.close(closeCodes.failed, slipwayError.code);
    }
  })();
}
