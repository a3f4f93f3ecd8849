/**
 * The workshop API. Teachers (the teacher key, or the cookie its sign-in form gives) create and
 * run workshops under /api/teach/; learners join with a code and a name at /api/join. State
 * changes are POSTs with a JSON body, from this site only (Origin and Host checked, as for the
 * terminal socket), and small.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import qrcode from 'qrcode-generator';
import { z } from 'zod';
import type { Logger } from '../log.ts';
import type { LearnerCookies } from '../http/learner-cookie.ts';
import { hostAllowed } from '../http/host.ts';
import { originAllowed } from '../http/origin.ts';
import { ApiError } from '../../protocol/api-error.ts';
import { json, parse, readJson } from '../http/json.ts';
import type { TeacherAuth } from './teacher-key.ts';
import { joinCodePattern, workshopInputSchema } from './workshop-store.ts';
import { WorkshopError, type Workshops } from './workshops.ts';

export interface WorkshopRoutesOptions {
  workshops: Workshops;
  teacher: TeacherAuth;
  cookies: LearnerCookies;
  publicUrl: string | undefined;
  log: Logger;
  /** How often a dashboard's event stream sends a fresh snapshot even when nothing was said to change (sandbox states, the line). */
  refreshMs?: number;
}

const lang = (request: IncomingMessage) => (/^\s*zh/i.test(String(request.headers['accept-language'] ?? '')) ? 'zh' : 'en');

const joinSchema = z.object({ code: z.string().max(20), name: z.string().trim().min(1, 'type your name').max(40, 'a name of at most 40 characters') }).strict();
const messageSchema = z.object({ text: z.string().trim().min(1).max(500) }).strict();
const extendSchema = z.object({ minutes: z.number().int().min(1).max(24 * 60) }).strict();

/** Handles the workshop routes; returns false for any other path. */
export function workshopRoutes(options: WorkshopRoutesOptions) {
  const { workshops, teacher, cookies, log } = options;
  const secure = options.publicUrl?.startsWith('https:') ?? false;

  const joinUrl = (request: IncomingMessage, code: string) => {
    const base = options.publicUrl ?? `http://${request.headers.host ?? 'localhost'}/`;
    return new URL(`/join/${code}`, base).href;
  };
  const publicWorkshop = (request: IncomingMessage, workshop: ReturnType<Workshops['store']['get']> & object) => ({ ...workshop, joinUrl: joinUrl(request, workshop.code) });

  /** The teacher's routes, after the key was checked. */
  const teach = async (request: IncomingMessage, response: ServerResponse, parts: string[]): Promise<void> => {
    const [, , , resource, id, action, learnerId, learnerAction] = parts;
    const method = request.method ?? 'GET';
    if (resource === 'workshops' && id === undefined) {
      if (method === 'GET') return json(response, 200, { workshops: workshops.store.list().map((workshop) => publicWorkshop(request, workshop)) });
      if (method === 'POST') {
        const input = parse(workshopInputSchema, await readJson(request));
        try {
          return json(response, 201, { workshop: publicWorkshop(request, workshops.create(input)) });
        } catch (error) {
          if (error instanceof WorkshopError) throw new ApiError(400, 'BAD_REQUEST', error.message);
          throw error;
        }
      }
    }
    if (resource !== 'workshops' || id === undefined || !/^[0-9a-f]{16}$/.test(id)) throw new ApiError(404, 'NOT_FOUND', 'No such teacher route.');
    const workshop = workshops.store.get(id);
    if (!workshop) throw new ApiError(404, 'NOT_FOUND', 'No such workshop.');
    if (method === 'GET' && action === undefined) return json(response, 200, { ...(await workshops.snapshot(id)), joinUrl: joinUrl(request, workshop.code) });
    if (method === 'GET' && action === 'events') return events(request, response, id);
    if (method === 'GET' && action === 'qr.svg') {
      const code = qrcode(0, 'M');
      code.addData(joinUrl(request, workshop.code));
      code.make();
      response.setHeader('Content-Type', 'image/svg+xml');
      response.setHeader('Cache-Control', 'no-store');
      return void response.end(code.createSvgTag({ cellSize: 8, margin: 4, scalable: true }));
    }
    if (method === 'GET' && action === 'results.csv') {
      response.setHeader('Content-Type', 'text/csv; charset=utf-8');
      response.setHeader('Content-Disposition', `attachment; filename="workshop-${workshop.code}.csv"`);
      response.setHeader('Cache-Control', 'no-store');
      // A BOM, so that spreadsheet programs read learners' names in UTF-8.
      return void response.end(`\uFEFF${await workshops.csv(id)}`);
    }
    if (method !== 'POST') throw new ApiError(405, 'METHOD', 'Use POST for this route.');
    const body = await readJson(request);
    if (action === 'message') {
      const { text } = parse(messageSchema, body);
      return json(response, 200, { pages: workshops.message(id, text) });
    }
    if (action === 'extend') {
      const { minutes } = parse(extendSchema, body);
      return json(response, 200, { workshop: workshops.extend(id, minutes) });
    }
    if (action === 'end') return json(response, 200, { workshop: await workshops.end(id) });
    if (action === 'warm') {
      workshops.warm(id);
      return json(response, 200, { ok: true });
    }
    if (action === 'learners' && learnerId !== undefined && learnerAction === 'reset') {
      if (!(await workshops.reset(id, learnerId))) throw new ApiError(404, 'NOT_FOUND', 'That learner is not in this workshop.');
      return json(response, 200, { ok: true });
    }
    throw new ApiError(404, 'NOT_FOUND', 'No such teacher route.');
  };

  /** Server-sent events: a snapshot at once, then after every change (at most 4 a second) and every few seconds. */
  const events = (request: IncomingMessage, response: ServerResponse, id: string) => {
    response.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
    let timer: NodeJS.Timeout | undefined;
    let sending = false;
    let again = false;
    const send = async () => {
      if (sending) {
        again = true;
        return;
      }
      sending = true;
      try {
        const snapshot = await workshops.snapshot(id);
        // A dashboard that does not read is not fed: its snapshots are dropped, not queued.
        if (!response.destroyed && response.writableLength < 256 * 1024) response.write(`data: ${JSON.stringify(snapshot)}\n\n`);
      } catch (error) {
        log.warn('dashboard snapshot failed', { error });
      } finally {
        sending = false;
        if (again) {
          again = false;
          soon();
        }
      }
    };
    const soon = () => {
      if (timer === undefined) timer = setTimeout(() => ((timer = undefined), void send()), 250);
    };
    const unsubscribe = workshops.subscribe(id, soon);
    const refresh = setInterval(() => void send(), options.refreshMs ?? 3000);
    void send();
    request.on('close', () => {
      unsubscribe();
      clearInterval(refresh);
      clearTimeout(timer);
    });
  };

  const join = async (request: IncomingMessage, response: ServerResponse) => {
    const { code, name } = parse(joinSchema, await readJson(request));
    const learnerId = cookies.ensure(request, response, { secure });
    const joined = workshops.join(code, learnerId, name);
    if (!joined) throw new ApiError(404, 'UNKNOWN_CODE', 'There is no workshop with that code. Check it with your teacher.');
    const { workshop, result } = joined;
    if (!result.ok) {
      const sentences = {
        NAME_TAKEN: 'Someone in this workshop already has that name. Choose another, or ask your teacher.',
        FULL: 'Every seat in this workshop is taken. Ask your teacher.',
        ENDED: 'This workshop has ended.',
      } as const;
      throw new ApiError(409, result.reason, sentences[result.reason]);
    }
    // Back by name after losing the cookie: this browser becomes that learner again.
    if (result.rejoined) response.setHeader('Set-Cookie', `slipway_learner=${cookies.value(result.learnerId)}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`);
    return json(response, 200, { ok: true, rejoined: result.rejoined, title: workshop.title, lessons: workshop.lessons, startsAt: workshop.startsAt });
  };

  /** Handles the request if it is a workshop route; false otherwise. */
  return function handle(request: IncomingMessage, response: ServerResponse, url: URL): boolean {
    const path = url.pathname;
    const method = request.method ?? 'GET';
    // Short links for the projector and for teachers: /join/ABC123, /teach.
    const short = /^\/join\/([A-Za-z0-9]{6})\/?$/.exec(path);
    if (short && method === 'GET') {
      const code = short[1]!.toUpperCase();
      response.statusCode = 302;
      response.setHeader('Location', `/${lang(request)}/join/?code=${joinCodePattern.test(code) ? code : ''}`);
      response.end();
      return true;
    }
    if ((path === '/teach' || path === '/teach/') && method === 'GET') {
      response.statusCode = 302;
      response.setHeader('Location', `/${lang(request)}/teach/`);
      response.end();
      return true;
    }
    const isJoin = path === '/api/join';
    if (!isJoin && !path.startsWith('/api/teach/')) return false;

    const fail = (error: unknown) => {
      if (error instanceof ApiError) return json(response, error.status, { error: error.code, message: error.message });
      log.error('workshop request failed', { error, path });
      if (!response.headersSent) json(response, 500, { error: 'INTERNAL', message: 'Something went wrong on the server.' });
      else response.destroy();
    };
    if (!hostAllowed(request.headers.host, options.publicUrl)) return (fail(new ApiError(403, 'FORBIDDEN', 'Unknown host name.')), true);
    // A state change only from this site's own pages (no cross-site form or fetch).
    if (method !== 'GET' && method !== 'HEAD' && (request.headers.origin === undefined ? false : !originAllowed(request, options.publicUrl))) {
      return (fail(new ApiError(403, 'FORBIDDEN', 'This request must come from this site.')), true);
    }
    if (isJoin) {
      if (method !== 'POST') return (fail(new ApiError(405, 'METHOD', 'Use POST to join.')), true);
      join(request, response).catch(fail);
      return true;
    }
    if (path === '/api/teach/signin' && method === 'POST') {
      readJson(request)
        .then((body) => {
          const { key } = parse(z.object({ key: z.string().max(200) }).strict(), body);
          if (!teacher.matches(key)) {
            log.info('teacher sign-in refused');
            throw new ApiError(401, 'BAD_KEY', 'That is not the teacher key.');
          }
          teacher.signIn(response, { secure });
          json(response, 200, { ok: true });
        })
        .catch(fail);
      return true;
    }
    if (path === '/api/teach/signout' && method === 'POST') {
      teacher.signOut(response);
      json(response, 200, { ok: true });
      return true;
    }
    if (!teacher.isTeacher(request)) {
      response.setHeader('WWW-Authenticate', 'Bearer realm="slipway teacher"');
      fail(new ApiError(401, 'TEACHER_ONLY', 'Sign in with the teacher key first.'));
      return true;
    }
    let parts: string[];
    try {
      parts = path.split('/').map(decodeURIComponent);
    } catch {
      return (fail(new ApiError(400, 'BAD_REQUEST', 'The path is not valid.')), true);
    }
    teach(request, response, parts).catch(fail);
    return true;
  };
}
