/**
 * The codec endpoint for the Temporal Web UI and CLI (the remote codec protocol): `POST /codec/decode`
 * and `POST /codec/encode`, body and answer `{ payloads: [{ metadata: { k: base64 }, data: base64 }] }`.
 * Decoding shows personal data, so only operators may call it (security/authorize.ts), and every
 * call is logged with who made it. Browsers reach it from the UI's origin (CORS, `CODEC_CORS_ORIGINS`).
 *
 *   temporal workflow show -w <id> --codec-endpoint http://127.0.0.1:3000/codec --codec-auth "Bearer $(npm run -s token -- --role operator --sub me)"
 *   Web UI behind an identity provider: Data Encoder → http://127.0.0.1:3000/codec, "Pass the user access token".
 */
import type { Payload, PayloadCodec } from '@temporalio/common';
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Config } from '../config';
import { HttpError } from '../api/errors';
import { auditLog } from '../observability/logger';
import { identityOf } from './authorize';

export const CODEC_BODY_LIMIT = '4mb';
const MAX_PAYLOADS = 1000;

const base64 = z
  .string()
  .max(4_000_000)
  .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64');
/** The body of both codec routes (the Temporal UI's remote codec protocol). */
export const codecBodySchema = z.strictObject({
  payloads: z
    .array(z.object({ metadata: z.record(z.string().max(200), base64).optional(), data: base64.optional() }))
    .max(MAX_PAYLOADS),
});

type JsonPayload = { metadata?: Record<string, string>; data?: string };

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))]),
  ),
  data: new Uint8Array(Buffer.from(p.data ?? '', 'base64')),
});

const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

/** The embedded Web UI's origins unless CODEC_CORS_ORIGINS lists others. */
export function codecCorsOrigins(config: Config): string[] {
  const configured = config.env.CODEC_CORS_ORIGINS;
  if (configured)
    return configured
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean);
  const port = config.env.TEMPORAL_UI_PORT;
  return [`http://127.0.0.1:${port}`, `http://localhost:${port}`];
}

const CODEC_PATHS = new Set(['/codec/encode', '/codec/decode']);

/**
 * CORS for the codec paths only; mounted before `authorize` so that a browser can read a 401 too,
 * and so that the preflight (which carries no token) is answered.
 */
export function codecCors(origins: readonly string[]) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (!CODEC_PATHS.has(req.path)) return next();
    const origin = req.headers.origin;
    if (origin && origins.includes(origin)) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-allow-credentials', 'true');
      res.setHeader('vary', 'Origin');
    }
    if (req.method === 'OPTIONS') {
      res.setHeader('access-control-allow-methods', 'POST, OPTIONS');
      res.setHeader('access-control-allow-headers', 'content-type, x-namespace, authorization');
      res.setHeader('access-control-max-age', '600');
      res.status(204).end();
      return;
    }
    next();
  };
}

/** The encode/decode routes; authorization has already happened (operators only). */
export function codecRouter(codec: PayloadCodec): express.Router {
  const router = express.Router();
  // Histories are larger than applications: this router parses its own bodies.
  const json = express.json({ limit: CODEC_BODY_LIMIT, strict: true });

  for (const action of ['encode', 'decode'] as const) {
    router.post(`/codec/${action}`, json, async (req: Request, res: Response) => {
      const parsed = codecBodySchema.safeParse(req.body);
      if (!parsed.success)
        throw new HttpError(
          400,
          'CODEC_BODY_INVALID',
          'send { "payloads": [{ "metadata": {…}, "data": "<base64>" }] }',
        );
      const payloads = parsed.data.payloads.map(fromJson);
      let result: Payload[];
      try {
        result = action === 'encode' ? await codec.encode(payloads) : await codec.decode(payloads);
      } catch (err) {
        req.log?.warn({ err, action }, 'codec request failed');
        throw new HttpError(400, 'CODEC_FAILED', `could not ${action} the payloads (unknown key or damaged data)`);
      }
      const identity = identityOf(res);
      if (req.log)
        auditLog(req.log).info(
          {
            audit: `codec-${action}`,
            by: identity?.subject,
            namespace: req.header('x-namespace'),
            payloads: payloads.length,
          },
          `payloads ${action}d through the codec endpoint`,
        );
      res.json({ payloads: result.map(toJson) });
    });
  }
  return router;
}
