/**
 * `npm run bench [-- options]`: Kaiban against raw Temporal, each figure beside a baseline measured
 * in the same run on the same dev server and worker settings. Prints a table and writes JSON under
 * bench/results/. Benchmarks never fail on slow figures, only on crashes.
 *
 *   --smoke            a tiny size of everything (< 2 minutes), for CI
 *   --n <count>        applications per throughput round (default 500)
 *   --rounds <count>   throughput rounds of each kind (default 2)
 *   --samples <count>  latency samples of each kind (default 50)
 *   --duration <s>     seconds of each API load (default 10)
 *   --connections <c>  concurrent API connections (default 100)
 *   --capacity <count> applications parked for the capacity figures (default 1000; try 10000)
 *   --replays <count>  replays of each recorded history per replay round (default 200; 4 rounds)
 *   --only <a,b>       run only these: throughput, replay, latency, api, capacity, sla
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { temporalCliPath } from '../infra/temporal-binaries';
import { workerTuningFromConfig } from '../worker/worker';
import { measureApi, type ApiResult, type LoadFigures } from './api-load';
import { measureCapacity, type CapacityResult } from './capacity';
import { startBenchEnvironment, workerNodeOptions } from './environment';
import {
  measureLatency,
  measureThroughput,
  type CpuPerApplication,
  type LatencyResult,
  type ThroughputResult,
} from './orchestration';
import { measureReplay, type ReplayResult } from './replay';
import { measureSlaPrecision, type SlaResult } from './sla-precision';
import { fmt, mib, percentileLabel, ratio, renderTable, type Row } from './stats';

const PHASES = ['throughput', 'replay', 'latency', 'api', 'capacity', 'sla'] as const;
type Phase = (typeof PHASES)[number];

function options() {
  const { values } = parseArgs({
    options: {
      smoke: { type: 'boolean', default: false },
      n: { type: 'string' },
      rounds: { type: 'string' },
      samples: { type: 'string' },
      duration: { type: 'string' },
      connections: { type: 'string' },
      capacity: { type: 'string' },
      replays: { type: 'string' },
      only: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      'npm run bench -- [--smoke] [--n 500] [--rounds 2] [--samples 50] [--duration 10] [--connections 100] [--capacity 1000] [--replays 200] [--only throughput,replay,latency,api,capacity,sla]\n',
    );
    process.exit(0);
  }
  const smoke = values.smoke;
  const int = (value: string | undefined, normal: number, tiny: number) =>
    value ? Number.parseInt(value, 10) : smoke ? tiny : normal;
  const only = values.only ? (values.only.split(',') as Phase[]) : [...PHASES];
  for (const p of only)
    if (!PHASES.includes(p)) throw new Error(`--only: unknown benchmark '${p}' (${PHASES.join(', ')})`);
  return {
    smoke,
    n: int(values.n, 500, 10),
    rounds: int(values.rounds, 2, 1),
    warmup: smoke ? 2 : 20,
    samples: int(values.samples, 50, 3),
    duration: int(values.duration, 10, 2),
    connections: int(values.connections, 100, 10),
    capacity: int(values.capacity, 1000, 20),
    replays: int(values.replays, 200, 5),
    replayRounds: smoke ? 1 : 4, // even: the order reversed every other round balances them
    listSamples: smoke ? 2 : 20,
    only: new Set(only),
  };
}

function machine() {
  let temporal = 'unknown';
  try {
    temporal = execFileSync(temporalCliPath(), ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    // Reported as unknown.
  }
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryBytes: os.totalmem(),
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    temporal,
  };
}

type Results = {
  throughput?: ThroughputResult;
  replay?: ReplayResult;
  latency?: LatencyResult;
  api?: ApiResult;
  capacity?: CapacityResult;
  sla?: SlaResult;
};

function rows(results: Results): Row[] {
  const out: Row[] = [];
  const ms = (v: number) => `${fmt(v)} ms`;
  /** Kaiban's figure over the baseline's, as the table shows a ratio. */
  const times = (kaiban: number, baseline: number) => `${fmt(ratio(kaiban, baseline), 2)}×`;
  /** Each round's own ratio, when there is more than one: the spread the machine put into the mean. */
  const byRound = (ratios: number[]) =>
    ratios.length > 1 ? ` (rounds ${ratios.map((r) => fmt(r, 2)).join(', ')})` : '';
  const { throughput, replay, latency, api, capacity, sla } = results;
  if (throughput) {
    out.push({
      section: `throughput (${throughput.n} apps)`,
      metric: 'completed / s',
      kaiban: fmt(throughput.kaibanPerSecond),
      baseline: fmt(throughput.baselinePerSecond),
      ratio: `${fmt(throughput.ratio, 2)}×${byRound(throughput.roundRatios.kaiban)}`,
      better: 'higher',
      goal: '≥ 0.9×',
    });
    const cpu = throughput.cpuMsPerApplication;
    const processes = [
      ['dev-server CPU ms / app', 'server'],
      ['worker CPU ms / app', 'worker'],
      ['API CPU ms / app', 'api'],
      ['simulator + load generator CPU ms / app', 'simulatorAndLoad'],
    ] as const;
    // What an application costs the four processes above together: when CPU is what limits both sides on cores they
    // all share, the throughput ratio is about the inverse of this one.
    const total = (of: CpuPerApplication) => processes.reduce((sum, [, process]) => sum + of[process], 0);
    for (const [label, kaiban] of [
      ['', cpu.kaiban],
      [', agencies not calling back', cpu.kaibanNoCallbacks],
    ] as const) {
      if (!kaiban) continue;
      for (const [metric, process] of processes) {
        out.push({
          section: `throughput (${throughput.n} apps)`,
          metric: `${metric}${label}`,
          kaiban: fmt(kaiban[process]),
          baseline: fmt(cpu.baseline[process]),
          // The baseline has no API work and no agencies: a ratio against its idle figure would say nothing.
          ratio: process === 'server' || process === 'worker' ? times(kaiban[process], cpu.baseline[process]) : '—',
          better: 'lower',
        });
      }
      out.push({
        section: `throughput (${throughput.n} apps)`,
        metric: `all processes CPU ms / app${label}`,
        kaiban: fmt(total(kaiban)),
        baseline: fmt(total(cpu.baseline)),
        ratio: times(total(kaiban), total(cpu.baseline)),
        better: 'lower',
      });
    }
    const server = throughput.server;
    for (const [label, kaiban] of [
      ['', server.kaiban],
      [', agencies not calling back', server.kaibanNoCallbacks],
    ] as const) {
      if (!kaiban) continue;
      for (const [metric, key] of [
        ['server requests', 'requests'],
        ['server persistence writes', 'writes'],
        ['server persistence reads', 'reads'],
      ] as const) {
        out.push({
          section: `throughput (${throughput.n} apps)`,
          metric: `${metric} / app${label}`,
          kaiban: fmt(kaiban[key]),
          baseline: fmt(server.baseline[key]),
          ratio: times(kaiban[key], server.baseline[key]),
          better: 'lower',
        });
      }
    }
    const taken = Object.values(throughput.callbacks.outcomes).reduce((a, b) => a + b, 0);
    const kaibanRuns = throughput.rounds.filter((r) => r.kind === 'kaiban').length * throughput.n;
    if (taken > 0) {
      const per = (v: number) => fmt(v / kaibanRuns, 2);
      const { outcomes } = throughput.callbacks;
      out.push({
        section: `throughput (${throughput.n} apps)`,
        metric: 'callbacks / app: taken, queries, signals (in doubt)',
        kaiban: `${per(taken)}, ${per(throughput.callbacks.queries)}, ${per((outcomes.signalled ?? 0) + (outcomes.signalled_in_doubt ?? 0))} (${per(outcomes.signalled_in_doubt ?? 0)})`,
        baseline: '',
        ratio: '',
        better: '',
      });
    }
    if (throughput.noCallbacksPerSecond !== undefined) {
      out.push({
        section: `throughput (${throughput.n} apps)`,
        metric: 'completed / s, agencies not calling back',
        kaiban: fmt(throughput.noCallbacksPerSecond),
        baseline: fmt(throughput.baselinePerSecond),
        ratio: `${fmt(throughput.noCallbacksRatio ?? NaN, 2)}×${byRound(throughput.roundRatios.noCallbacks ?? [])}`,
        better: 'higher',
      });
    }
  }
  if (replay) {
    const section = `replay (${replay.replays} × ${replay.rounds.length / 2})`;
    out.push({
      section,
      metric: 'CPU ms / completed history replayed',
      kaiban: fmt(replay.kaibanCpuMs, 2),
      baseline: fmt(replay.baselineCpuMs, 2),
      ratio: `${fmt(replay.ratio, 2)}×`,
      better: 'lower',
    });
    out.push({
      section,
      metric: 'history events, KiB',
      kaiban: `${replay.history.kaiban.events}, ${fmt(replay.history.kaiban.bytes / 1024)}`,
      baseline: `${replay.history.baseline.events}, ${fmt(replay.history.baseline.bytes / 1024)}`,
      ratio: `${times(replay.history.kaiban.bytes, replay.history.baseline.bytes)} (KiB)`,
      better: 'lower',
    });
  }
  if (latency) {
    for (const p of [50, 95, 99] as const) {
      const key = `p${p}` as const;
      out.push({
        section: `latency (1 app, ${latency.samples}×)`,
        metric: percentileLabel(p, latency.kaiban.count, latency.baseline.count),
        kaiban: ms(latency.kaiban[key]),
        baseline: ms(latency.baseline[key]),
        ratio: times(latency.kaiban[key], latency.baseline[key]),
        better: 'lower',
      });
    }
  }
  if (api) {
    const c = `${api.connections} conn`;
    for (const [section, kaiban, baseline] of [
      [`POST /v1/applications (${c})`, api.post, api.postBaseline],
      [`GET /v1/applications/:id (${c})`, api.get, api.getBaseline],
    ] as const) {
      out.push({
        section,
        metric: 'requests / s (2xx)',
        kaiban: fmt(kaiban.perSecond),
        baseline: fmt(baseline.perSecond),
        ratio: times(kaiban.perSecond, baseline.perSecond),
        better: 'higher',
      });
      out.push({
        section,
        metric: percentileLabel(99, kaiban.latency.count, baseline.latency.count),
        kaiban: ms(kaiban.latency.p99),
        baseline: ms(baseline.latency.p99),
        ratio: times(kaiban.latency.p99, baseline.latency.p99),
        better: 'lower',
      });
      // Failed requests do not fail the run; they are shown here, loudly, whenever there are any.
      const failed = (f: LoadFigures) =>
        `${f.failures ? 'FAILED ' : ''}${f.failures} of ${f.requests}${f.non2xx ? ` (${f.non2xx} non-2xx)` : ''}`;
      out.push({
        section,
        metric: 'failed requests (non-2xx, errors)',
        kaiban: failed(kaiban),
        baseline: failed(baseline),
        ratio: '',
        better: 'lower',
      });
    }
  }
  if (capacity) {
    const s = `capacity (${capacity.parked} parked)`;
    const { kaiban, baseline } = capacity;
    out.push({
      section: s,
      metric: 'worker RSS after parking (current)',
      kaiban: mib(kaiban.workerRssAfterParking),
      baseline: mib(baseline.workerRssAfterParking),
      ratio: times(kaiban.workerRssAfterParking, baseline.workerRssAfterParking),
      better: 'lower',
      goal: '< 1 GiB',
    });
    out.push({
      section: s,
      metric: 'worker RSS, lifetime peak (includes earlier phases)',
      kaiban: mib(kaiban.workerLifetimePeakRss),
      baseline: mib(baseline.workerLifetimePeakRss),
      ratio: times(kaiban.workerLifetimePeakRss, baseline.workerLifetimePeakRss),
      better: 'lower',
    });
    out.push({
      section: s,
      metric: 'runs seen parked before memory was read',
      kaiban: `${kaiban.parkedVerified} / ${capacity.parked}`,
      baseline: `${baseline.parkedVerified} / ${capacity.parked}`,
      ratio: '',
      better: '',
    });
    out.push({
      section: s,
      metric: 'dev-server RSS growth (one after the other, see notes)',
      kaiban: mib(kaiban.serverRssGrowth),
      baseline: mib(baseline.serverRssGrowth),
      // Measured in sequence on the same server: a delta at or below zero is the heap reused, not a figure to divide.
      ratio:
        kaiban.serverRssGrowth > 0 && baseline.serverRssGrowth > 0
          ? times(kaiban.serverRssGrowth, baseline.serverRssGrowth)
          : 'n/a (server heap reused)',
      better: 'lower',
    });
    out.push({
      section: s,
      metric: 'dev-server RSS (end)',
      kaiban: mib(capacity.serverRssEnd),
      baseline: '',
      ratio: '',
      better: '',
    });
    out.push({
      section: s,
      metric: `list ${percentileLabel(99, capacity.list.count, capacity.listBaseline.count)}, API vs bare visibility`,
      kaiban: ms(capacity.list.p99),
      baseline: ms(capacity.listBaseline.p99),
      ratio: times(capacity.list.p99, capacity.listBaseline.p99),
      better: 'lower',
      goal: '< 200 ms',
    });
    out.push({
      section: s,
      metric: `list ${percentileLabel(50, capacity.list.count, capacity.listBaseline.count)}`,
      kaiban: ms(capacity.list.p50),
      baseline: ms(capacity.listBaseline.p50),
      ratio: times(capacity.list.p50, capacity.listBaseline.p50),
      better: 'lower',
    });
  }
  if (sla) {
    if (sla.available) {
      out.push({
        section: 'SLA alert delay (due → webhook)',
        metric: percentileLabel(50, sla.delay.count, sla.timerDelay.count),
        kaiban: ms(sla.delay.p50),
        baseline: ms(sla.timerDelay.p50),
        ratio: times(sla.delay.p50, sla.timerDelay.p50),
        better: 'lower',
      });
      out.push({
        section: 'SLA alert delay (due → webhook)',
        metric: `${percentileLabel(99, sla.delay.count, sla.timerDelay.count)} / max`,
        kaiban: `${ms(sla.delay.p99)} / ${ms(sla.delay.max)}`,
        baseline: `${ms(sla.timerDelay.p99)} / ${ms(sla.timerDelay.max)}`,
        ratio: '',
        better: 'lower',
      });
      // Missing alerts do not fail the run; they are shown here, loudly, whenever there are any.
      const arrived = (missing: number) =>
        `${sla.expected - missing} / ${sla.expected}${missing ? ` (MISSING ${missing})` : ''}`;
      out.push({
        section: 'SLA alert delay (due → webhook)',
        metric: 'alerts arrived / expected',
        kaiban: arrived(sla.missing.kaiban),
        baseline: arrived(sla.missing.baseline),
        ratio: '',
        better: '',
      });
    } else {
      out.push({
        section: 'SLA alert delay',
        metric: 'not available yet',
        kaiban: '–',
        baseline: '–',
        ratio: '',
        better: '',
        goal: sla.reason,
      });
    }
  }
  return out;
}

/** What the table alone would let a reader get wrong, printed under it and kept in the JSON. */
function notes(results: Results, table: readonly Row[]): string[] {
  const out = [
    "ratio = Kaiban / baseline; 'better' says which way is good: above 1× is good for 'higher' rows (rates), bad for 'lower' ones (times, CPU, memory, counts).",
  ];
  if (table.some((r) => r.metric.includes('= max'))) {
    out.push(
      'percentiles are nearest-rank: with fewer than 100 samples p99 is the maximum (p95 with fewer than 20), marked "= max"; n is the sample count of each side.',
    );
  }
  if (results.api) {
    out.push("API: autocannon's percentiles come from its histogram (it reports p97.5, kept as p97_5 in the JSON).");
  }
  if (results.capacity) {
    out.push(
      "capacity: dev-server RSS growth is measured one side after the other on the same server, Kaiban first; the baseline's grows a heap Kaiban's runs already grew (Go keeps freed memory), so the deltas are not comparable and no ratio is given when either is ≤ 0.",
      "capacity: worker RSS after parking is the current VmRSS 2 s after the runs parked; the lifetime peak (VmHWM) includes every earlier phase of this run. Kaiban's runs count as parked by their filings at the simulator, the baseline's by describing each run (no activity or workflow task pending).",
    );
  }
  return out;
}

async function main(): Promise<void> {
  const opts = options();
  const started = Date.now();
  const log = (line: string) =>
    process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
  const env = await startBenchEnvironment({ log });
  const stop = () => void env.close().then(() => process.exit(130));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // A dead process fails the run at once instead of leaving a phase waiting for it.
  const guard = <T>(phase: Promise<T>) => Promise.race([phase, env.crashed]);
  const results: Results = {};
  try {
    if (opts.only.has('throughput')) {
      results.throughput = await guard(
        measureThroughput(env, { n: opts.n, rounds: opts.rounds, warmup: opts.warmup, withoutCallbacks: true, log }),
      );
    }
    if (opts.only.has('replay')) {
      results.replay = await guard(measureReplay(env, { replays: opts.replays, rounds: opts.replayRounds, log }));
    }
    if (opts.only.has('latency')) results.latency = await guard(measureLatency(env, { samples: opts.samples, log }));
    // Capacity before the API load: the load leaves thousands of queued submissions on the server.
    if (opts.only.has('capacity')) {
      results.capacity = await guard(measureCapacity(env, { size: opts.capacity, listSamples: opts.listSamples, log }));
    }
    if (opts.only.has('api')) {
      results.api = await guard(
        measureApi(env, {
          duration: opts.duration,
          connections: opts.connections,
          statusIds: results.throughput?.completedIds ?? [],
          parkedIds: results.capacity?.parkedIds ?? [],
          log,
        }),
      );
    }
    if (opts.only.has('sla'))
      results.sla = await guard(
        measureSlaPrecision(env, {
          samples: opts.smoke ? 2 : 10,
          budgetsSeconds: opts.smoke ? { license: 8, application: 16 } : { license: 20, application: 40 },
          log,
        }),
      );
  } finally {
    await env.close();
  }

  const table = rows(results);
  const tableNotes = notes(results, table);
  const report = {
    at: new Date().toISOString(),
    options: { ...opts, only: [...opts.only] },
    machine: machine(),
    tuning: workerTuningFromConfig(env.config),
    workerNodeOptions: workerNodeOptions(),
    durationSeconds: (Date.now() - started) / 1000,
    results: {
      ...results,
      throughput: results.throughput && { ...results.throughput, completedIds: undefined },
      capacity: results.capacity && { ...results.capacity, parkedIds: undefined },
    },
    // The printed table as rows (each with its 'better' direction), and the notes printed under it.
    table,
    notes: tableNotes,
  };
  const dir = path.resolve(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `bench-${report.at.replace(/[:.]/g, '-')}${opts.smoke ? '-smoke' : ''}.json`);
  writeFileSync(file, JSON.stringify(report, null, 2));

  const m = report.machine;
  process.stdout.write(
    `\nKaiban benchmarks — ${m.cpus} × ${m.cpuModel}, ${(m.memoryBytes / 2 ** 30).toFixed(0)} GiB, ${m.platform}, Node ${m.node}\n` +
      `${m.temporal.split('\n')[0]}; worker tuning ${JSON.stringify(report.tuning)}, NODE_OPTIONS '${report.workerNodeOptions}'\n\n` +
      renderTable(table) +
      `\n\n${tableNotes.map((note) => `- ${note}`).join('\n')}` +
      `\n\n${file} (${report.durationSeconds.toFixed(0)} s)\n`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
