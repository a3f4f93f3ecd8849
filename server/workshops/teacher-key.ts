/**
 * The teacher key: what opens the teacher pages, the metrics and the workshop controls. Set
 * it with SLIPWAY_TEACHER_KEY, or one is made on the first start, kept in the state folder
 * (teacher.key, readable by this user only) and printed once, for the teacher to note.
 *
 * A request shows it either as `Authorization: Bearer <key>` (scripts, Prometheus) or as the
 * teacher cookie a browser gets from the sign-in form: the cookie holds an expiry and an HMAC
 * under the key, never the key itself, so a copied cookie stops working when it expires and
 * every cookie stops working when the key changes.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const teacherCookie = 'slipway_teacher';
/** How long a teacher stays signed in: a long workshop day. */
const cookieLifetimeSeconds = 12 * 3600;

/** The key from the state folder, made if there is none; `created` says it is new. */
export async function loadOrCreateTeacherKey(stateDir: string): Promise<{ key: string; created: boolean }> {
  const file = path.join(stateDir, 'teacher.key');
  const existing = (await readFile(file, 'utf8').catch(() => '')).trim();
  if (existing.length >= 16) return { key: existing, created: false };
  await mkdir(stateDir, { recursive: true });
  // Words a teacher can type from a printout: base64url, no padding.
  const key = randomBytes(18).toString('base64url');
  let created = true;
  await writeFile(file, `${key}\n`, { mode: 0o600, flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
    created = false;
  });
  return { key: created ? key : (await readFile(file, 'utf8')).trim(), created };
}

function equal(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export interface TeacherAuth {
  /** Whether the request carries the key (bearer) or a valid teacher cookie. */
  isTeacher(request: IncomingMessage): boolean;
  /** Whether `key` is the teacher key (the sign-in form's check). */
  matches(key: string): boolean;
  /** Signs the browser in: sets the teacher cookie. */
  signIn(response: ServerResponse, options?: { secure?: boolean; now?: number }): void;
  signOut(response: ServerResponse): void;
}

export function teacherAuth(key: string, clock: () => number = Date.now): TeacherAuth {
  const sign = (expires: string) => createHmac('sha256', key).update(`teacher:${expires}`).digest('base64url');
  const cookieValid = (request: IncomingMessage): boolean => {
    for (const part of (request.headers.cookie ?? '').split(';')) {
      const [name, value = ''] = part.trim().split('=');
      if (name !== teacherCookie) continue;
      const [expires = '', signature = ''] = value.split('.');
      if (!/^\d{1,12}$/.test(expires) || Number(expires) * 1000 < clock()) return false;
      return equal(signature, sign(expires));
    }
    return false;
  };
  return {
    isTeacher(request) {
      const header = request.headers.authorization;
      if (typeof header === 'string' && header.startsWith('Bearer ')) return equal(header.slice(7).trim(), key);
      return cookieValid(request);
    },
    matches: (candidate) => equal(candidate.trim(), key),
    signIn(response, options = {}) {
      const expires = String(Math.floor((options.now ?? clock()) / 1000) + cookieLifetimeSeconds);
      const secure = options.secure ? '; Secure' : '';
      response.appendHeader('Set-Cookie', `${teacherCookie}=${expires}.${sign(expires)}; Path=/; Max-Age=${cookieLifetimeSeconds}; HttpOnly; SameSite=Strict${secure}`);
    },
    signOut(response) {
      response.appendHeader('Set-Cookie', `${teacherCookie}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict`);
    },
  };
}
