import { createHmac } from 'node:crypto';

/** `sha256=<lowercase hex HMAC-SHA256 of the raw body>`, the value of the `X-Agency-Signature` header. */
export function signCallbackBody(secret: string, rawBody: string | Buffer): string {
  return 'sha256=' + createHmac('sha256', secret).update(rawBody).digest('hex');
}
