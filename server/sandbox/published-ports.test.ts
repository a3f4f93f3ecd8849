import { describe, expect, it } from 'vitest';
import { parsePublishedPorts } from './published-ports.ts';

describe('parsePublishedPorts', () => {
  it('lists TCP ports published on every address, once each, sorted', () => {
    const json = JSON.stringify([
      { Names: ['/hello'], Ports: [
        { IP: '0.0.0.0', PrivatePort: 5000, PublicPort: 49153, Type: 'tcp' },
        { IP: '::', PrivatePort: 5000, PublicPort: 49153, Type: 'tcp' },
      ] },
      { Names: ['/web'], Ports: [
        { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8000, Type: 'tcp' },
        { IP: '0.0.0.0', PrivatePort: 53, PublicPort: 5353, Type: 'udp' },
        { IP: '127.0.0.1', PrivatePort: 81, PublicPort: 8001, Type: 'tcp' },
        { PrivatePort: 443, Type: 'tcp' },
      ] },
    ]);
    expect(parsePublishedPorts(json)).toEqual([
      { port: 8000, target: 80, container: 'web' },
      { port: 49153, target: 5000, container: 'hello' },
    ]);
  });

  it('answers none for what is not a container list', () => {
    expect(parsePublishedPorts('')).toEqual([]);
    expect(parsePublishedPorts('{"message":"no"}')).toEqual([]);
    expect(parsePublishedPorts('[{"Ports":"x"}]')).toEqual([]);
  });
});
