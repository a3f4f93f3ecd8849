/**
 * The keys a phone keyboard lacks (Ctrl, Esc, Tab, arrows), as a bar of buttons under the
 * terminal on small screens. Ctrl is sticky: it applies to the next key typed.
 */
const sequences: Record<string, string> = {
  esc: '\x1b',
  tab: '\t',
  up: '\x1b[A',
  down: '\x1b[B',
  right: '\x1b[C',
  left: '\x1b[D',
  'ctrl-c': '\x03',
};

/** The control character for a key typed with Ctrl (Ctrl+C is \x03), or the key unchanged. */
export function withCtrl(data: string): string {
  if (data.length !== 1) return data;
  const code = data.toUpperCase().charCodeAt(0);
  // @ A–Z [ \ ] ^ _ map to 0x00–0x1f; anything else is sent as typed.
  return code >= 0x40 && code <= 0x5f ? String.fromCharCode(code - 0x40) : data;
}

export interface KeyBar {
  /** What the terminal's input becomes (Ctrl applied once, if it is pressed). */
  transform(data: string): string;
}

export function wireKeyBar(bar: HTMLElement | null, send: (data: string) => void, focus: () => void): KeyBar {
  const ctrl = bar?.querySelector<HTMLButtonElement>('[data-key="ctrl"]') ?? null;
  const ctrlOn = () => ctrl?.getAttribute('aria-pressed') === 'true';
  const setCtrl = (on: boolean) => ctrl?.setAttribute('aria-pressed', String(on));
  for (const button of bar?.querySelectorAll<HTMLButtonElement>('[data-key]') ?? []) {
    // Keep the terminal's focus (and the phone's keyboard) while a key is tapped.
    button.addEventListener('mousedown', (event) => event.preventDefault());
    button.addEventListener('click', () => {
      const key = button.dataset.key ?? '';
      if (key === 'ctrl') setCtrl(!ctrlOn());
      else {
        send(sequences[key] ?? '');
        setCtrl(false);
      }
      focus();
    });
  }
  return {
    transform: (data) => {
      if (!ctrlOn()) return data;
      setCtrl(false);
      return withCtrl(data);
    },
  };
}
