/**
 * The embedded dev server of `npm start` on a data folder from an earlier version: its SQLite database was created
 * with fewer search attributes (the server's `--search-attribute` flags apply to a new database only), and an
 * application upserting a newer attribute would fail every workflow task. Starting the embedded server adds what is
 * missing, once.
 */
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { PID_FILE, startDevServer } from '../infra/dev-server';
import { breachedKey, districtKey, SEARCH_ATTRIBUTES } from '../infra/search-attributes';
import { temporalCliPath } from '../infra/temporal-binaries';
import { createLogger } from '../observability/logger';
import { freePort, startTemporalProcess } from './helpers/processes';
import { until } from './helpers/reliability-stack';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'kaiban-dev-server-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/**
 * What an earlier Kaiban left behind: a database created with only the first attribute, in SQLite's default rollback
 * journal mode.
 */
async function createOldDatabase(port: number): Promise<void> {
  const old = await startTemporalProcess({
    dbFilename: path.join(dataDir, 'temporal.sqlite'),
    port,
    searchAttributes: ['--search-attribute', 'KaibanStatus=Keyword'],
    sqlite: [],
  });
  await old.stop();
}

/**
 * The journal mode an SQLite file is in, from its header: bytes 18 and 19 (the format versions a writer and a reader
 * need) are 1 for a rollback journal and 2 for a write-ahead log.
 */
function journalOf(file: string): 'rollback' | 'wal' | string {
  const header = Buffer.alloc(2);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, header, 0, 2, 18);
  } finally {
    closeSync(fd);
  }
  if (header[0] === 1 && header[1] === 1) return 'rollback';
  if (header[0] === 2 && header[1] === 2) return 'wal';
  return `unknown (${header[0]}, ${header[1]})`;
}

async function customAttributes(port: number): Promise<Record<string, unknown>> {
  const connection = await Connection.connect({ address: `127.0.0.1:${port}` });
  try {
    const listed = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
    return listed.customAttributes ?? {};
  } finally {
    await connection.close();
  }
}

/** A workflow started with attributes the old database lacked (no worker needed), then found by one of them. */
async function startWithNewAttributes(port: number): Promise<void> {
  const connection = await Connection.connect({ address: `127.0.0.1:${port}` });
  try {
    const client = new Client({ connection });
    await client.workflow.start('businessStartup', {
      taskQueue: 'no-worker',
      workflowId: `upgraded-${Date.now()}`,
      typedSearchAttributes: [
        { key: districtKey, value: 'upgrade-district' },
        { key: breachedKey, value: ['application'] },
      ],
    });
    await until(
      () => client.workflow.count(`KaibanDistrict = 'upgrade-district'`),
      (counted) => counted.count === 1,
      10_000,
      'the application listed by its district',
    );
  } finally {
    await connection.close();
  }
}

describe('embedded dev server on an existing data folder', () => {
  it('adds the search attributes an older database lacks, and nothing on the next start; it keeps the database in a write-ahead log from then on', async () => {
    const port = await freePort();
    await createOldDatabase(port);
    const dbFile = path.join(dataDir, 'temporal.sqlite');
    expect(journalOf(dbFile)).toBe('rollback');

    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({
      level: 'info',
      destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
    });
    const uiPort = await freePort();
    const start = () => startDevServer({ dataDir, port, uiPort, namespace: 'default', logger });

    const first = await start();
    try {
      expect(Object.keys(await customAttributes(port)).sort()).toEqual(
        expect.arrayContaining(Object.keys(SEARCH_ATTRIBUTES).sort()),
      );
      // Usable at once: the server's attribute cache is on, and the start waited for it to know the new ones.
      await startWithNewAttributes(port);
      expect(journalOf(dbFile)).toBe('wal');
      expect(existsSync(`${dbFile}-wal`)).toBe(true);
    } finally {
      await first.stop();
    }
    const added = lines.filter((l) => l.msg === 'search attributes added to an existing database');
    expect(added).toHaveLength(1);
    expect((added[0]!.added as string[]).sort()).toEqual(
      Object.keys(SEARCH_ATTRIBUTES)
        .filter((n) => n !== 'KaibanStatus')
        .sort(),
    );

    const second = await start();
    await second.stop();
    expect(journalOf(dbFile)).toBe('wal');
    expect(lines.filter((l) => l.msg === 'search attributes added to an existing database')).toHaveLength(1);
  });
});

describe('embedded dev server, its ports and its process', () => {
  const quiet = createLogger({ level: 'silent' });

  it('when another process listens on its port, then it refuses to start, naming the setting, instead of using that server', async () => {
    const port = await freePort();
    const other = createServer();
    await new Promise<void>((resolve) => other.listen(port, '127.0.0.1', resolve));
    try {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'kaiban-dev-server-port-'));
      await expect(
        startDevServer({ dataDir: dir, port, uiPort: await freePort(), namespace: 'default', logger: quiet }),
      ).rejects.toThrow(
        `port ${port} is in use by another process: set TEMPORAL_PORT to a free port (a Temporal server of your own? set TEMPORAL_ADDRESS`,
      );
      rmSync(dir, { recursive: true, force: true });
    } finally {
      other.close();
    }
  });

  it('when a first start was stopped while it created the database, then the next start makes it again instead of failing on it', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kaiban-dev-server-unfinished-'));
    try {
      // What a Ctrl-C during the first start leaves: a database file the CLI will not create tables in, and the marker.
      const dbFile = path.join(dir, 'temporal.sqlite');
      writeFileSync(dbFile, 'SQLite format 3\0 cut short');
      writeFileSync(`${dbFile}.creating`, '');
      const server = await startDevServer({
        dataDir: dir,
        port: await freePort(),
        uiPort: await freePort(),
        namespace: 'default',
        logger: quiet,
      });
      try {
        const connection = await Connection.connect({ address: server.address });
        const { namespaceInfo } = await connection.workflowService.describeNamespace({ namespace: 'default' });
        expect(namespaceInfo?.name).toBe('default');
        await connection.close();
      } finally {
        await server.stop();
      }
      expect(existsSync(`${dbFile}.creating`)).toBe(false);
      expect(readFileSync(dbFile).includes('cut short')).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps closed applications for the retention configured (the dev server gives 24 h); when the server dies once started, then it says so (npm start stops, rather than run on without Temporal)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kaiban-dev-server-crash-'));
    let reported: string | undefined;
    const port = await freePort();
    const server = await startDevServer({
      dataDir: dir,
      port,
      uiPort: await freePort(),
      namespace: 'default',
      retentionDays: 3650,
      logger: quiet,
      onUnexpectedExit: (detail) => (reported = detail),
    });
    try {
      const connection = await Connection.connect({ address: `127.0.0.1:${port}` });
      const described = await connection.workflowService.describeNamespace({ namespace: 'default' });
      await connection.close();
      expect(Number(described.config?.workflowExecutionRetentionTtl?.seconds)).toBe(3650 * 86_400);

      process.kill(Number.parseInt(readFileSync(path.join(dir, PID_FILE), 'utf8'), 10), 'SIGKILL');
      await until(
        async () => reported,
        (detail) => detail !== undefined,
        10_000,
        'the unexpected exit reported',
      );
      expect(reported).toContain('SIGKILL');
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  /**
   * The CLI through a wrapper that fails its first `failures` starts the way a lost port race does (a line on stderr,
   * exit 1), then runs the real server. Returns the wrapper's path and how many times it was started.
   */
  function flakyCli(dir: string, failures: number): { path: string; starts: () => number } {
    const count = path.join(dir, 'starts');
    const wrapper = path.join(dir, 'temporal');
    writeFileSync(
      wrapper,
      [
        '#!/bin/sh',
        `echo x >> '${count}'`,
        `if [ "$(wc -l < '${count}')" -le ${failures} ]; then`,
        '  echo "listen tcp 127.0.0.1:41234: bind: address already in use (simulated)" >&2',
        '  exit 1',
        'fi',
        `exec '${temporalCliPath()}' "$@"`,
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    return { path: wrapper, starts: () => readFileSync(count, 'utf8').trim().split('\n').length };
  }

  it('when the server exits while starting, then it is started once more, and the first exit is logged with its last line; a second exit is an error naming it', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kaiban-dev-server-flaky-'));
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({
      level: 'warn',
      destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
    });
    const saved = process.env.TEMPORAL_CLI_PATH;
    try {
      const once = flakyCli(mkdtempSync(path.join(dir, 'once-')), 1);
      process.env.TEMPORAL_CLI_PATH = once.path;
      const port = await freePort();
      const server = await startDevServer({
        dataDir: path.join(dir, 'data-once'),
        port,
        uiPort: await freePort(),
        namespace: 'default',
        logger,
      });
      try {
        const connection = await Connection.connect({ address: `127.0.0.1:${port}` });
        await connection.workflowService.getSystemInfo({});
        await connection.close();
      } finally {
        await server.stop();
      }
      expect(once.starts()).toBe(2);
      const retried = lines.filter((l) => l.msg === 'the Temporal dev server stopped at start; starting it once more');
      expect(retried).toHaveLength(1);
      expect(retried[0]!.detail).toContain('exit 1; its last lines: ');
      expect(retried[0]!.detail).toContain('bind: address already in use (simulated)');

      const always = flakyCli(mkdtempSync(path.join(dir, 'always-')), 2);
      process.env.TEMPORAL_CLI_PATH = always.path;
      await expect(
        startDevServer({
          dataDir: path.join(dir, 'data-always'),
          port: await freePort(),
          uiPort: await freePort(),
          namespace: 'default',
          logger,
        }),
      ).rejects.toThrow(/stopped at start \(exit 1; its last lines: .*address already in use \(simulated\)\)/);
      expect(always.starts()).toBe(2);
    } finally {
      if (saved === undefined) delete process.env.TEMPORAL_CLI_PATH;
      else process.env.TEMPORAL_CLI_PATH = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
