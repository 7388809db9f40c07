/**
 * The embedded default's one-click sign-in (POST /console/dev-token) answers a caller on this machine that addressed
 * it as this machine — not a page of another site whose name was re-pointed at 127.0.0.1 (DNS rebinding), which
 * reaches the server from loopback under its own Host.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { errorHandler } from '../../api/errors';
import { consoleRouter } from '../../api/routes/console';

let server: http.Server;
let port: number;

beforeAll(async () => {
  const app = express();
  app.use(express.json());
  app.use(consoleRouter({ devToken: async (role) => `token-of-${role}` }));
  app.use(errorHandler);
  server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** A request to the loopback server with the Host header a browser would send for `host`. */
function request(method: string, path: string, host: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path, headers: { host, 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('the development sign-in', () => {
  it.each(['127.0.0.1', 'localhost', '[::1]'])('mints a token for a page addressed as %s', async (name) => {
    const minted = await request('POST', '/console/dev-token', `${name}:${port}`, '{"role":"operator"}');
    expect(minted.status).toBe(200);
    expect(minted.body).toContain('token-of-operator');
    const config = await request('GET', '/console/config.json', `${name}:${port}`);
    expect(JSON.parse(config.body)).toMatchObject({ devSignIn: true });
  });

  it('answers 404 to a page of another name that reaches this machine (DNS rebinding), and offers it no sign-in', async () => {
    for (const host of [`evil.example:${port}`, 'evil.example', `localhost.evil.example:${port}`]) {
      const minted = await request('POST', '/console/dev-token', host, '{"role":"operator"}');
      expect(minted.status).toBe(404);
      expect(minted.body).not.toContain('token-of');
      const config = await request('GET', '/console/config.json', host);
      expect(JSON.parse(config.body)).toMatchObject({ devSignIn: false });
    }
  });
});
