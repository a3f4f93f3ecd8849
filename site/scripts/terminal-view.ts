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
  /** The shell's prompt marks (OSC 133): 'prompt' when a prompt is shown. */
  onPrompt(listener: () => void): void;
  /** The shell's working folder, as its prompt reports it (OSC 7). */
  onCwd(listener: (path: string) => void): void;
  /** xterm's screen-reader mode: the output goes to a live region that screen readers read. */
  setScreenReader(on: boolean): void;
  /**
   * Tab and Shift+Tab move the focus out of the terminal (to the page's next or previous
   * control) instead of going to the shell: how a keyboard-only user leaves the terminal.
   */
  setTabMovesFocus(on: boolean): void;
}

/** Copies to the clipboard; false where the page may not (plain http on a LAN address). */
async function writeClipboard(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Copy and paste the ways people try them: select to copy, Ctrl+Shift+C and Ctrl+Shift+V
 * (Cmd+C and Cmd+V on macOS are the browser's own, and xterm handles them), and a right click
 * that pastes. A paste goes through xterm's paste(), so bash gets it as a bracketed paste and
 * runs nothing before the learner presses Enter.
 */
function wireClipboard(terminal: Terminal, host: HTMLElement, tabMovesFocus: () => boolean): void {
  const paste = async () => {
    try {
      const text = await navigator.clipboard.readText();
      if (text) terminal.paste(text);
    } catch {
      // No clipboard access: the browser's own paste (Ctrl+Shift+V, Shift+Insert) still works.
    }
  };
  terminal.onSelectionChange(() => {
    const selected = terminal.getSelection();
    if (selected) void writeClipboard(selected);
  });
  terminal.attachCustomKeyEventHandler((event) => {
    // Not handled by xterm: the browser moves the focus, as Tab does everywhere else.
    if (event.key === 'Tab' && !event.ctrlKey && !event.altKey && !event.metaKey && tabMovesFocus()) return false;
    if (event.type !== 'keydown' || !event.ctrlKey || !event.shiftKey || event.altKey || event.metaKey) return true;
    const key = event.key.toLowerCase();
    if (key === 'c') {
      const selected = terminal.getSelection();
      if (selected) void writeClipboard(selected);
      event.preventDefault();
      return false;
    }
    if (key === 'v') {
      // Left to the browser, whose paste event xterm handles (as a bracketed paste).
      return false;
    }
    return true;
  });
  host.addEventListener('contextmenu', (event) => {
    if (!navigator.clipboard?.readText) return;
    event.preventDefault();
    void paste();
  });
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
  let tabMovesFocus = false;
  wireClipboard(terminal, host, () => tabMovesFocus);
  const promptListeners: (() => void)[] = [];
  // bash marks each prompt with OSC 133;A (images/sandbox/bashrc); the marks draw nothing.
  terminal.parser.registerOscHandler(133, (data) => {
    if (data === 'A') for (const listener of promptListeners) listener();
    return true;
  });
  const cwdListeners: ((path: string) => void)[] = [];
  terminal.parser.registerOscHandler(7, (data) => {
    const match = /^file:\/\/[^/]*(\/.*)$/.exec(data);
    if (match) {
      let path = match[1]!;
      try {
        path = decodeURIComponent(path);
      } catch {
        // Sent as it is (bash does not encode): keep it.
      }
      for (const listener of cwdListeners) listener(path);
    }
    return true;
  });
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
    onPrompt: (listener) => void promptListeners.push(listener),
    onCwd: (listener) => void cwdListeners.push(listener),
    setScreenReader: (on) => {
      terminal.options.screenReaderMode = on;
    },
    setTabMovesFocus: (on) => {
      tabMovesFocus = on;
    },
  };
}
