/**
 * `npm run token -- --role <applicant|operator|supervisor> --sub <subject> [--ttl 12h]`
 * Prints a bearer token for the embedded default (signed with the generated secret under
 * KAIBAN_DATA_DIR, the same one `npm start` verifies with) or for a deployment with AUTH_SECRET.
 * Only the token goes to stdout, so `TOKEN=$(npm run -s token -- --role operator --sub op1)` works.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config';
import { ROLES, signToken, SUBJECT_MAX, type Role } from '../security/jwt';

const USAGE = `usage: npm run token -- --role <${ROLES.join('|')}> --sub <subject> [--ttl 12h]`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      role: { type: 'string' },
      sub: { type: 'string' },
      ttl: { type: 'string', default: '12h' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const role = values.role as Role | undefined;
  if (!role || !ROLES.includes(role) || !values.sub || values.sub.length > SUBJECT_MAX) {
    process.stderr.write(
      `${USAGE}\n  an applicant's subject is the applicant's identity; operators and supervisors use their staff id\n`,
    );
    process.exit(2);
  }
  const config = loadConfig();
  const token = await signToken(config, { subject: values.sub, role }, values.ttl);
  process.stdout.write(`${token}\n`);
  process.stderr.write(`${role} "${values.sub}", valid ${values.ttl}: curl -H "Authorization: Bearer <token>" …\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
