/**
 * A teacher's read-only view of a learner's terminal: the learner's screen as it is, at the
 * learner's size, then their output as it comes. Nothing typed here is sent.
 */
import { Terminal } from '@xterm/xterm';
import { Unicode11Addon } from '@xterm/addon-unicode11';
import '@xterm/xterm/css/xterm.css';
import { watchMessageSchema, watchPath, watchQuery } from '../../protocol/watch.ts';
import { fill } from './api.ts';

declare global {
  interface Window {
    /** For tests: the watched terminal's text. */
    slipwayWatch?: { text(): string; screens: number };
  }
}

export function startWatchPage(): void {
  const root = document.querySelector<HTMLElement>('[data-watch]');
  if (!root) return;
  const strings = JSON.parse(root.dataset.strings ?? '{}') as { watchTitle: string; noShell: string; live: string; reconnecting: string };
  const params = new URLSearchParams(location.search);
  const learner = params.get('learner') ?? '';
  const node = params.get('node') ?? 'node1';
  const name = params.get('name') ?? learner.slice(0, 8);
  const title = fill(strings.watchTitle, { name });
  root.querySelector('[data-watch-title]')!.textContent = `${title} · ${node}`;
  document.title = `${title} · Slipway`;
  const nodes = root.querySelector<HTMLElement>('[data-watch-nodes]')!;
  for (const other of ['node1', 'node2', 'node3']) {
    const link = document.createElement('a');
    const query = new URLSearchParams(params);
    query.set('node', other);
    link.href = `?${query}`;
    link.textContent = other;
    if (other === node) link.setAttribute('aria-current', 'page');
    nodes.append(link);
  }
  const status = root.querySelector<HTMLElement>('[data-watch-status]')!;
  const terminal = new Terminal({ disableStdin: true, cursorBlink: false, allowProposedApi: true, scrollback: 5000, fontFamily: "ui-monospace, 'DejaVu Sans Mono', 'Noto Sans Mono CJK SC', monospace", fontSize: 14 });
  terminal.loadAddon(new Unicode11Addon());
  terminal.unicode.activeVersion = '11';
  terminal.open(root.querySelector<HTMLElement>('[data-watch-screen]')!);
  const view = { screens: 0, text: () => {
    const buffer = terminal.buffer.active;
    const lines: string[] = [];
    for (let index = 0; index < buffer.length; index += 1) lines.push(buffer.getLine(index)?.translateToString(true) ?? '');
    return lines.join('\n');
  } };
  window.slipwayWatch = view;

  let retry = 500;
  const connect = () => {
    const url = new URL(watchPath, location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    url.search = watchQuery(learner, node);
    const socket = new WebSocket(url);
    socket.binaryType = 'arraybuffer';
    socket.addEventListener('message', (event: MessageEvent<ArrayBuffer | string>) => {
      if (typeof event.data !== 'string') {
        terminal.write(new Uint8Array(event.data));
        return;
      }
      const parsed = watchMessageSchema.safeParse(JSON.parse(event.data));
      if (!parsed.success) return;
      const message = parsed.data;
      if (message.type === 'screen') {
        retry = 500;
        status.textContent = strings.live;
        terminal.reset();
        terminal.resize(message.cols, message.rows);
        terminal.write(message.screen, () => (view.screens += 1));
      } else if (message.type === 'waiting') {
        status.textContent = strings.noShell;
      } else status.textContent = message.message;
    });
    socket.addEventListener('close', () => {
      status.textContent = strings.reconnecting;
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 10_000);
    });
  };
  connect();
}
