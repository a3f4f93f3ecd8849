/** The join page: a workshop code and a name, then on to the workshop's first lesson. */
import { api, ApiError } from './api.ts';

export function startJoinPage(): void {
  const form = document.querySelector<HTMLFormElement>('[data-join-form]');
  if (!form) return;
  const strings = JSON.parse(form.dataset.strings ?? '{}') as { errors: Record<string, string>; join: string; joining: string };
  const lang = form.dataset.lang ?? 'en';
  const code = form.elements.namedItem('code') as HTMLInputElement;
  const name = form.elements.namedItem('name') as HTMLInputElement;
  const error = form.querySelector<HTMLElement>('[data-join-error]')!;
  const button = form.querySelector<HTMLButtonElement>('button[type=submit]')!;
  const given = new URLSearchParams(location.search).get('code');
  if (given) code.value = given.toUpperCase();
  (given ? name : code).focus();
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    error.textContent = '';
    button.disabled = true;
    button.textContent = strings.joining;
    api<{ lessons: string[] }>('/api/join', { code: code.value.trim().toUpperCase(), name: name.value })
      .then(({ lessons }) => location.assign(`/${lang}/${lessons[0] ?? ''}/`.replace(/\/\/$/, '/')))
      .catch((failure: unknown) => {
        const known = failure instanceof ApiError ? strings.errors[failure.code] : undefined;
        error.textContent = known ?? (failure instanceof Error ? failure.message : String(failure));
        button.disabled = false;
        button.textContent = strings.join;
      });
  });
}
