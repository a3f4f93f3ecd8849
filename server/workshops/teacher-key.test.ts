import { mkdtempSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadOrCreateTeacherKey, teacherAuth } from './teacher-key.ts';

const request = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
function cookieFrom(auth: ReturnType<typeof teacherAuth>, now?: number): string {
  const headers: string[] = [];
  auth.signIn({ appendHeader: (_: string, value: string) => headers.push(value) } as unknown as ServerResponse, now === undefined ? {} : { now });
  return headers[0]!.split(';')[0]!;
}

describe('teacher key', () => {
  it('is made once, kept readable by its owner only, and found again', async () => {
    const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'slipway-teacher-')), 'state');
    const first = await loadOrCreateTeacherKey(dir);
    expect(first.created).toBe(true);
    expect(first.key).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(statSync(path.join(dir, 'teacher.key')).mode & 0o777).toBe(0o600);
    expect(await loadOrCreateTeacherKey(dir)).toEqual({ key: first.key, created: false });
  });

  it('lets in the bearer of the key or of a cookie signed with it, and nobody else', () => {
    let now = 1_800_000_000_000;
    const auth = teacherAuth('the-teacher-key-1234', () => now);
    expect(auth.isTeacher(request({ authorization: 'Bearer the-teacher-key-1234' }))).toBe(true);
    expect(auth.isTeacher(request({ authorization: 'Bearer the-teacher-key-123' }))).toBe(false);
    expect(auth.isTeacher(request({}))).toBe(false);
    const cookie = cookieFrom(auth);
    expect(cookie).not.toContain('the-teacher-key');
    expect(auth.isTeacher(request({ cookie: `a=b; ${cookie}` }))).toBe(true);
    // Another key's cookie, a cookie whose expiry was moved, and an expired one.
    expect(teacherAuth('another-key-56789012', () => now).isTeacher(request({ cookie }))).toBe(false);
    const [name, value] = cookie.split('=');
    const [expires, signature] = value!.split('.');
    expect(auth.isTeacher(request({ cookie: `${name}=${Number(expires) + 3600}.${signature}` }))).toBe(false);
    now += 13 * 3600 * 1000;
    expect(auth.isTeacher(request({ cookie }))).toBe(false);
  });

  it('matches the key typed into the sign-in form, spaces around it forgiven', () => {
    const auth = teacherAuth('the-teacher-key-1234');
    expect(auth.matches(' the-teacher-key-1234\n')).toBe(true);
    expect(auth.matches('the-teacher-key')).toBe(false);
  });
});
