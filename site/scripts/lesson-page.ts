/**
 * Wires a lesson page together: the terminal, its connection, the steps panel, and the
 * clickable command blocks in the lesson text.
 */
import type { ServerMessage, StepResult } from '../../server/terminal/protocol.ts';
import { TerminalConnection } from './terminal-connection.ts';
import { createTerminalView, type TerminalView } from './terminal-view.ts';

interface Strings {
  status: Record<'connecting' | 'starting' | 'waiting-engine' | 'attaching' | 'ready' | 'reconnecting' | 'exited', string>;
  errors: Record<string, string>;
  run: string;
  runTitle: string;
  done: string;
  notDone: string;
}

declare global {
  interface Window {
    /** For tests and debugging: the terminal's text and the connection state. */
    slipway?: { terminalText(): string; ready: boolean };
  }
}

function updateSteps(results: StepResult[], showHints: boolean, strings: Strings): void {
  const panel = document.querySelector<HTMLElement>('[data-steps]');
  if (!panel) return;
  let firstFailed = true;
  for (const result of results) {
    const item = panel.querySelector<HTMLElement>(`[data-step-id="${CSS.escape(result.stepId)}"]`);
    if (!item) continue;
    const hint = item.querySelector<HTMLElement>('[data-step-hint]');
    const output = item.querySelector<HTMLElement>('[data-step-output]');
    const state = item.querySelector<HTMLElement>('[data-step-state]');
    if (result.done) {
      item.dataset.state = 'done';
      if (hint) hint.hidden = true;
      if (output) output.hidden = true;
    } else {
      const show = showHints && firstFailed;
      firstFailed = false;
      item.dataset.state = show ? 'failed' : 'pending';
      if (hint) hint.hidden = !show;
      if (output) {
        output.textContent = result.output;
        output.hidden = !show || result.output === '';
      }
    }
    if (state) state.textContent = item.dataset.state === 'done' ? strings.done : strings.notDone;
  }
  const allDone = panel.querySelector<HTMLElement>('[data-all-done]');
  if (allDone) allDone.hidden = !results.every((result) => result.done);
}

function setStatus(element: HTMLElement, text: string, kind: 'info' | 'error'): void {
  element.textContent = text;
  element.dataset.kind = kind;
}

function makeCommandsClickable(view: TerminalView, connection: TerminalConnection, strings: Strings): void {
  for (const block of document.querySelectorAll<HTMLElement>('[data-lesson-text] pre[data-language="sh"]')) {
    const command = (block.textContent ?? '').trim();
    if (!command) continue;
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'run-command';
    button.textContent = `▶ ${strings.run}`;
    button.title = strings.runTitle;
    button.addEventListener('click', () => {
      connection.input(`${command}\r`);
      view.focus();
    });
    block.append(button);
  }
}

export function startLessonPage(): void {
  const root = document.querySelector<HTMLElement>('[data-terminal]');
  const screen = root?.querySelector<HTMLElement>('[data-terminal-screen]');
  const statusLine = root?.querySelector<HTMLElement>('[data-terminal-status]');
  if (!root || !screen || !statusLine) return;
  const strings = JSON.parse(root.dataset.strings ?? '{}') as Strings;
  const lessonId = root.dataset.lessonId ?? '';
  const view = createTerminalView(screen);
  const checkButton = document.querySelector<HTMLButtonElement>('[data-check-button]');
  window.slipway = { terminalText: () => view.text(), ready: false };

  let lastNotice = strings.status.connecting;
  const notice = (text: string) => {
    if (text === lastNotice) return;
    lastNotice = text;
    view.notice(text);
  };
  const onMessage = (message: ServerMessage) => {
    switch (message.type) {
      case 'status': {
        const text = strings.status[message.phase] ?? message.message;
        setStatus(statusLine, text, 'info');
        if (message.phase === 'ready') {
          window.slipway!.ready = true;
          lastNotice = '';
          view.focus();
        } else notice(text);
        break;
      }
      case 'error': {
        const text = strings.errors[message.code] ?? message.message;
        setStatus(statusLine, text, 'error');
        view.notice(`\x1b[31m${text}`);
        if (checkButton) checkButton.disabled = false;
        break;
      }
      case 'checks':
        updateSteps(message.results, message.trigger === 'button', strings);
        if (checkButton && message.trigger === 'button') {
          checkButton.disabled = false;
          checkButton.textContent = checkButton.dataset.label ?? '';
        }
        break;
      case 'exit':
        setStatus(statusLine, strings.status.exited, 'info');
        view.notice(strings.status.exited);
        break;
      case 'shell':
        // A replay that starts afresh: clear the screen first (RIS, in the output's own order).
        if (message.reset) view.write('\x1bc');
        break;
      case 'pong':
        break;
    }
  };

  const connection = new TerminalConnection(lessonId, () => ({ cols: view.cols, rows: view.rows }), {
    output: (data, parsed) => view.write(data, parsed),
    message: onMessage,
    closed: (willRetry) => {
      window.slipway!.ready = false;
      if (checkButton) {
        checkButton.disabled = false;
        checkButton.textContent = checkButton.dataset.label ?? '';
      }
      if (willRetry) {
        setStatus(statusLine, strings.status.reconnecting, 'info');
        notice(strings.status.reconnecting);
      }
    },
  });
  view.onInput((data) => {
    if (connection.shellExited) {
      if (data === '\r') connection.connect();
      return;
    }
    connection.input(data);
  });
  view.onResize((cols, rows) => connection.send({ type: 'resize', cols, rows }));
  checkButton?.addEventListener('click', () => {
    // Not connected (yet, or any more): the checks run by themselves once the shell is back.
    if (!connection.send({ type: 'check' })) return;
    checkButton.disabled = true;
    checkButton.textContent = checkButton.dataset.busyLabel ?? '';
  });
  makeCommandsClickable(view, connection, strings);
  view.notice(strings.status.connecting);
  connection.connect();
}
