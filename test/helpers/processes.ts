/**
 * Real processes for the reliability tests and the benchmarks: the Temporal dev server (the CLI,
 * on a SQLite file, restartable on the same file and port) and Kaiban workers as child processes,
 * so a test can SIGKILL them and measure their memory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { sqliteArgs } from '../../infra/dev-server';
import { searchAttributeArgs } from '../../infra/search-attributes';
import { temporalCliPath } from '../../infra/temporal-binaries';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** A free TCP port on 127.0.0.1 (closed again before it is returned). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Resident memory of a process, from /proc (Linux): current and peak, in bytes. */
export function memoryOf(pid: number): { rss: number; peakRss: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kib('VmRSS'), peakRss: kib('VmHWM') };
  } catch {
    return undefined;
  }
}

/** CPU time a process has used so far (user + system), in milliseconds, from /proc (Linux; clock ticks of 10 ms). */
export function cpuTimeOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at index 3: utime is field 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child process whose output is kept (the last lines) for error messages, and killed with the parent. */
class Child {
  readonly process: ChildProcess;
  readonly exited: Promise<Exit>;
  private tail: string[] = [];
  private done = false;

  constructor(
    readonly label: string,
    command: string,
    args: string[],
    env: NodeJS.ProcessEnv,
  ) {
    this.process = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer) => {
      this.tail.push(...chunk.toString().split('\n').filter(Boolean));
      if (this.tail.length > 40) this.tail.splice(0, this.tail.length - 40);
    };
    this.process.stdout?.on('data', keep);
    this.process.stderr?.on('data', keep);
    const killOnExit = () => this.process.kill('SIGKILL');
    process.once('exit', killOnExit);
    // 'close', not 'exit': the output is complete by then, for the error messages.
    this.exited = new Promise((resolve) =>
      this.process.once('close', (code, signal) => {
        this.done = true;
        process.removeListener('exit', killOnExit);
        resolve({ code, signal });
      }),
    );
  }

  get pid(): number {
    return this.process.pid!;
  }

  get running(): boolean {
    return !this.done;
  }

  output(): string {
    return this.tail.join('\n');
  }

  /** Sends `signal`; after `graceMs` without exit, SIGKILL. Resolves once the process is gone. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<Exit> {
    if (this.done) return this.exited;
    this.process.kill(signal);
    const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }
}

export interface TemporalProcess {
  readonly address: string;
  readonly port: number;
  dbFilename: string;
  /** The pid of the server process now running (changes on restart). */
  readonly pid: number;
  /** Resolves when the server process now running exits. */
  readonly exited: Promise<Exit>;
  /** The server's Prometheus endpoint, when started with `metricsPort`. */
  readonly metricsUrl?: string;
  /** Stops the server (SIGTERM by default, SIGKILL for a crash). */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the server again on the same SQLite file and port. */
  start(): Promise<void>;
}

/**
 * The Temporal CLI dev server with Kaiban's search attributes (or the `searchAttributes` flags given) and SQLite
 * settings (or the `sqlite` flags given), on `dbFilename` (kept across restarts), headless, on `port`. Resolves when
 * the frontend answers.
 */
export async function startTemporalProcess(options: {
  dbFilename: string;
  port?: number;
  searchAttributes?: string[];
  /** The server's SQLite flags (default: sqliteArgs(), as npm start runs it; [] for the CLI's own). */
  sqlite?: string[];
  /** Serves the server's own metrics (persistence operations and more) on this port. */
  metricsPort?: number;
}): Promise<TemporalProcess> {
  let port = options.port ?? (await freePort());
  let child: Child | undefined;

  const start = async () => {
    const address = `127.0.0.1:${port}`;
    const args = [
      'server',
      'start-dev',
      '--db-filename',
      options.dbFilename,
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      ...(options.metricsPort !== undefined ? ['--metrics-port', String(options.metricsPort)] : []),
    ];
    const current = new Child(
      'temporal',
      temporalCliPath(),
      [
        ...args,
        '--headless',
        '--log-level',
        'error',
        ...(options.searchAttributes ?? searchAttributeArgs()),
        ...(options.sqlite ?? sqliteArgs()),
      ],
      process.env,
    );
    child = current;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (!current.running) throw new Error(`temporal dev server exited at start:\n${current.output()}`);
      try {
        const connection = await Connection.connect({ address, connectTimeout: 1000 });
        try {
          await connection.workflowService.getSystemInfo({});
        } finally {
          await connection.close();
        }
        return;
      } catch (err) {
        if (Date.now() > deadline) {
          await current.stop('SIGKILL');
          throw new Error(
            `temporal dev server not reachable at ${address}: ${(err as Error).message}\n${current.output()}`,
          );
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };

  // The server also binds ports of its own choosing: on a busy machine a first start may lose a race.
  for (let attempt = 1; ; attempt++) {
    try {
      await start();
      break;
    } catch (err) {
      if (options.port !== undefined || attempt >= 3) throw err;
      port = await freePort();
    }
  }
  return {
    get address() {
      return `127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    dbFilename: options.dbFilename,
    ...(options.metricsPort !== undefined ? { metricsUrl: `http://127.0.0.1:${options.metricsPort}/metrics` } : {}),
    get pid() {
      return child!.pid;
    },
    get exited() {
      return child!.exited;
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      await child?.stop(signal);
    },
    start,
  };
}

/** A child node process running a TypeScript entry of this repository. */
export interface NodeProcess {
  readonly pid: number;
  readonly running: boolean;
  readonly exited: Promise<Exit>;
  /** The last lines the process printed (for failure messages). */
  output(): string;
  /** SIGTERM by default (then SIGKILL after 10 s); SIGKILL for a crash. Resolves once it is gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Runs a TypeScript entry as a child node process with `env` added to this process's environment.
 * Node runs the file itself (`--import tsx`), so the pid is the program's own: a SIGKILL kills
 * it, not a wrapper.
 */
export function startTsProcess(entry: string, env: NodeJS.ProcessEnv, label = path.basename(entry)): NodeProcess {
  const child = new Child(label, process.execPath, ['--import', 'tsx', path.resolve(REPO_ROOT, entry)], {
    ...process.env,
    ...env,
  });
  return {
    get pid() {
      return child.pid;
    },
    get running() {
      return child.running;
    },
    exited: child.exited,
    output: () => child.output(),
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      await child.stop(signal);
    },
  };
}

/**
 * A worker as a child process (default: the production entry, worker/main.ts) polling `taskQueue`
 * on `address`. Resolves when the worker polls (seen among the task queue's pollers by its pid).
 */
export async function startWorkerProcess(options: {
  address: string;
  namespace?: string;
  taskQueue: string;
  env: NodeJS.ProcessEnv;
  entry?: string;
  label?: string;
  readyTimeoutMs?: number;
}): Promise<NodeProcess> {
  const started = startTsProcess(
    options.entry ?? 'worker/main.ts',
    { ...options.env, TEMPORAL_ADDRESS: options.address, TEMPORAL_TASK_QUEUE: options.taskQueue },
    options.label ?? 'worker',
  );
  await waitForPoller(
    options.address,
    options.namespace ?? 'default',
    options.taskQueue,
    started,
    options.readyTimeoutMs ?? 60_000,
  );
  return started;
}

/** Waits until `url` answers 2xx (an HTTP child process is ready), or fails if the process exits. */
export async function waitForHttp(url: string, child: NodeProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!child.running) throw new Error(`process exited before ${url} answered:\n${child.output()}`);
    const ok = await fetch(url, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) {
      await child.stop('SIGKILL');
      throw new Error(`${url} did not answer within ${timeoutMs} ms:\n${child.output()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Waits until a poller whose identity starts with `<pid>@` polls the workflow task queue. */
async function waitForPoller(
  address: string,
  namespace: string,
  taskQueue: string,
  child: NodeProcess,
  timeoutMs: number,
): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!child.running)
        throw new Error(`worker ${child.pid} exited before it polled ${taskQueue}:\n${child.output()}`);
      const response = await connection.workflowService
        .describeTaskQueue({ namespace, taskQueue: { name: taskQueue }, taskQueueType: 1 /* workflow */ })
        .catch(() => undefined);
      if (response?.pollers?.some((p) => p.identity?.startsWith(`${child.pid}@`))) return;
      if (Date.now() > deadline) {
        await child.stop('SIGKILL');
        throw new Error(`worker ${child.pid} did not poll ${taskQueue} within ${timeoutMs} ms:\n${child.output()}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await connection.close();
  }
}
