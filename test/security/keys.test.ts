/**
 * Where keys come from and what they accept, without a Temporal server: bearer tokens (dev secret,
 * `npm run token`, a PEM public key, a JWKS endpoint) and the payload codec's keys.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { ConfigError, loadConfig } from '../../config';
import {
  AesGcmCodec,
  codecKeysFromConfig,
  COMPRESS_FROM,
  FORMAT_METADATA,
  newCodecKeySpec,
  parseCodecKeys,
} from '../../security/codec';
import { AuthenticationError, AuthenticationUnavailableError, createTokenVerifier } from '../../security/jwt';
import { apiSecurityFromConfig } from '../../security';
import { ownerIndexKeyFromConfig, ownerTagger } from '../../security/owner-index';

const run = promisify(execFile);
const freshDataDir = () => mkdtempSync(path.join(os.tmpdir(), 'kaiban-keys-'));
/** The developer's shell must not leak into these configurations. */
const clean = {
  AUTH_SECRET: undefined,
  AUTH_JWKS_URL: undefined,
  AUTH_PUBLIC_KEY: undefined,
  KAIBAN_CODEC_KEYS: undefined,
  KAIBAN_OWNER_INDEX_KEY: undefined,
  AGENCY_CALLBACK_SECRET: undefined,
  NODE_ENV: 'development',
  AUTH_ISSUER: 'kaiban',
  AUTH_AUDIENCE: 'kaiban',
  AUTH_ROLE_CLAIM: 'role',
};
const configFor = (extra: Record<string, string | undefined>) => loadConfig({ ...process.env, ...clean, ...extra });

describe('the embedded default', () => {
  it('when `npm run token` prints a token, then the API of the same data folder accepts it', async () => {
    const dataDir = freshDataDir();
    const { stdout } = await run(
      process.execPath,
      [require.resolve('tsx/cli'), 'scripts/token.ts', '--role', 'operator', '--sub', 'op1'],
      {
        cwd: path.resolve(__dirname, '../..'),
        env: { ...process.env, ...clean, KAIBAN_DATA_DIR: dataDir } as NodeJS.ProcessEnv,
      },
    );
    const verifier = createTokenVerifier(configFor({ KAIBAN_DATA_DIR: dataDir }));
    expect(verifier.source).toBe('dev-secret');
    await expect(verifier.verify(stdout.trim())).resolves.toEqual({ subject: 'op1', role: 'operator' });
    // The secret is the owner's alone, and another data folder's API does not accept the token — and says why.
    expect(statSync(path.join(dataDir, 'secrets', 'jwt-dev-secret')).mode & 0o077).toBe(0);
    const elsewhere = createTokenVerifier(configFor({ KAIBAN_DATA_DIR: freshDataDir() })).verify(stdout.trim());
    await expect(elsewhere).rejects.toBeInstanceOf(AuthenticationError);
    await expect(elsewhere).rejects.toMatchObject({
      code: 'TOKEN_INVALID',
      message: expect.stringContaining('`npm run token` and the same KAIBAN_DATA_DIR as the server'),
    });
  }, 30_000);

  it('generates the codec keys once, in the data folder, and reads the same keys afterwards', () => {
    const dataDir = freshDataDir();
    const first = codecKeysFromConfig(configFor({ KAIBAN_DATA_DIR: dataDir }));
    const second = codecKeysFromConfig(configFor({ KAIBAN_DATA_DIR: dataDir }));
    expect(second).toEqual(first);
    expect(readFileSync(path.join(dataDir, 'secrets', 'codec-keys'), 'utf8')).toMatch(/^k1:[A-Za-z0-9+/]{43}=\n$/);
  });

  it("generates the owner index key once, in the data folder; an applicant's digest is keyed and holds nothing of them", () => {
    const dataDir = freshDataDir();
    const key = ownerIndexKeyFromConfig(configFor({ KAIBAN_DATA_DIR: dataDir }));
    expect(ownerIndexKeyFromConfig(configFor({ KAIBAN_DATA_DIR: dataDir }))).toBe(key);
    expect(statSync(path.join(dataDir, 'secrets', 'owner-index-key')).mode & 0o077).toBe(0);
    const set = 'an-owner-index-key-of-this-deployment';
    expect(ownerIndexKeyFromConfig(configFor({ KAIBAN_DATA_DIR: dataDir, KAIBAN_OWNER_INDEX_KEY: set }))).toBe(set);
    expect(() => configFor({ KAIBAN_OWNER_INDEX_KEY: 'too-short' })).toThrow(/KAIBAN_OWNER_INDEX_KEY/);

    // A subject that is a mobile number: the same digest every time, another under another key, and not the number.
    const tag = ownerTagger(key)('13807910001');
    expect(tag).toMatch(/^o1:[A-Za-z0-9_-]{43}$/);
    expect(ownerTagger(key)('13807910001')).toBe(tag);
    expect(ownerTagger(key)('13807910002')).not.toBe(tag);
    expect(ownerTagger(set)('13807910001')).not.toBe(tag);
  });

  it('in production, refuses to start without configured keys rather than generating any', () => {
    const production = configFor({
      NODE_ENV: 'production',
      KAIBAN_DATA_DIR: freshDataDir(),
      AGENCY_CALLBACK_SECRET: 'a-callback-secret-of-this-deployment',
    });
    expect(() => createTokenVerifier(production)).toThrow(ConfigError);
    expect(() => codecKeysFromConfig(production)).toThrow(ConfigError);
    expect(() => ownerIndexKeyFromConfig(production)).toThrow(/KAIBAN_OWNER_INDEX_KEY must be set in production/);
  });

  it('in production, the API needs the owner index key only where applications carry KaibanOwner', () => {
    const production = (searchAttributes: string) =>
      configFor({
        NODE_ENV: 'production',
        KAIBAN_DATA_DIR: freshDataDir(),
        AGENCY_CALLBACK_SECRET: 'a-callback-secret-of-this-deployment',
        AUTH_SECRET: randomBytes(32).toString('base64url'),
        KAIBAN_CODEC_KEYS: newCodecKeySpec('k1'),
        TEMPORAL_SEARCH_ATTRIBUTES: searchAttributes,
      });
    expect(() => apiSecurityFromConfig(production('true'))).toThrow(/KAIBAN_OWNER_INDEX_KEY must be set in production/);
    expect(() => apiSecurityFromConfig(production('false'))).not.toThrow();
  });

  it('refuses a NODE_ENV it does not know, naming it: a typo for production must not run on development secrets', () => {
    expect(() => configFor({ NODE_ENV: 'prod' })).toThrow(/NODE_ENV/);
    expect(configFor({ NODE_ENV: 'test' }).env.NODE_ENV).toBe('test');
  });

  it('in production, refuses the public development callback secrets, shared or per agency', () => {
    const production = { NODE_ENV: 'production', KAIBAN_DATA_DIR: freshDataDir() };
    expect(() => configFor(production)).toThrow(/AGENCY_CALLBACK_SECRET .*must be set in production/);
    expect(() => configFor({ ...production, AGENCY_CALLBACK_SECRET: 'compose-dev-agency-callback-secret' })).toThrow(
      ConfigError,
    );
    expect(() =>
      configFor({
        ...production,
        AGENCY_CALLBACK_SECRET: 'a-callback-secret-of-this-deployment',
        AGENCY_BANK_CALLBACK_SECRET: 'dev-agency-callback-secret',
      }),
    ).toThrow(/AGENCY_BANK_CALLBACK_SECRET/);
    expect(
      configFor({ ...production, AGENCY_CALLBACK_SECRET: 'a-callback-secret-of-this-deployment' }).env.NODE_ENV,
    ).toBe('production');
  });

  it('refuses an empty per-agency callback secret anywhere, and a short one in production, naming the variable', () => {
    // A placeholder left empty in an .env file: an HMAC key anyone could sign the market regulator's decisions with.
    expect(() => configFor({ AGENCY_MARKET_CALLBACK_SECRET: '' })).toThrow(
      /AGENCY_MARKET_CALLBACK_SECRET: at least 8 characters/,
    );
    const production = { NODE_ENV: 'production', KAIBAN_DATA_DIR: freshDataDir() };
    expect(() => configFor({ ...production, AGENCY_CALLBACK_SECRET: 'twelve-chars' })).toThrow(
      /^AGENCY_CALLBACK_SECRET: at least 32 characters in production/,
    );
    expect(() =>
      configFor({
        ...production,
        AGENCY_CALLBACK_SECRET: 'a-callback-secret-of-this-deployment',
        AGENCY_TAX_CALLBACK_SECRET: 'tax-bureau-secret',
      }),
    ).toThrow(/^AGENCY_TAX_CALLBACK_SECRET: at least 32 characters in production/);
    const perAgency = configFor({
      ...production,
      AGENCY_CALLBACK_SECRET: 'a-callback-secret-of-this-deployment',
      AGENCY_TAX_CALLBACK_SECRET: 'the-tax-bureaus-own-callback-secret',
    });
    expect(perAgency.agencyCallbackSecrets.tax).toBe('the-tax-bureaus-own-callback-secret');
    expect(perAgency.agencyCallbackSecrets.market).toBe('a-callback-secret-of-this-deployment');
  });
});

describe('agency addresses', () => {
  it('reach the simulator where SIMULATOR_PORT puts it, unless AGENCY_BASE_URL says otherwise', () => {
    const moved = configFor({ SIMULATOR_PORT: '4100', AGENCY_BASE_URL: undefined });
    expect(moved.agencyUrls.market).toBe('http://127.0.0.1:4100/agencies/market');
    const elsewhere = configFor({ SIMULATOR_PORT: '4100', AGENCY_BASE_URL: 'https://agencies.example.gov.cn/' });
    expect(elsewhere.agencyUrls.bank).toBe('https://agencies.example.gov.cn/agencies/bank');
  });

  it('give the agencies a callback address without a doubled slash, whatever trailing slash or host the settings carry', () => {
    const slashed = configFor({
      KAIBAN_PUBLIC_URL: 'http://api.kaiban.example:3000/',
      AGENCY_TAX_URL: 'https://tax.example.gov.cn/kaiban/',
    });
    expect(slashed.publicUrl).toBe('http://api.kaiban.example:3000');
    expect(slashed.agencyUrls.tax).toBe('https://tax.example.gov.cn/kaiban');
    const ipv6 = (host: string) => configFor({ KAIBAN_PUBLIC_URL: undefined, HOST: host, PORT: '3000' }).publicUrl;
    expect(ipv6('::')).toBe('http://[::1]:3000');
    expect(ipv6('fd00::7')).toBe('http://[fd00::7]:3000');
    expect(ipv6('0.0.0.0')).toBe('http://127.0.0.1:3000');
  });

  it("notify applicants through the simulator's platform only while it stands in for every agency, or where told", () => {
    const none = { AGENCY_BASE_URL: undefined, AGENCY_TAX_URL: undefined, APPLICANT_NOTIFY_URL: undefined };
    expect(configFor({ ...none, SIMULATOR_PORT: '4100' }).applicantNotifyUrl).toBe(
      'http://127.0.0.1:4100/notifications',
    );
    // Real agencies: personal data go to no address nobody configured.
    expect(
      configFor({ ...none, AGENCY_BASE_URL: 'https://agencies.example.gov.cn' }).applicantNotifyUrl,
    ).toBeUndefined();
    expect(configFor({ ...none, AGENCY_TAX_URL: 'https://tax.example.gov.cn' }).applicantNotifyUrl).toBeUndefined();
    const told = { ...none, AGENCY_BASE_URL: 'https://agencies.example.gov.cn' };
    expect(configFor({ ...told, APPLICANT_NOTIFY_URL: 'https://msg.example.gov.cn/v1/' }).applicantNotifyUrl).toBe(
      'https://msg.example.gov.cn/v1',
    );
    expect(configFor({ ...none, APPLICANT_NOTIFY_URL: 'off' }).applicantNotifyUrl).toBeUndefined();
    expect(() => configFor({ APPLICANT_NOTIFY_URL: 'nowhere' })).toThrow(/APPLICANT_NOTIFY_URL/);
  });

  it('take a variable set but empty (an .env placeholder) as unset, not as port 0 or an empty address', () => {
    const config = configFor({ PORT: '', SIMULATOR_PORT: '', AGENCY_BASE_URL: '', AGENCY_BANK_URL: '', HOST: '' });
    expect(config.env.PORT).toBe(3000);
    expect(config.agencyUrls.bank).toBe('http://127.0.0.1:4000/agencies/bank');
    expect(() => configFor({ AGENCY_TIMEOUT_MS: '60000' })).toThrow(/AGENCY_TIMEOUT_MS/);
  });
});

describe('tokens from an identity provider', () => {
  it('with AUTH_PUBLIC_KEY, accepts its signatures only, with the right issuer, audience, expiry and role', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const verifier = createTokenVerifier(
      configFor({
        AUTH_PUBLIC_KEY: await exportSPKI(publicKey),
        AUTH_ISSUER: 'https://idp.example',
        AUTH_AUDIENCE: 'kaiban-api',
        AUTH_ROLE_CLAIM: 'roles',
      }),
    );
    const sign = (
      claims: Record<string, unknown>,
      edit: (jwt: SignJWT) => SignJWT = (j) => j,
      key: typeof privateKey = privateKey,
    ) =>
      edit(
        new SignJWT(claims)
          .setProtectedHeader({ alg: 'ES256' })
          .setSubject('op7')
          .setIssuer('https://idp.example')
          .setAudience('kaiban-api')
          .setExpirationTime('5m'),
      ).sign(key);

    await expect(verifier.verify(await sign({ roles: ['staff', 'operator'] }))).resolves.toEqual({
      subject: 'op7',
      role: 'operator',
    });
    for (const bad of [
      await sign({ roles: 'operator' }, (j) => j.setIssuer('https://evil.example')),
      await sign({ roles: 'operator' }, (j) => j.setAudience('another-api')),
      await sign({ roles: ['admin'] }),
      await new SignJWT({ roles: 'operator' })
        .setProtectedHeader({ alg: 'ES256' })
        .setSubject('op7')
        .setIssuer('https://idp.example')
        .setAudience('kaiban-api')
        .sign(privateKey),
      // Algorithm confusion: the public key used as an HMAC secret.
      await new SignJWT({ roles: 'operator' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('op7')
        .setIssuer('https://idp.example')
        .setAudience('kaiban-api')
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(await exportSPKI(publicKey))),
    ]) {
      await expect(verifier.verify(bad)).rejects.toBeInstanceOf(AuthenticationError);
    }
    // Signed by another key of the same kind: the message names the key the server holds.
    const stranger = await generateKeyPair('ES256');
    await expect(verifier.verify(await sign({ roles: 'operator' }, undefined, stranger.privateKey))).rejects.toThrow(
      'the bearer token was not signed with the private key of AUTH_PUBLIC_KEY',
    );
  });

  it('with AUTH_JWKS_URL, fetches the keys; when the endpoint is down, the failure is not blamed on the caller', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'key-1', alg: 'RS256', use: 'sig' };
    const server: Server = createServer((_req, res) =>
      res.setHeader('content-type', 'application/json').end(JSON.stringify({ keys: [jwk] })),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
    const token = await new SignJWT({ role: 'supervisor' })
      .setProtectedHeader({ alg: 'RS256', kid: 'key-1' })
      .setSubject('sup1')
      .setIssuer('kaiban')
      .setAudience('kaiban')
      .setExpirationTime('5m')
      .sign(privateKey);
    try {
      await expect(createTokenVerifier(configFor({ AUTH_JWKS_URL: url })).verify(token)).resolves.toEqual({
        subject: 'sup1',
        role: 'supervisor',
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    await expect(createTokenVerifier(configFor({ AUTH_JWKS_URL: url })).verify(token)).rejects.toBeInstanceOf(
      AuthenticationUnavailableError,
    );
  });
});

describe('the payload codec', () => {
  const payload = {
    metadata: { encoding: new TextEncoder().encode('json/plain') },
    data: new TextEncoder().encode('{"idNumber":"360102199003071236"}'),
  };

  it('round-trips, refuses tampering and unknown keys, and lets unencrypted payloads through', async () => {
    const codec = new AesGcmCodec(
      parseCodecKeys(`k2:${Buffer.alloc(32, 2).toString('base64')},k1:${Buffer.alloc(32, 1).toString('base64')}`),
    );
    const [sealed] = await codec.encode([payload]);
    expect(Buffer.from(sealed!.metadata!['encryption-key-id']!).toString()).toBe('k2');
    expect(await codec.decode([sealed!])).toEqual([payload]);

    const tampered = { ...sealed!, data: Uint8Array.from(sealed!.data!, (b, i) => (i === 20 ? b ^ 1 : b)) };
    await expect(codec.decode([tampered])).rejects.toThrow();
    const relabelled = {
      ...sealed!,
      metadata: { ...sealed!.metadata, 'encryption-key-id': new TextEncoder().encode('k1') },
    };
    await expect(codec.decode([relabelled])).rejects.toThrow();
    const foreign = (await new AesGcmCodec(parseCodecKeys(newCodecKeySpec('k9'))).encode([payload]))[0]!;
    await expect(codec.decode([foreign])).rejects.toThrow(/k9/);
    expect(await codec.decode([payload])).toEqual([payload]);
  });

  it('seals every payload under an IV of its own, across refills of the IV pool', async () => {
    const codec = new AesGcmCodec(parseCodecKeys(newCodecKeySpec('k1')));
    // More payloads than the pool holds (256), in batches as the SDK sends them, plus one alone.
    const sealed = [
      ...(await codec.encode(Array.from({ length: 300 }, () => payload))),
      ...(await codec.encode(Array.from({ length: 300 }, () => payload))),
      ...(await codec.encode([payload])),
    ];
    const ivs = new Set(sealed.map((s) => Buffer.from(s.data!.subarray(0, 12)).toString('hex')));
    expect(ivs.size).toBe(sealed.length);
    // An IV taken out of the pool is not changed by the refill that follows: every payload still opens.
    expect(await codec.decode(sealed)).toEqual(sealed.map(() => payload));
  });

  it('seals the payload message itself (no base64 inside), and a relabelled framing does not decrypt', async () => {
    const codec = new AesGcmCodec(parseCodecKeys(newCodecKeySpec('k1')));
    const [sealed] = await codec.encode([payload]);
    expect(Buffer.from(sealed!.metadata![FORMAT_METADATA]!).toString()).toBe('payload-proto');
    // The payload's bytes, its metadata entry, 12 bytes of IV and 16 of tag: nothing inflated by an encoding.
    expect(sealed!.data!.length).toBeLessThanOrEqual(
      payload.data.length + 'encoding'.length + 'json/plain'.length + 40,
    );
    const unlabelled = { ...sealed!, metadata: { ...sealed!.metadata } };
    delete unlabelled.metadata[FORMAT_METADATA];
    await expect(codec.decode([unlabelled])).rejects.toThrow();
    const unknown = {
      ...sealed!,
      metadata: { ...sealed!.metadata, [FORMAT_METADATA]: new TextEncoder().encode('v9') },
    };
    await expect(codec.decode([unknown])).rejects.toThrow(/unknown format "v9"/);
  });

  it('compresses a large payload before sealing it, names that framing, and a relabelled one does not decrypt', async () => {
    const codec = new AesGcmCodec(parseCodecKeys(newCodecKeySpec('k1')));
    // A status-like JSON: repeated keys and texts, as the final status of an application.
    const steps = Array.from({ length: 8 }, (_, i) => ({
      id: `step-${i}`,
      state: 'done',
      attempts: 1,
      sla: { level: 'on_track' },
    }));
    const large = {
      metadata: { encoding: new TextEncoder().encode('json/plain') },
      data: new TextEncoder().encode(JSON.stringify({ idNumber: '360102199003071236', steps })),
    };
    expect(large.data.length).toBeGreaterThanOrEqual(COMPRESS_FROM);
    const [sealed] = await codec.encode([large]);
    expect(Buffer.from(sealed!.metadata![FORMAT_METADATA]!).toString()).toBe('payload-proto-deflate');
    expect(sealed!.data!.length).toBeLessThan(large.data.length / 2);
    expect(await codec.decode([sealed!])).toEqual([large]);
    const relabelled = {
      ...sealed!,
      metadata: { ...sealed!.metadata, [FORMAT_METADATA]: new TextEncoder().encode('payload-proto') },
    };
    await expect(codec.decode([relabelled])).rejects.toThrow();

    // Random bytes do not shrink: sealed as they are.
    const incompressible = {
      metadata: { encoding: new TextEncoder().encode('binary/plain') },
      data: new Uint8Array(randomBytes(4096)),
    };
    const [plain] = await codec.encode([incompressible]);
    expect(Buffer.from(plain!.metadata![FORMAT_METADATA]!).toString()).toBe('payload-proto');
    expect(await codec.decode([plain!])).toEqual([incompressible]);
  });

  it('still opens payloads sealed by earlier versions (JSON framing, no format in the metadata)', async () => {
    // Sealed by the earlier codec with the key below: what open workflows and retained histories hold.
    const earlier = {
      metadata: {
        encoding: new TextEncoder().encode('binary/encrypted'),
        'encryption-key-id': new TextEncoder().encode('k1'),
      },
      data: new Uint8Array(
        Buffer.from(
          'gPTqx6wqmFlzZqgzh3hniZ6dSw6v0mwho5tAkZoSdycnmkviqjYnUZW4c0rznibyJc078HGs69aaM+tOejh7IjQFAjsHX2xybhy8bOyEB+UWTKi7YZ2hQdcg7Icae8gtqJbH0Ls3DOguzZb27BiWsZnBebM=',
          'base64',
        ),
      ),
    };
    const codec = new AesGcmCodec(parseCodecKeys(`k1:${Buffer.alloc(32, 1).toString('base64')}`));
    expect(await codec.decode([earlier])).toEqual([payload]);
  });

  it.each([
    ['k1', 'no colon'],
    [`k1:${Buffer.alloc(16).toString('base64')}`, 'a 16-byte key'],
    [`:${Buffer.alloc(32).toString('base64')}`, 'an empty id'],
    [`k1:${Buffer.alloc(32).toString('base64')},k1:${Buffer.alloc(32, 1).toString('base64')}`, 'a repeated id'],
  ])('refuses KAIBAN_CODEC_KEYS=%s (%s)', (spec) => {
    expect(() => parseCodecKeys(spec)).toThrow(ConfigError);
  });
});
