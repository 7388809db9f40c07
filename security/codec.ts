/**
 * Encryption at rest in Temporal (PIPL arts. 28, 51): a PayloadCodec that seals every payload —
 * workflow inputs and results, signals, updates, queries, memos, activity arguments and, with the
 * failure converter of ./failure-converter.ts, failure messages and stack traces — with AES-256-GCM
 * before it leaves the process. The key id travels in the payload's metadata, so keys rotate:
 * the first key encrypts, every listed key decrypts.
 *
 * Keys: `KAIBAN_CODEC_KEYS=k2:<base64 of 32 bytes>,k1:<base64>` (first = current). Without it, the
 * embedded default generates `<KAIBAN_DATA_DIR>/secrets/codec-keys` (same format) on first use;
 * production refuses to start without the variable. Rotating: prepend a new key, restart workers
 * and API; keep the old key listed until no open workflow or retained history uses it.
 *
 * Every Client and Worker takes its converter from `dataConverter(config)` (workers: also the
 * workflow bundle, through `failureConverterPath`).
 */
import { createCipheriv, createDecipheriv, randomBytes, randomFillSync } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { ConfigError, type Config } from '../config';
import { devSecretFile } from './secret-files';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
export const FAILURE_CONVERTER_PATH = require.resolve('./failure-converter');

const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

export interface CodecKey {
  id: string;
  key: Buffer;
}

export class CodecKeyUnknownError extends Error {
  override name = 'CodecKeyUnknownError';
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const utf8 = (text: string) => encoder.encode(text);
const text = (bytes: Uint8Array | null | undefined) => (bytes ? decoder.decode(bytes) : undefined);

/**
 * Random IVs drawn from a pool refilled every 256 payloads, as Node's randomUUID draws from its own: one call into the
 * system's random source per pool instead of one per payload. Each IV is copied out (createCipheriv, the sealed
 * payload) before the pool is refilled, and no part of the pool is handed out twice.
 */
const ivPool = Buffer.alloc(IV_BYTES * 256);
let ivOffset = ivPool.length;
function nextIv(): Buffer {
  if (ivOffset === ivPool.length) {
    randomFillSync(ivPool);
    ivOffset = 0;
  }
  const iv = ivPool.subarray(ivOffset, ivOffset + IV_BYTES);
  ivOffset += IV_BYTES;
  return iv;
}

/**
 * How the original payload is framed inside the ciphertext, named in the sealed payload's metadata and bound into the
 * authenticated data (a relabelled format fails to decrypt):
 * - `payload-proto`: Temporal's own Payload message, as Temporal's codec samples seal it;
 * - `payload-proto-deflate`: the same message compressed (raw DEFLATE) before sealing — written for payloads of
 *   `COMPRESS_FROM` bytes or more that shrink (JSON of statuses and filings shrinks 3–6×: the final status is the
 *   largest payload of a history);
 * - none (written by earlier versions, still read): JSON of base64 metadata and data — a third larger than the payload.
 *
 * Compression before encryption lets the ciphertext's length depend on the content. The attack that uses this
 * (CRIME) needs an attacker who mixes chosen text into a payload holding a secret and watches many lengths: here the
 * only parties who write into an application's payloads are its applicant (their own data) and operators (who may
 * reveal the personal data through the API anyway).
 */
export const FORMAT_METADATA = 'encryption-format';
const PROTO_FORMAT = 'payload-proto';
const DEFLATE_FORMAT = 'payload-proto-deflate';
/** Smaller payloads (ids, small activity results) gain too little for the work. */
export const COMPRESS_FROM = 512;
const { Payload: PayloadMessage } = temporal.api.common.v1;

/** The named framings, each with its version of the authenticated data (v1: the framing without a name). */
const AAD_VERSIONS = new Map([
  [PROTO_FORMAT, 'v2'],
  [DEFLATE_FORMAT, 'v3'],
]);

/** Binds each ciphertext to its key id and to its framing. */
const aad = (keyId: string, format: string | undefined) =>
  Buffer.from(`kaiban-codec-${(format && AAD_VERSIONS.get(format)) || 'v1'}:${keyId}`);

/** The payload's bytes to seal, and their format. */
function frame(payload: Payload): { bytes: Uint8Array; format: string } {
  const bytes = PayloadMessage.encode(payload).finish();
  if (bytes.length >= COMPRESS_FROM) {
    const compressed = deflateRawSync(bytes);
    if (compressed.length < bytes.length) return { bytes: compressed, format: DEFLATE_FORMAT };
  }
  return { bytes, format: PROTO_FORMAT };
}

function unframe(bytes: Buffer, format: string | undefined): Payload {
  if (format === PROTO_FORMAT || format === DEFLATE_FORMAT) {
    const decoded = PayloadMessage.decode(format === DEFLATE_FORMAT ? inflateRawSync(bytes) : bytes);
    const metadata: Record<string, Uint8Array> = {};
    for (const [k, v] of Object.entries(decoded.metadata ?? {})) metadata[k] = new Uint8Array(v);
    return { metadata, data: new Uint8Array(decoded.data ?? new Uint8Array()) };
  }
  const framed = JSON.parse(bytes.toString('utf8')) as { m: Record<string, string>; d: string };
  const metadata: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(framed.m)) metadata[k] = new Uint8Array(Buffer.from(v, 'base64'));
  return { metadata, data: new Uint8Array(Buffer.from(framed.d, 'base64')) };
}

export class AesGcmCodec implements PayloadCodec {
  private readonly current: CodecKey;
  private readonly byId: Map<string, Buffer>;

  constructor(keys: readonly CodecKey[]) {
    if (keys.length === 0) throw new ConfigError('the payload codec needs at least one key');
    this.current = keys[0]!;
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  get currentKeyId(): string {
    return this.current.id;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const iv = nextIv();
      const { bytes, format } = frame(payload);
      const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
      cipher.setAAD(aad(this.current.id, format));
      const sealed = Buffer.concat([iv, cipher.update(bytes), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: {
          encoding: utf8(ENCRYPTED_ENCODING),
          [KEY_ID_METADATA]: utf8(this.current.id),
          [FORMAT_METADATA]: utf8(format),
        },
        data: new Uint8Array(sealed),
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      // Payloads written before encryption was enabled stay readable.
      if (text(payload.metadata?.encoding) !== ENCRYPTED_ENCODING) return payload;
      const keyId = text(payload.metadata?.[KEY_ID_METADATA]) ?? '';
      const key = this.byId.get(keyId);
      if (!key)
        throw new CodecKeyUnknownError(`payload encrypted with key "${keyId}", which is not in KAIBAN_CODEC_KEYS`);
      const sealed = Buffer.from(payload.data ?? new Uint8Array());
      if (sealed.length < IV_BYTES + TAG_BYTES) throw new Error('encrypted payload is truncated');
      const format = text(payload.metadata?.[FORMAT_METADATA]);
      if (format !== undefined && !AAD_VERSIONS.has(format))
        throw new Error(
          `encrypted payload in an unknown format "${format}": written by a newer Kaiban? Run the same version in the API and every worker`,
        );
      const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
      decipher.setAAD(aad(keyId, format));
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return unframe(plain, format);
    });
  }
}

/** Parses `k2:<base64>,k1:<base64>`; the first key is the current one. */
export function parseCodecKeys(spec: string, variable = 'KAIBAN_CODEC_KEYS'): CodecKey[] {
  const keys = spec
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const colon = part.indexOf(':');
      const id = part.slice(0, colon);
      const key = Buffer.from(part.slice(colon + 1), 'base64');
      if (colon <= 0 || !KEY_ID.test(id))
        throw new ConfigError(`${variable}: each key is <id>:<base64>, the id of letters, digits, . _ -`);
      if (key.length !== 32)
        throw new ConfigError(`${variable}: key "${id}" must be 32 bytes (base64 of 32 random bytes)`);
      return { id, key };
    });
  if (keys.length === 0) throw new ConfigError(`${variable} lists no key`);
  if (new Set(keys.map((k) => k.id)).size !== keys.length) throw new ConfigError(`${variable}: key ids must be unique`);
  return keys;
}

export function newCodecKeySpec(id = 'k1'): string {
  return `${id}:${randomBytes(32).toString('base64')}`;
}

export function codecKeysFromConfig(config: Config): CodecKey[] {
  if (config.env.KAIBAN_CODEC_KEYS) return parseCodecKeys(config.env.KAIBAN_CODEC_KEYS);
  return parseCodecKeys(
    devSecretFile(config, 'codec-keys', 'KAIBAN_CODEC_KEYS', () => newCodecKeySpec('k1')),
    'secrets/codec-keys',
  );
}

/** The one data converter of every Client and Worker. */
export function dataConverterFromKeys(keys: readonly CodecKey[]): DataConverter {
  return { payloadCodecs: [new AesGcmCodec(keys)], failureConverterPath: FAILURE_CONVERTER_PATH };
}

export function dataConverter(config: Config): DataConverter {
  return dataConverterFromKeys(codecKeysFromConfig(config));
}
