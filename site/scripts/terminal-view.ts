/**
 * The terminal on the page, behind a small interface so the rest of the client never
 * touches xterm.js directly.
 */
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { Unicode11Addon } from '@xterm/addon-unicode11';
import { WebLinksAddon } from '@xterm/addon-web-links';
import '@xterm/xterm/css/xterm.css';

export interface TerminalView {
  readonly cols: number;
  readonly rows: number;
  /** Writes output; `parsed` is called once the terminal has processed it. */
  write(data: Uint8Array | string, parsed?: () => void): void;
  /** Writes a dim line of our own (status, not shell output). */
  notice(text: string): void;
  onInput(listener: (data: string) => void): void;
  onResize(listener: (cols: number, rows: number) => void): void;
  fit(): void;
  focus(): void;
  /** The visible screen and scrollback as plain text, one line per row. */
  text(): string;
}

export function createTerminalView(host: HTMLElement): TerminalView {
  const terminal = new Terminal({
    cursorBlink: true,
    // CJK monospace fonts after the Latin ones, so Chinese output keeps to its two cells.
    fontFamily: "ui-monospace, 'DejaVu Sans Mono', Menlo, 'Noto Sans Mono CJK SC', 'Sarasa Mono SC', 'PingFang SC', monospace",
    // The Unicode 11 width tables (an addon behind xterm's proposed API) give emoji and CJK
    // the widths that bash and coreutils expect, so columns line up.
    allowProposedApi: true,
    fontSize: 14,
    scrollback: 5000,
    theme: { background: '#111418' },
  });
  const fitAddon = new FitAddon();
  terminal.loadAddon(fitAddon);
  terminal.loadAddon(new Unicode11Addon());
  terminal.unicode.activeVersion = '11';
  // URLs in the output open in a new tab, without giving that tab a handle on this page.
  terminal.loadAddon(new WebLinksAddon((_event, uri) => window.open(uri, '_blank', 'noopener,noreferrer')));
  terminal.open(host);
  const fit = () => {
    try {
      fitAddon.fit();
    } catch {
      // The host is not laid out yet (hidden); the next resize fits it.
    }
  };
  fit();
  new ResizeObserver(() => fit()).observe(host);
  return {
    get cols() {
      return terminal.cols;
    },
    get rows() {
      return terminal.rows;
    },
    write: (data, parsed) => terminal.write(data, parsed),
    notice: (text) => terminal.write(`\x1b[2m${text}\x1b[0m\r\n`),
    onInput: (listener) => void terminal.onData(listener),
    onResize: (listener) => void terminal.onResize(({ cols, rows }) => listener(cols, rows)),
    fit,
    focus: () => terminal.focus(),
    text: () => {
      const buffer = terminal.buffer.active;
      const lines: string[] = [];
      for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i)?.translateToString(true) ?? '');
      return lines.join('\n');
    },
  };
}
