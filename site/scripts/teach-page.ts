/** The teacher's start page: sign in with the teacher key, list workshops, create one. */
import { api, ApiError } from './api.ts';

interface WorkshopEntry {
  id: string;
  code: string;
  title: string;
  startsAt: number;
  endsAt: number;
  endedAt?: number;
}

export function startTeachPage(): void {
  const root = document.querySelector<HTMLElement>('[data-teach]');
  if (!root) return;
  const lang = root.dataset.lang ?? 'en';
  const strings = JSON.parse(root.dataset.strings ?? '{}') as { errors: Record<string, string>; states: Record<string, string>; noWorkshops: string };
  const signIn = root.querySelector<HTMLElement>('[data-signin]')!;
  const signedIn = root.querySelector<HTMLElement>('[data-signed-in]')!;
  const list = root.querySelector<HTMLElement>('[data-workshop-list]')!;
  const sentence = (failure: unknown) => (failure instanceof ApiError ? (strings.errors[failure.code] ?? failure.message) : String(failure));

  const dashboard = (id: string) => `/${lang}/teach/workshop/?id=${id}`;
  const show = async () => {
    try {
      const { workshops } = await api<{ workshops: WorkshopEntry[] }>('/api/teach/workshops');
      signIn.hidden = true;
      signedIn.hidden = false;
      list.replaceChildren(
        ...workshops.map((workshop) => {
          const item = document.createElement('li');
          const link = document.createElement('a');
          link.href = dashboard(workshop.id);
          link.textContent = workshop.title;
          const code = document.createElement('code');
          code.textContent = workshop.code;
          const now = Date.now();
          const state = workshop.endedAt !== undefined || workshop.endsAt <= now ? 'ended' : workshop.startsAt > now ? 'upcoming' : 'running';
          item.append(link, ' ', code, ` · ${new Date(workshop.startsAt).toLocaleString(lang)} · ${strings.states[state]}`);
          return item;
        }),
      );
      if (workshops.length === 0) list.textContent = strings.noWorkshops;
    } catch (failure) {
      if (failure instanceof ApiError && failure.status === 401) {
        signedIn.hidden = true;
        signIn.hidden = false;
        signIn.querySelector<HTMLInputElement>('input[name=key]')?.focus();
      } else list.textContent = sentence(failure);
    }
  };

  const signInForm = root.querySelector<HTMLFormElement>('[data-signin-form]')!;
  signInForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const error = signInForm.querySelector<HTMLElement>('[data-signin-error]')!;
    error.textContent = '';
    const key = (signInForm.elements.namedItem('key') as HTMLInputElement).value;
    api('/api/teach/signin', { key }).then(show, (failure: unknown) => (error.textContent = sentence(failure)));
  });
  root.querySelector('[data-signout]')?.addEventListener('click', () => void api('/api/teach/signout', {}).then(show));

  const create = root.querySelector<HTMLFormElement>('[data-create-form]')!;
  const start = create.elements.namedItem('startsAt') as HTMLInputElement;
  // Now, in the teacher's own time zone, to the minute.
  const now = new Date();
  now.setSeconds(0, 0);
  start.value = new Date(now.getTime() - now.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
  create.addEventListener('submit', (event) => {
    event.preventDefault();
    const error = create.querySelector<HTMLElement>('[data-create-error]')!;
    error.textContent = '';
    const field = (name: string) => create.elements.namedItem(name) as HTMLInputElement;
    const startsAt = new Date(field('startsAt').value).getTime();
    const body = {
      title: field('title').value,
      lessons: [...create.querySelectorAll<HTMLInputElement>('input[name=lessons]:checked')].map((box) => box.value),
      seats: Number(field('seats').value),
      startsAt,
      endsAt: startsAt + Number(field('minutes').value) * 60_000,
      allowRejoin: field('allowRejoin').checked,
    };
    api<{ workshop: WorkshopEntry }>('/api/teach/workshops', body).then(
      ({ workshop }) => location.assign(dashboard(workshop.id)),
      (failure: unknown) => (error.textContent = sentence(failure)),
    );
  });
  void show();
}
