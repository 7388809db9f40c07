/**
 * The operator console at /console: static files built by scripts/build-console.ts into
 * console/dist. The files hold no data (every API call the page makes carries the operator's
 * token), so they are public. Hashed assets are cached for a year; index.html is revalidated.
 *
 * In the embedded default only (the generated development secret, NODE_ENV not production, a caller
 * on this machine that addressed it as this machine), POST /console/dev-token mints a short-lived token per role
 * for one-click sign-in.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { type Request, type Response } from 'express';
import { z } from 'zod';
import type { Config } from '../../config';
import { signToken, type Role } from '../../security/jwt';
import { isProduction } from '../../security/secret-files';
import { HttpError } from '../errors';
import { API_MESSAGES } from '../messages';

export const CONSOLE_DIST = path.resolve(__dirname, '../../console/dist');
export const DEV_TOKEN_TTL = '8h';
const HASHED_ASSET = /-[A-Z0-9]{8}\.(js|css)$/;
const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The Host the browser addressed is this machine too: a page of another site whose name is re-pointed at 127.0.0.1
 * (DNS rebinding) reaches the server from loopback, but under its own name.
 */
function addressedAsLoopback(host: string | undefined): boolean {
  if (!host) return false;
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!;
  return LOOPBACK_NAMES.has(name.toLowerCase());
}

export type DevTokenMinter = (role: Role) => Promise<string>;

export interface ConsoleOptions {
  distDir?: string;
  /** Present only in the embedded default: see devTokenMinter. */
  devToken?: DevTokenMinter;
  /** The token claim that holds the role (AUTH_ROLE_CLAIM), so the page can say who is signed in. */
  roleClaim?: string;
}

/**
 * The dev sign-in exists only where `npm run token` would work without any configured secret: no
 * identity provider, no AUTH_SECRET, not production. Anywhere else tokens come from the real issuer.
 */
export function devTokenMinter(config: Config): DevTokenMinter | undefined {
  const { env } = config;
  if (isProduction(config) || env.AUTH_JWKS_URL || env.AUTH_PUBLIC_KEY || env.AUTH_SECRET) return undefined;
  return (role) => signToken(config, { subject: `dev-${role}`, role }, DEV_TOKEN_TTL);
}

/** The roles that may use the console (an applicant uses the API). */
const CONSOLE_ROLES = ['operator', 'supervisor'] as const satisfies readonly Role[];
const devTokenBody = z.strictObject({ role: z.enum(CONSOLE_ROLES) });

const notBuilt = `<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>Kaiban console</title>
<p>运营控制台尚未构建：请运行 <code>npm run build:console</code>（<code>npm run setup</code> 也会构建）。</p>
<p>The operator console is not built: run <code>npm run build:console</code> (<code>npm run setup</code> builds it too).</p></html>`;

export function consoleRouter(options: ConsoleOptions = {}): express.Router {
  const distDir = options.distDir ?? CONSOLE_DIST;
  const router = express.Router();
  const devSignIn = (req: Request) =>
    options.devToken !== undefined &&
    LOOPBACK.has(req.socket.remoteAddress ?? '') &&
    addressedAsLoopback(req.headers.host);

  const sendIndex = (_req: Request, res: Response) => {
    const index = path.join(distDir, 'index.html');
    if (!existsSync(index)) {
      res.status(503).type('html').setHeader('cache-control', 'no-store').send(notBuilt);
      return;
    }
    res.setHeader('cache-control', 'no-cache');
    res.sendFile(index, { cacheControl: false });
  };
  router.get('/console', sendIndex);

  router.get('/console/config.json', (req, res) => {
    res.setHeader('cache-control', 'no-store');
    res.json({
      devSignIn: devSignIn(req),
      // The console's own roles: an applicant token is refused by the console (`npm run token` gives one for the API).
      roles: CONSOLE_ROLES,
      roleClaim: options.roleClaim ?? 'role',
    });
  });

  router.post('/console/dev-token', async (req, res) => {
    if (!devSignIn(req)) throw new HttpError(404, 'NOT_FOUND', API_MESSAGES.routeNotFound);
    const parsed = devTokenBody.safeParse(req.body);
    if (!parsed.success) throw new HttpError(400, 'VALIDATION_FAILED', API_MESSAGES.consoleRole(CONSOLE_ROLES));
    const { role } = parsed.data;
    req.log?.info({ role }, 'development token issued for the console');
    res.setHeader('cache-control', 'no-store');
    res.json({ token: await options.devToken!(role), role, subject: `dev-${role}`, expiresIn: DEV_TOKEN_TTL });
  });

  router.use(
    '/console',
    express.static(distDir, {
      index: false,
      redirect: false,
      dotfiles: 'ignore',
      setHeaders: (res, file) => {
        res.setHeader('cache-control', HASHED_ASSET.test(file) ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    }),
  );
  return router;
}
