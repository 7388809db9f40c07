/** Small helpers shared by the security tests: HTTP calls as someone, and the people in the sample. */
import { Writable } from 'node:stream';
import { createLogger } from '../../observability/logger';
import { sampleApplication } from '../helpers/fixtures';

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a JSON answer, checked by the expectations
  body: any;
}

export async function call(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; json?: unknown; raw?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | Buffer | undefined = options.raw;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] = 'application/json';
  }
  Object.assign(headers, options.headers);
  const res = await fetch(`${baseUrl}${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = undefined;
  if ((res.headers.get('content-type') ?? '').includes('json') && text) parsed = JSON.parse(text);
  return { status: res.status, headers: res.headers, text, body: parsed };
}

/** Every ID number, mobile number and person's name in the shared sample application. */
export function samplePersonalData(): { idNumbers: string[]; phones: string[]; names: string[]; emails: string[] } {
  const app = sampleApplication();
  const people = [
    app.applicant,
    app.people.legalRepresentative,
    ...(app.people.supervisor ? [app.people.supervisor] : []),
    app.people.financeOfficer,
    ...app.people.shareholders,
  ];
  const unique = (values: Array<string | undefined>) => [...new Set(values.filter((v): v is string => !!v))];
  return {
    idNumbers: unique(people.map((p) => p.idNumber)),
    phones: unique(people.map((p) => (p as { phone?: string }).phone)),
    names: unique(people.map((p) => p.name)),
    emails: unique([app.applicant.email]),
  };
}

/** A logger at trace level whose every line lands in `lines` (and nowhere else). */
export function capturingLogger(level = 'trace') {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { lines, logger: createLogger({ level, name: 'kaiban-test', destination }) };
}
