/**
 * docker-compose.yml cannot run here (no Docker engine), so it is read against the code instead:
 * the Kaiban services use only variables the config schemas know, those variables make a working
 * configuration (agencies reached and callbacks sent by compose host names), and the search
 * attributes registered for the cluster are exactly those the workflows set.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../config';
import { SEARCH_ATTRIBUTES } from '../infra/search-attributes';
import { readSimulatorEnv } from '../simulator/env';

const root = path.resolve(__dirname, '..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');
const compose = read('docker-compose.yml');

/** The lines of a block: those after `header` indented deeper than it, up to the first that is not. */
function block(lines: string[], header: RegExp, from = 0): { body: string[]; end: number } {
  const start = lines.findIndex((line, i) => i >= from && header.test(line));
  if (start < 0) throw new Error(`docker-compose.yml has no line matching ${header}`);
  const indent = lines[start]!.search(/\S/);
  const body: string[] = [];
  let i = start + 1;
  for (; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '' || line.trim().startsWith('#')) continue;
    if (line.search(/\S/) <= indent) break;
    body.push(line);
  }
  return { body, end: i };
}

/** A flat `KEY: value` map, with `<<: *anchor` merges and `${VAR:-default}` taken at its default. */
function envMap(body: string[], anchors: Record<string, Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of body) {
    const merge = /^\s+<<: \*([\w-]+)$/.exec(line);
    if (merge) {
      Object.assign(env, anchors[merge[1]!]);
      continue;
    }
    const pair = /^\s+([A-Z][A-Z0-9_]*): (.*)$/.exec(line);
    if (!pair) throw new Error(`unexpected line in an environment block: ${line}`);
    const value = pair[2]!.replace(/^'(.*)'$/, '$1').replace(/\$\{\w+:-([^}]*)\}/g, '$1');
    env[pair[1]!] = value;
  }
  return env;
}

const lines = compose.split('\n');
const anchors = { 'kaiban-env': envMap(block(lines, /^x-kaiban-env: &kaiban-env$/).body, {}) };

function serviceEnv(service: string): Record<string, string> {
  const services = lines.indexOf('services:');
  const start = lines.findIndex((line, i) => i > services && line === `  ${service}:`);
  if (services < 0 || start < 0) throw new Error(`docker-compose.yml has no service ${service}`);
  return envMap(block(lines, /^    environment:$/, start).body, anchors);
}

describe('docker-compose.yml, read against the code', () => {
  it('gives the API and the workers only variables of config/index.ts, which load into a configuration that reaches every agency and the callback route by compose host names', () => {
    const configSource = read('config/index.ts');
    for (const service of ['api', 'worker']) {
      const env = serviceEnv(service);
      // NODE_OPTIONS is read by Node itself (the worker's heap cap), not by config/index.ts.
      for (const name of Object.keys(env).filter((n) => n !== 'NODE_OPTIONS'))
        expect({ service, name, known: configSource.includes(`  ${name}:`) }).toEqual({ service, name, known: true });
      const config = loadConfig(env);
      expect(config.env.TEMPORAL_ADDRESS).toBe('temporal:7233');
      expect(config.publicUrl).toBe('http://api:3000');
      expect(Object.values(config.agencyUrls).every((url) => url.startsWith('http://simulator:4000/agencies/'))).toBe(
        true,
      );
    }
    expect(serviceEnv('api')).toMatchObject({ HOST: '0.0.0.0', PORT: '3000' });
  });

  it('gives the simulator only variables of simulator/env.ts, listening on all interfaces and signing with the secret the API checks', () => {
    const env = serviceEnv('simulator');
    const simulatorSource = read('simulator/env.ts');
    for (const name of Object.keys(env))
      expect({ name, known: simulatorSource.includes(name) }).toEqual({ name, known: true });
    const { options } = readSimulatorEnv(env);
    expect(options).toMatchObject({ host: '0.0.0.0', port: 4000 });
    const apiSecrets = loadConfig(serviceEnv('api')).agencyCallbackSecrets;
    expect(options.callbackSecrets).toEqual(apiSecrets);
  });

  it('registers exactly the search attributes of infra/search-attributes.ts', () => {
    const script = read('deploy/temporal/init-namespace.sh');
    const registered = Object.fromEntries([...script.matchAll(/--name (\w+) --type (\w+)/g)].map((m) => [m[1], m[2]]));
    expect(registered).toEqual(SEARCH_ATTRIBUTES);
  });

  it('runs each Kaiban service with the entry point of its npm script', () => {
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    for (const [service, script] of [
      ['api', 'start:api'],
      ['worker', 'start:worker'],
      ['simulator', 'start:simulator'],
    ] as const) {
      const entry = scripts[script]!.replace(/^tsx /, '');
      expect(compose).toContain(`command: ['node', '--import', 'tsx', '${entry}']`);
      expect(compose).toMatch(
        new RegExp(
          `\\n  ${service}:\\n    <<: \\*kaiban-service\\n    command: \\['node', '--import', 'tsx', '${entry}'\\]`,
        ),
      );
    }
  });
});
