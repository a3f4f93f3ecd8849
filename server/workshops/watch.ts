/**
 * A teacher watching a learner's terminal: the learner's shell on one node, its screen as it is
 * and its output as it comes, read-only. It follows the learner: a new shell (a reload, `exit`)
 * is picked up within a second. A teacher's page that does not read is not fed: its output is
 * dropped above a bound, and a fresh screen is sent once it has caught up.
 */
import type { RawData, WebSocket } from 'ws';
import { watchPath, watchQuerySchema, type WatchMessage } from '../../protocol/watch.ts';
import type { Logger } from '../log.ts';
import type { LiveShell, ShellRegistry } from '../terminal/live-shell.ts';

export { watchPath };

/** Output queued for a watcher beyond this is dropped (and the screen sent afresh later). */
const maxBufferedBytes = 1024 * 1024;
const followMs = 1000;

export function watchTerminal(ws: WebSocket, params: URLSearchParams, context: { shells: ShellRegistry; log: Logger }): void {
  const send = (message: WatchMessage) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
  };
  const parsed = watchQuerySchema.safeParse(Object.fromEntries(params));
  if (!parsed.success) {
    ws.close(1008, 'BAD_QUERY');
    return;
  }
  const { learner, node } = parsed.data;
  const log = context.log.child({ watching: learner.slice(0, 8), node });
  let watched: LiveShell | undefined;
  let stop: (() => void) | undefined;
  let lagging = false;
  let closed = false;
  let attaching = false;

  const attach = async (live: LiveShell) => {
    attaching = true;
    stop?.();
    watched = live;
    try {
      const watch = await live.watch((chunk) => {
        if (ws.readyState !== ws.OPEN) return;
        if (ws.bufferedAmount > maxBufferedBytes) {
          lagging = true;
          return;
        }
        ws.send(chunk, { binary: true });
      });
      if (closed || watched !== live) return watch.stop();
      stop = watch.stop;
      lagging = false;
      send({ type: 'screen', screen: watch.screen, ...live.size });
    } finally {
      attaching = false;
    }
  };

  const follow = () => {
    if (closed || attaching) return;
    const current = context.shells.current(learner, node);
    if (!current) {
      if (watched !== undefined || stop === undefined) {
        stop?.();
        stop = () => undefined;
        watched = undefined;
        send({ type: 'waiting' });
      }
      return;
    }
    // A new shell, or this page fell behind and has drained: the screen afresh.
    if (current !== watched || (lagging && ws.bufferedAmount === 0)) void attach(current).catch((error: unknown) => log.warn('watch failed', { error }));
  };
  follow();
  const timer = setInterval(follow, followMs);

  let lastRefusal = 0;
  ws.on('message', (_data: RawData, isBinary: boolean) => {
    // Nothing a watcher sends reaches the learner's shell.
    if (isBinary && Date.now() - lastRefusal > 1000) {
      lastRefusal = Date.now();
      send({ type: 'read-only', message: 'This terminal is read-only: what you type does not reach the learner.' });
    }
  });
  ws.on('close', () => {
    closed = true;
    clearInterval(timer);
    stop?.();
  });
  log.info('teacher watching a terminal');
}
