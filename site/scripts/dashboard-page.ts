/**
 * The teacher's live dashboard: a row per learner with their steps filling in as checks pass
 * (pushed by the server as server-sent events), who is stuck and why, each sandbox's state,
 * the line, and the workshop's controls.
 */
import type { Snapshot } from '../../server/workshops/workshops.ts';
import type { TeachWords } from '../teach-words.ts';
import { api, fill } from './api.ts';

type LessonTitles = Record<string, { title: string; steps: Record<string, string> }>;

function element<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string): HTMLElementTagNameMap[K] {
  const created = document.createElement(tag);
  if (text !== undefined) created.textContent = text;
  if (className) created.className = className;
  return created;
}

export function startDashboard(): void {
  const root = document.querySelector<HTMLElement>('[data-dashboard]');
  if (!root) return;
  const lang = root.dataset.lang ?? 'en';
  const w = JSON.parse(root.dataset.strings ?? '{}') as TeachWords;
  const titles = JSON.parse(root.dataset.lessons ?? '{}') as LessonTitles;
  const id = new URLSearchParams(location.search).get('id') ?? '';
  const $ = <T extends HTMLElement>(selector: string) => root.querySelector<T>(selector)!;
  const error = $('[data-error]');
  const say = (failure: unknown) => (error.textContent = failure instanceof Error ? failure.message : String(failure));
  const base = `/api/teach/workshops/${encodeURIComponent(id)}`;
  $<HTMLImageElement>('[data-qr]').src = `${base}/qr.svg`;
  $<HTMLAnchorElement>('[data-csv]').href = `${base}/results.csv`;

  let headFor = '';
  const render = (snapshot: Snapshot & { joinUrl?: string }) => {
    const { workshop } = snapshot;
    document.title = `${workshop.title} · Slipway`;
    $('[data-title]').textContent = workshop.title;
    $('[data-state]').textContent = w.states[snapshot.state];
    $('[data-ends]').textContent = new Date(workshop.endsAt).toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit' });
    $('[data-code]').textContent = workshop.code;
    const joinUrl = new URL(`/join/${workshop.code}`, location.href).href;
    const link = $<HTMLAnchorElement>('[data-join-url]');
    link.href = joinUrl;
    link.textContent = joinUrl;
    $('[data-pool]').textContent = fill(w.pool, { pooled: snapshot.pooled, target: snapshot.poolTarget });
    const waiting = $('[data-waiting]');
    waiting.hidden = snapshot.waiting === 0;
    waiting.textContent = fill(w.waiting, { count: snapshot.waiting });
    for (const button of root.querySelectorAll<HTMLButtonElement>('[data-warm], [data-end]')) button.disabled = snapshot.state === 'ended';

    // The header: a column per lesson, its steps as marks.
    const head = JSON.stringify(snapshot.lessons);
    if (head !== headFor) {
      headFor = head;
      const row = $('[data-head]');
      row.replaceChildren(element('th', w.learner), element('th', w.sandbox), ...snapshot.lessons.map((lesson) => element('th', titles[lesson.slug]?.title ?? lesson.slug)), element('th', w.progress), element('th', w.stuck), element('th', w.actions));
    }
    const total = snapshot.lessons.reduce((sum, lesson) => sum + lesson.steps.length, 0);
    $('[data-empty]').hidden = snapshot.learners.length > 0;
    $('[data-rows]').replaceChildren(
      ...snapshot.learners.map((learner) => {
        const row = element('tr');
        row.dataset.learner = learner.name;
        if (learner.stuck) row.classList.add('stuck');
        const name = element('td', learner.name);
        name.title = learner.online ? w.online : w.offline;
        if (!learner.online) name.style.color = 'var(--muted)';
        const sandbox = element('td', fill(w.sandboxStates[learner.sandbox], { place: learner.place ?? '' }));
        sandbox.dataset.sandbox = learner.sandbox;
        if (learner.outOfMemoryAt !== undefined) {
          const time = new Date(learner.outOfMemoryAt).toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit' });
          sandbox.append(element('div', fill(w.outOfMemory, { time }), 'oom'));
        }
        const lessons = snapshot.lessons.map((lesson) => {
          const cell = element('td', undefined, 'steps');
          for (const step of lesson.steps) {
            const done = learner.done[lesson.slug]?.includes(step) ?? false;
            const mark = element('span', done ? '●' : '○', done ? 'done' : 'todo');
            mark.title = `${titles[lesson.slug]?.steps[step] ?? step}: ${done ? '✓' : '…'}`;
            mark.dataset.step = `${lesson.slug}/${step}`;
            mark.dataset.done = String(done);
            cell.append(mark);
          }
          return cell;
        });
        const count = Object.values(learner.done).reduce((sum, steps) => sum + steps.length, 0);
        const stuck = element('td');
        if (learner.stuck?.reason === 'idle') stuck.textContent = fill(w.stuckIdle, { minutes: Math.round((snapshot.now - learner.stuck.since) / 60_000) });
        else if (learner.stuck?.reason === 'failing') {
          const lessonTitle = titles[learner.stuck.lesson ?? '']?.title ?? learner.stuck.lesson ?? '';
          const stepTitle = titles[learner.stuck.lesson ?? '']?.steps[learner.stuck.step ?? ''] ?? learner.stuck.step ?? '';
          const details = element('details');
          details.append(element('summary', fill(w.stuckFailing, { lesson: lessonTitle, step: stepTitle, count: learner.stuck.failures ?? 0 })), element('pre', learner.stuck.output ?? ''));
          stuck.append(details);
        }
        const actions = element('td');
        const watch = element('a', w.watch);
        watch.href = `/${lang}/teach/watch/?learner=${encodeURIComponent(learner.learnerId)}&name=${encodeURIComponent(learner.name)}`;
        watch.target = '_blank';
        watch.rel = 'noopener';
        const reset = element('button', w.reset);
        reset.type = 'button';
        reset.addEventListener('click', () => {
          if (!confirm(fill(w.confirmReset, { name: learner.name }))) return;
          api(`${base}/learners/${encodeURIComponent(learner.learnerId)}/reset`, {}).catch(say);
        });
        actions.append(watch, ' ', reset);
        row.append(name, sandbox, ...lessons, element('td', `${count} / ${total}`), stuck, actions);
        return row;
      }),
    );
  };

  $('[data-warm]').addEventListener('click', () => void api(`${base}/warm`, {}).catch(say));
  $('[data-extend]').addEventListener('click', () => void api(`${base}/extend`, { minutes: 15 }).catch(say));
  $('[data-end]').addEventListener('click', () => {
    if (confirm(w.confirmEnd)) void api(`${base}/end`, {}).catch(say);
  });
  const messageForm = $<HTMLFormElement>('[data-message-form]');
  messageForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const input = messageForm.elements.namedItem('text') as HTMLInputElement;
    api<{ pages: number }>(`${base}/message`, { text: input.value }).then(({ pages }) => {
      $('[data-message-status]').textContent = fill(w.sent, { pages });
      input.value = '';
    }, say);
  });

  // Pushed: a snapshot at once and after every change. EventSource reconnects by itself.
  const live = $('[data-live]');
  const events = new EventSource(`${base}/events`);
  events.addEventListener('message', (event: MessageEvent<string>) => {
    live.textContent = w.live;
    error.textContent = '';
    render(JSON.parse(event.data) as Snapshot);
  });
  events.addEventListener('error', () => {
    live.textContent = w.reconnecting;
    // Signed out or no such workshop: EventSource would retry forever; ask once what is wrong.
    api(base).catch((failure: unknown) => {
      say(failure);
      if ((failure as { status?: number }).status === 401) location.assign(`/${lang}/teach/`);
      if ((failure as { status?: number }).status === 404) events.close();
    });
  });
}
