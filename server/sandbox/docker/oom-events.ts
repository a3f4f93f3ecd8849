/**
 * The engine's `oom` events for this installation's sandbox nodes: the kernel killed a process
 * in a node because the node reached its memory limit (the node itself goes on running). The
 * event stream is followed for as long as someone listens, and taken up again after the engine
 * restarts or the stream breaks.
 */
import type Docker from 'dockerode';
import type { Logger } from '../../log.ts';
import { labelKeys } from './labels.ts';

export type OutOfMemoryListener = (sessionId: string, node: string) => void;

/** Reads one event line; undefined when it is not an `oom` of one of our nodes. */
export function parseOomEvent(line: string, instance: string): { sessionId: string; node: string } | undefined {
  let event: { Action?: string; Actor?: { Attributes?: Record<string, string> } };
  try {
    event = JSON.parse(line) as typeof event;
  } catch {
    return undefined;
  }
  const labels = event.Actor?.Attributes ?? {};
  if (event.Action !== 'oom' || labels[labelKeys.instance] !== instance || labels[labelKeys.role] !== 'sandbox') return undefined;
  const sessionId = labels[labelKeys.session];
  const node = labels[labelKeys.node];
  return sessionId && node ? { sessionId, node } : undefined;
}

export function watchOutOfMemory(docker: Docker, instance: string, listener: OutOfMemoryListener, log: Logger, retryMs = 5000): () => void {
  let stopped = false;
  let stream: NodeJS.ReadableStream | undefined;
  let retry: NodeJS.Timeout | undefined;
  const follow = () => {
    if (stopped) return;
    docker.getEvents({ filters: { type: ['container'], event: ['oom'], label: [`${labelKeys.instance}=${instance}`] } }).then(
      (events) => {
        stream = events;
        if (stopped) return void (events as unknown as { destroy?: () => void }).destroy?.();
        let pending = '';
        events.on('data', (chunk: Buffer) => {
          pending += chunk.toString('utf8');
          const lines = pending.split('\n');
          pending = lines.pop() ?? '';
          if (pending.length > 64 * 1024) pending = '';
          for (const line of lines) {
            const found = parseOomEvent(line, instance);
            if (found) listener(found.sessionId, found.node);
          }
        });
        events.on('error', (error: Error) => log.info('engine event stream failed', { error: error.message }));
        events.on('close', again);
        events.on('end', again);
      },
      (error: unknown) => {
        log.info('engine events unavailable; trying again', { error: (error as Error).message });
        again();
      },
    );
  };
  const again = () => {
    stream = undefined;
    if (stopped || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      follow();
    }, retryMs);
    retry.unref();
  };
  follow();
  return () => {
    stopped = true;
    clearTimeout(retry);
    (stream as unknown as { destroy?: () => void } | undefined)?.destroy?.();
  };
}
