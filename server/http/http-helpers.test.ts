import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ensureLearnerId, learnerCookie, readLearnerId } from './learner-cookie.ts';
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

describe('readLearnerId', () => {
  const id = 'AbCdEfGhIjKlMnOpQrSt_-';

  it('reads a valid id among other cookies', () => {
    expect(id).toHaveLength(22);
    expect(readLearnerId(request({ cookie: `theme=dark; ${learnerCookie}=${id}; lang=zh` }))).toBe(id);
    expect(readLearnerId(request({ cookie: `${learnerCookie}=${id}` }))).toBe(id);
    expect(readLearnerId(request({ cookie: `a=1;${learnerCookie}=${id}` }))).toBe(id);
  });

  it('returns undefined without the cookie', () => {
    expect(readLearnerId(request({}))).toBeUndefined();
    expect(readLearnerId(request({ cookie: 'theme=dark; lang=zh' }))).toBeUndefined();
    expect(readLearnerId(request({ cookie: `x${learnerCookie}=${id}` }))).toBeUndefined();
  });

  it('rejects malformed values', () => {
    for (const value of [
      '',
      'short',
      id.slice(0, 21),
      `${id}A`,
      'AbCdEfGhIjKlMnOpQrSt+/',
      'AbCdEfGhIjKlMnOpQrSt==',
      'AbCdEfGhIjKlMnOpQrS"t;',
      'AbCdEfGhIjKlMnOpQrSt é',
    ]) {
      expect(readLearnerId(request({ cookie: `${learnerCookie}=${value}` })), JSON.stringify(value)).toBeUndefined();
    }
  });

  it('accepts the ids ensureLearnerId makes', () => {
    const { request: incoming, response } = realExchange({});
    const made = ensureLearnerId(incoming, response);
    expect(readLearnerId(request({ cookie: `${learnerCookie}=${made}` }))).toBe(made);
  });
});

describe('ensureLearnerId', () => {
  it('sets an HttpOnly, SameSite=Lax cookie when there is none', () => {
    const { request: incoming, response } = realExchange({ cookie: 'theme=dark' });
    const id = ensureLearnerId(incoming, response);
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const header = response.getHeader('set-cookie');
    expect(typeof header).toBe('string');
    const parts = String(header).split(';').map((part) => part.trim());
    expect(parts[0]).toBe(`${learnerCookie}=${id}`);
    expect(parts).toContain('HttpOnly');
    expect(parts).toContain('SameSite=Lax');
    expect(parts).toContain('Path=/');
  });

  it('makes a different id each time', () => {
    const first = realExchange({});
    const second = realExchange({});
    expect(ensureLearnerId(first.request, first.response)).not.toBe(ensureLearnerId(second.request, second.response));
  });

  it('replaces a malformed cookie', () => {
    const { request: incoming, response } = realExchange({ cookie: `${learnerCookie}=bad` });
    const id = ensureLearnerId(incoming, response);
    expect(id).not.toBe('bad');
    expect(String(response.getHeader('set-cookie'))).toContain(`${learnerCookie}=${id}`);
  });

  it('keeps a valid cookie and sets none', () => {
    const id = 'AbCdEfGhIjKlMnOpQrSt_-';
    const { request: incoming, response } = realExchange({ cookie: `theme=dark; ${learnerCookie}=${id}` });
    expect(ensureLearnerId(incoming, response)).toBe(id);
    expect(response.getHeader('set-cookie')).toBeUndefined();
    expect(response.hasHeader('set-cookie')).toBe(false);
  });
});
