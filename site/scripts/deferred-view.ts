/**
 * A terminal view that exists before xterm.js has loaded: the page opens its terminal socket at
 * once, with a size estimated from the screen element, while xterm.js (most of the page's
 * script) is still being fetched and compiled. What arrives meanwhile is queued and written, in
 * order, when the real view is made; listeners are attached to it then.
 */
import type { TerminalView } from './terminal-view.ts';

type Factory = (host: HTMLElement) => TerminalView;

/** Roughly the cell of a 14 px monospace font; the real fit corrects it at once (a resize). */
const cellWidth = 8.4;
const cellHeight = 17;

export function deferredTerminalView(host: HTMLElement, factory: Promise<Factory>): TerminalView {
  let real: TerminalView | undefined;
  const pending: ((view: TerminalView) => void)[] = [];
  const later = (operation: (view: TerminalView) => void) => (real ? operation(real) : pending.push(operation));
  const resizeListeners: ((cols: number, rows: number) => void)[] = [];
  void factory.then((create) => {
    const view = create(host);
    real = view;
    for (const operation of pending.splice(0)) operation(view);
    // The real view fitted itself as it was made, before these listeners were on it: tell them
    // its size now (the socket was opened with the estimate).
    for (const listener of resizeListeners) listener(view.cols, view.rows);
  });
  const estimate = () => {
    const box = host.getBoundingClientRect();
    return {
      cols: Math.max(20, Math.min(1000, Math.floor((box.width || 800) / cellWidth))),
      rows: Math.max(5, Math.min(500, Math.floor((box.height || 480) / cellHeight))),
    };
  };
  return {
    get cols() {
      return real ? real.cols : estimate().cols;
    },
    get rows() {
      return real ? real.rows : estimate().rows;
    },
    write: (data, parsed) => later((view) => view.write(data, parsed)),
    notice: (text) => later((view) => view.notice(text)),
    onInput: (listener) => later((view) => view.onInput(listener)),
    onResize: (listener) => {
      if (!real) resizeListeners.push(listener);
      later((view) => view.onResize(listener));
    },
    fit: () => later((view) => view.fit()),
    focus: () => later((view) => view.focus()),
    text: () => real?.text() ?? '',
    onPrompt: (listener) => later((view) => view.onPrompt(listener)),
    onCwd: (listener) => later((view) => view.onCwd(listener)),
    setScreenReader: (on) => later((view) => view.setScreenReader(on)),
    setTabMovesFocus: (on) => later((view) => view.setTabMovesFocus(on)),
  };
}
