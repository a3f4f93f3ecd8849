import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { hostAllowed } from './host.ts';
import { learnerCookie, learnerCookies } from './learner-cookie.ts';
import { originAllowed } from './origin.ts';

function request(headers: Record<string, string>): IncomingMessage {
  return { headers } as unknown as IncomingMessage;
}

function realExchange(headers: Record<string, string>): { request: IncomingMessage; response: ServerResponse } {
  const incoming = new IncomingMessage(new Socket());
  Object.assign(incoming.headers, headers);
  return { request: incoming, response: new ServerResponse(incoming) };
}

describe('originAllowed', () => {
  it('allows a request without Origin', () => {
    expect(originAllowed(request({ host: 'localhost:8080' }), undefined)).toBe(true);
  });

  it('allows the same host over http and https', () => {
    expect(originAllowed(request({ host: 'localhost:8080', origin: 'http://localhost:8080' }), undefined)).toBe(true);
    expect(originAllowed(request({ host: 'class.example.edu', origin: 'https://class.example.edu' }), undefined)).toBe(true);
  });

  it('refuses another host', () => {
    expect(originAllowed(request({ host: 'localhost:8080', origin: 'http://evil.example' }), undefined)).toBe(false);
  });

  it('refuses the same name on another port', () => {
    expect(originAllowed(request({ host: 'localhost:8080', origin: 'http://localhost:9090' }), undefined)).toBe(false);
  });

  it('refuses the "null" origin', () => {
    expect(originAllowed(request({ host: 'localhost:8080', origin: 'null' }), undefined)).toBe(false);
  });

  it('refuses a malformed origin', () => {
    expect(originAllowed(request({ host: 'localhost:8080', origin: 'localhost:8080' }), undefined)).toBe(false);
    expect(originAllowed(request({ host: 'localhost:8080', origin: '' }), undefined)).toBe(false);
  });

  it('refuses a ws: or file: origin even for the same host', () => {
    expect(originAllowed(request({ host: 'localhost:8080', origin: 'ws://localhost:8080' }), undefined)).toBe(false);
    expect(originAllowed(request({ host: 'localhost:8080', origin: 'file://localhost:8080' }), undefined)).toBe(false);
  });

  it('refuses any origin when the request has no Host', () => {
    expect(originAllowed(request({ origin: 'http://localhost:8080' }), undefined)).toBe(false);
  });

  it('allows the configured public URL behind a proxy', () => {
    const behindProxy = request({ host: '127.0.0.1:8080', origin: 'https://docker.example.edu' });
    expect(originAllowed(behindProxy, 'https://docker.example.edu/')).toBe(true);
    expect(originAllowed(behindProxy, 'https://docker.example.edu/slipway/')).toBe(true);
    expect(originAllowed(behindProxy, undefined)).toBe(false);
  });

  it('does not let the public URL admit other origins', () => {
    const publicUrl = 'https://docker.example.edu';
    expect(originAllowed(request({ host: '127.0.0.1:8080', origin: 'http://docker.example.edu' }), publicUrl)).toBe(false);
    expect(originAllowed(request({ host: '127.0.0.1:8080', origin: 'https://evil.example' }), publicUrl)).toBe(false);
    expect(originAllowed(request({ host: '127.0.0.1:8080', origin: 'https://docker.example.edu:8443' }), publicUrl)).toBe(false);
  });
});

const cookies = learnerCookies('a-test-secret-that-is-long-enough-0123');

describe('learner cookies', () => {
  const id = 'AbCdEfGhIjKlMnOpQrSt_-';
  const value = cookies.value(id);

  it('reads a signed id among other cookies', () => {
    expect(cookies.read(request({ cookie: `theme=dark; ${learnerCookie}=${value}; lang=zh` }))).toBe(id);
    expect(cookies.read(request({ cookie: `a=1;${learnerCookie}=${value}` }))).toBe(id);
  });

  it('returns undefined without the cookie', () => {
    expect(cookies.read(request({}))).toBeUndefined();
    expect(cookies.read(request({ cookie: 'theme=dark; lang=zh' }))).toBeUndefined();
    expect(cookies.read(request({ cookie: `x${learnerCookie}=${value}` }))).toBeUndefined();
  });

  it('refuses ids it did not sign: made up, unsigned, signed by another key, or altered', () => {
    const other = learnerCookies('another-secret-that-is-long-enough-4567');
    for (const bad of [
      id,
      `${id}.`,
      `${id}.${'A'.repeat(22)}`,
      other.value(id),
      `${'B' + id.slice(1)}.${value.split('.')[1]}`,
      `${value}.extra`,
      '',
      'short',
      'AbCdEfGhIjKlMnOpQrS"t;',
    ]) {
      expect(cookies.read(request({ cookie: `${learnerCookie}=${bad}` })), JSON.stringify(bad)).toBeUndefined();
    }
  });

  it('sets an HttpOnly, SameSite=Lax cookie it can read back, Secure when asked', () => {
    const { request: incoming, response } = realExchange({ cookie: 'theme=dark' });
    const made = cookies.ensure(incoming, response);
    expect(made).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const parts = String(response.getHeader('set-cookie')).split(';').map((part) => part.trim());
    expect(parts[0]).toBe(`${learnerCookie}=${cookies.value(made)}`);
    expect(parts).toEqual(expect.arrayContaining(['HttpOnly', 'SameSite=Lax', 'Path=/']));
    expect(parts).not.toContain('Secure');
    const secure = realExchange({});
    cookies.ensure(secure.request, secure.response, { secure: true });
    expect(String(secure.response.getHeader('set-cookie'))).toMatch(/; Secure$/);
    expect(cookies.read(request({ cookie: parts[0]! }))).toBe(made);
  });

  it('makes a different id each time, replaces a bad cookie, keeps a good one', () => {
    const first = realExchange({});
    const second = realExchange({});
    expect(cookies.ensure(first.request, first.response)).not.toBe(cookies.ensure(second.request, second.response));
    const bad = realExchange({ cookie: `${learnerCookie}=bad` });
    expect(cookies.ensure(bad.request, bad.response)).not.toBe('bad');
    const good = realExchange({ cookie: `theme=dark; ${learnerCookie}=${value}` });
    expect(cookies.ensure(good.request, good.response)).toBe(id);
    expect(good.response.hasHeader('set-cookie')).toBe(false);
  });
});

describe('hostAllowed', () => {
  it('allows localhost, literal addresses and the public host', () => {
    for (const host of ['localhost:8080', 'localhost', '127.0.0.1:8080', '192.168.1.20:8080', '[::1]:8080', '[fe80::1]', 'app.localhost:3000']) {
      expect(hostAllowed(host, undefined), host).toBe(true);
    }
    expect(hostAllowed('docker.example.edu', 'https://docker.example.edu/')).toBe(true);
    expect(hostAllowed('DOCKER.example.edu:443', 'https://docker.example.edu/')).toBe(true);
  });

  it('refuses other names: a rebinding attack names the server with a name it controls', () => {
    for (const host of ['rebind.evil.example:8080', 'evil.example', 'localhost.evil.example', '127.0.0.1.nip.io:8080', '', 'a b', undefined]) {
      expect(hostAllowed(host, 'https://docker.example.edu/'), String(host)).toBe(false);
    }
  });
});
