/**
 * The embedded Temporal dev server of `npm start`: the real server from the Temporal CLI, with its
 * SQLite database on disk under the data folder, so applications survive a restart.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common';
import type { Logger } from 'pino';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES, searchAttributeArgs } from './search-attributes';
import { temporalCliPath } from './temporal-binaries';

export interface DevServer {
  address: string;
  uiUrl: string;
  stop(): Promise<void>;
}

/**
 * The dev server's SQLite database in write-ahead-log mode, every commit synced to disk. The CLI leaves SQLite's
 * default rollback journal, which creates, syncs and deletes a journal file beside the database for every
 * transaction, and makes readers wait for writers: with about 33 writes per application, the server's throughput was
 * bound by its disk (bench/README.md, "The dev server's database": 500 at once, 9.4 → 12.0 bare workflows a
 * second). A synced write-ahead log keeps each committed transaction through a crash or a power cut, as the journal
 * did, with one sync per commit. The mode is kept in the file: the `-wal` and `-shm` files beside it belong to it
 * (copy or delete the folder, with the server stopped; never the database file alone).
 */
export const SQLITE_PRAGMAS = ['journal_mode=wal', 'synchronous=full'] as const;

/** The CLI arguments that set SQLITE_PRAGMAS (ignored by a server without a database file). */
export function sqliteArgs(): string[] {
  return SQLITE_PRAGMAS.flatMap((pragma) => ['--sqlite-pragma', pragma]);
}

export interface DevServerOptions {
  dataDir: string;
  port: number;
  uiPort: number;
  namespace: string;
  logger: Logger;
  /**
   * How long Temporal keeps a closed application (its status, results and dossier) readable: the dev server creates
   * its namespace with 24 hours, after which an applicant's results were gone (TEMPORAL_RETENTION_DAYS).
   */
  retentionDays?: number;
  /** Called if the server stops on its own once started (a crash): nothing works without it. */
  onUnexpectedExit?: (detail: string) => void;
}

/**
 * Starts the server and waits until it serves the namespace with Kaiban's search attributes. A server that exits while
 * starting is started once more: besides the ports it is given, the CLI binds ports of its own services that it picks
 * at random, and another process may take one between the pick and the bind: the likely cause of a server that exited
 * at start once in CI, without a line on stderr. A second exit is an error naming the server's last lines.
 */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  try {
    return await startOnce(options);
  } catch (err) {
    if (!(err instanceof ExitedAtStart)) throw err;
    options.logger.warn({ detail: err.detail }, 'the Temporal dev server stopped at start; starting it once more');
    return startOnce(options);
  }
}

class ExitedAtStart extends Error {
  constructor(readonly detail: string) {
    super(`the Temporal dev server stopped at start (${detail})`);
  }
}

async function startOnce(options: DevServerOptions): Promise<DevServer> {
  mkdirSync(options.dataDir, { recursive: true });
  const dbFile = path.resolve(options.dataDir, 'temporal.sqlite');
  const address = `127.0.0.1:${options.port}`;
  const args = [
    'server',
    'start-dev',
    '--db-filename',
    dbFile,
    '--ip',
    '127.0.0.1',
    '--port',
    String(options.port),
    '--ui-port',
    String(options.uiPort),
    '--namespace',
    options.namespace,
    '--log-level',
    'warn',
    ...searchAttributeArgs(),
    ...sqliteArgs(),
  ];
  const log = options.logger.child({ component: 'temporal-dev-server' });
  const pidFile = path.resolve(options.dataDir, PID_FILE);
  await stopLeftover(pidFile, dbFile, log);
  // The CLI creates the database's tables only for a file that does not exist yet: a first start stopped midway (a
  // Ctrl-C, a kill) leaves a file every later start fails on. The marker says the database was never finished; it
  // then holds no application (nothing was served from it) and is made again.
  const creating = `${dbFile}.creating`;
  if (existsSync(creating)) {
    log.warn({ dbFile }, 'making again the database a first start left unfinished');
    for (const file of [dbFile, `${dbFile}-wal`, `${dbFile}-shm`]) rmSync(file, { force: true });
  }
  if (!existsSync(dbFile)) writeFileSync(creating, '');
  // Another server on these ports would answer in this one's place, with another database.
  await portFree(options.port, 'TEMPORAL_PORT');
  await portFree(options.uiPort, 'TEMPORAL_UI_PORT');
  // Its own process group: a Ctrl-C in the terminal reaches this process only, which stops the API and the worker
  // before the server they need.
  const child: ChildProcess = spawn(temporalCliPath(), args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  // The server's pid, and this process's: a next start tells a leftover (its owner gone) from a run still going.
  const pidLine = `${child.pid} ${process.pid}\n`;
  if (child.pid !== undefined) writeFileSync(pidFile, pidLine, { mode: 0o600 });
  let exited = false;
  let started = false;
  let stopping = false;
  let startFailure = '';
  /** The server's last lines on stderr: why it stopped, when it stops at start. */
  const lastLines: string[] = [];
  const exitDetail = (code: number | null, signal: NodeJS.Signals | null) =>
    `exit ${signal ?? code}${lastLines.length > 0 ? `; its last lines: ${lastLines.join(' | ')}` : ''}`;
  // At 'exit' the last lines (why it stopped) may still be in the pipe: they are read by 'close', waited for briefly
  // (a process that inherited the pipe could hold it open).
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      const closed = new Promise<void>((done) => {
        const timer = setTimeout(done, 2000);
        child.once('close', () => {
          clearTimeout(timer);
          done();
        });
      });
      void closed.then(() => {
        exited = true;
        try {
          if (readFileSync(pidFile, 'utf8') === pidLine) rmSync(pidFile, { force: true });
        } catch {
          // gone already (a next start removed it)
        }
        if (started && !stopping) {
          log.error({ code, signal }, 'the Temporal dev server stopped unexpectedly');
          options.onUnexpectedExit?.(exitDetail(code, signal));
        } else log.info({ code, signal }, 'temporal dev server exited');
        if (!started) {
          startFailure = exitDetail(code, signal);
          process.removeListener('exit', killOnExit);
        }
        resolve();
      });
    }),
  );
  child.stdout?.on('data', (d: Buffer) => log.debug(d.toString().trim()));
  // While it shuts down, the server's own workers warn about the connections it is closing: not news.
  child.stderr?.on('data', (d: Buffer) => {
    const text = d.toString().trim();
    lastLines.push(...text.split('\n').slice(-5));
    lastLines.splice(0, Math.max(0, lastLines.length - 5));
    if (stopping) log.debug(text);
    else log.warn(text);
  });
  // If this process dies without a clean shutdown, do not leave the server behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stop = async () => {
    if (!exited) {
      stopping = true;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exit;
      clearTimeout(timer);
    }
    // Kept until the server is gone: this process exiting meanwhile (a second Ctrl-C) still kills it.
    process.removeListener('exit', killOnExit);
  };

  const deadline = Date.now() + 60_000;
  let added: string[];
  for (;;) {
    if (exited) throw new ExitedAtStart(startFailure);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      await connection.workflowService.getSystemInfo({});
      try {
        added = await registerSearchAttributes(connection, options.namespace);
        if (options.retentionDays !== undefined) {
          await keepClosedFor(connection, options.namespace, options.retentionDays, log);
        }
      } finally {
        await connection.close();
      }
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`temporal dev server did not become reachable at ${address}: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  if (added.length > 0) {
    log.info({ added }, 'search attributes added to an existing database');
    try {
      await untilUsable(address, options.namespace, added);
    } catch (err) {
      await stop();
      throw err;
    }
  }
  started = true;
  rmSync(creating, { force: true });
  return { address, uiUrl: `http://127.0.0.1:${options.uiPort}`, stop };
}

/**
 * Fails with a message naming `setting` when something listens on `port` already (`host`: where it would listen). A
 * start checks every port before it starts anything, rather than fail on the last one with the rest running.
 */
export function portFree(
  port: number,
  setting: string,
  hint = 'a Temporal server of your own? set TEMPORAL_ADDRESS to use it instead of starting one',
  host = '127.0.0.1',
): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new PortInUseError(`port ${port} is in use by another process: set ${setting} to a free port (${hint})`)
          : err,
      ),
    );
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

/** A port a start needs is taken: the message names the setting to change. */
export class PortInUseError extends Error {
  override name = 'PortInUseError';
}

/** The running server's process id, in the data folder: a start after a crash stops the server the crash left. */
export const PID_FILE = 'temporal-dev-server.pid';

/**
 * A process killed without a clean shutdown (SIGKILL, out of memory) cannot stop its server: that server goes on
 * holding the port and the database, out of anyone's control. The next start on the same data folder stops it
 * first — only if the process of the pid file still runs a dev server on this very database (a pid can be reused).
 */
async function stopLeftover(pidFile: string, dbFile: string, log: Logger): Promise<void> {
  if (!existsSync(pidFile)) return;
  const [pid, owner] = readFileSync(pidFile, 'utf8').trim().split(/\s+/).map(Number) as [number, number?];
  if (!Number.isInteger(pid) || pid <= 1 || !commandLineOf(pid)?.includes(dbFile)) {
    rmSync(pidFile, { force: true });
    return;
  }
  // The run that started it still goes (a second `npm start` on the same data folder): its server is not a leftover.
  const ownerCommand =
    owner !== undefined && owner !== process.pid && isAlive(owner) ? commandLineOf(owner) : undefined;
  if (ownerCommand !== undefined && /node|tsx/.test(ownerCommand)) {
    throw new Error(
      `another Kaiban (pid ${owner}) runs on the data folder ${path.dirname(pidFile)}: stop it first, or start this one with another KAIBAN_DATA_DIR (if pid ${owner} is not Kaiban, delete ${pidFile})`,
    );
  }
  rmSync(pidFile, { force: true });
  log.warn({ pid }, 'stopping the Temporal dev server a previous run left behind (it ended without a clean shutdown)');
  for (const [signal, waitMs] of [
    ['SIGTERM', 10_000],
    ['SIGKILL', 5_000],
  ] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return; // gone already
    }
    for (const giveUpAt = Date.now() + waitMs; Date.now() < giveUpAt;) {
      if (!isAlive(pid)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`the Temporal dev server a previous run left (pid ${pid}) does not stop; stop it, then start again`);
}

/** Whether the process runs (a zombie, ended but not yet reaped by whoever adopted it, does not). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true; // no /proc: kill(0) is all there is
  }
}

/** The process's command line (Linux: /proc; elsewhere: ps), or undefined if it does not run. */
function commandLineOf(pid: number): string | undefined {
  try {
    if (existsSync('/proc/self/cmdline')) {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    }
    return execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' });
  } catch {
    return undefined;
  }
}

/**
 * Resolves once the server accepts a visibility query naming each of `names`: attributes added to a running server
 * are unknown to its attribute cache until that refreshes (a second or so), and an application started meanwhile
 * would be refused.
 */
async function untilUsable(address: string, namespace: string, names: string[], timeoutMs = 30_000): Promise<void> {
  const query = names.map((name) => `${name} IS NOT NULL`).join(' OR ');
  const connection = await Connection.connect({ address });
  try {
    for (const giveUpAt = Date.now() + timeoutMs; ;) {
      try {
        await connection.workflowService.countWorkflowExecutions({ namespace, query });
        return;
      } catch (err) {
        if (Date.now() > giveUpAt)
          throw new Error(
            `search attributes ${names.join(', ')} were added but the server still refuses them after ${timeoutMs / 1000} s (they stay registered: starting again loads them): ${(err as Error).message}`,
          );
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await connection.close();
  }
}

const INDEXED_VALUE_TYPES = {
  Keyword: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  KeywordList: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
  Text: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  Datetime: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
} as const;

/** Sets the namespace's retention of closed workflows to `days`, if it is not that already. */
async function keepClosedFor(connection: Connection, namespace: string, days: number, log: Logger): Promise<void> {
  const seconds = days * 86_400;
  const described = await connection.workflowService.describeNamespace({ namespace });
  if (Number(described.config?.workflowExecutionRetentionTtl?.seconds ?? 0) === seconds) return;
  await connection.workflowService.updateNamespace({
    namespace,
    config: { workflowExecutionRetentionTtl: msToTs(seconds * 1000) },
  });
  log.info({ namespace, days }, 'closed applications kept for the configured retention');
}

/**
 * Adds the attributes a namespace lacks (a database created before an attribute existed keeps its old set: the dev
 * server's `--search-attribute` flags apply to a new database only). Returns the names added.
 */
export async function registerSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known = new Set([
    ...Object.keys(existing.customAttributes ?? {}),
    ...Object.keys(existing.systemAttributes ?? {}),
  ]);
  const missing = Object.entries(SEARCH_ATTRIBUTES).filter(([name]) => !known.has(name));
  if (missing.length === 0) return [];
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map(([name, type]) => [name, INDEXED_VALUE_TYPES[type]])),
  });
  return missing.map(([name]) => name);
}
