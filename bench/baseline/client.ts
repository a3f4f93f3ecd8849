/**
 * The baseline page's script: xterm.js with the lesson page's options, sized like the lesson
 * page's terminal (`?width=&height=` in CSS pixels), piped straight to a WebSocket. No flow
 * control, no protocol: binary frames both ways, one text frame `{cols,rows}` for the size.
 */
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';

declare global {
  interface Window {
    /** For the benchmark, like the lesson page's window.slipway. */
    baseline?: { terminalText(): string; ready: boolean };
  }
}

const params = new URLSearchParams(location.search);
const host = document.getElementById('terminal')!;
if (params.has('width')) host.style.width = `${params.get('width')}px`;
if (params.has('height')) host.style.height = `${params.get('height')}px`;

// The same options as site/scripts/terminal-view.ts, so that xterm does the same work.
const terminal = new Terminal({
  cursorBlink: true,
  fontFamily: "ui-monospace, 'DejaVu Sans Mono', Menlo, monospace",
  fontSize: 14,
  scrollback: 5000,
  theme: { background: '#111418' },
});
const fitAddon = new FitAddon();
terminal.loadAddon(fitAddon);
terminal.open(host);
fitAddon.fit();

const state = {
  ready: false,
  terminalText: () => {
    const buffer = terminal.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i)?.translateToString(true) ?? '');
    return lines.join('\n');
  },
};
window.baseline = state;

const socket = new WebSocket(`ws://${location.host}/pty`);
socket.binaryType = 'arraybuffer';
socket.addEventListener('open', () => {
  socket.send(JSON.stringify({ cols: terminal.cols, rows: terminal.rows }));
  state.ready = true;
  terminal.focus();
});
socket.addEventListener('message', (event) => terminal.write(new Uint8Array(event.data as ArrayBuffer)));
socket.addEventListener('close', () => {
  state.ready = false;
});
const encoder = new TextEncoder();
terminal.onData((data) => {
  if (socket.readyState === WebSocket.OPEN) socket.send(encoder.encode(data));
});
