/**
 * Custom search attributes Kaiban sets on its workflows, so operators filter through Temporal
 * visibility. The embedded dev server registers them at start (`--search-attribute` on a new
 * database, `registerSearchAttributes` in ./dev-server.ts for one created by an earlier version).
 *
 * Workflow code imports this module: nothing here may pull in a client or protobuf library (the
 * workflow bundle evaluates its modules again for every workflow it runs; test/workflow-bundle.test.ts).
 */
import {
  defineSearchAttributeKey,
  SearchAttributeType,
  type SearchAttributePair,
  type SearchAttributeUpdatePair,
  type TypedSearchAttributes,
} from '@temporalio/common';
export const SEARCH_ATTRIBUTES = {
  KaibanStatus: 'Keyword',
  KaibanDistrict: 'Keyword',
  KaibanSlaLevel: 'Keyword',
  KaibanDueAt: 'Datetime',
  KaibanPendingTask: 'KeywordList',
  KaibanCompanyName: 'Text',
  /** Scopes (`application` or a step id) whose SLA was breached, for breach statistics. */
  KaibanBreached: 'KeywordList',
  /** A keyed digest of the applicant who submitted it (security/owner-index.ts): an applicant lists their own. */
  KaibanOwner: 'Keyword',
} as const;

/**
 * The dev server's flags for these attributes: each one (registered before the server answers), and the server's
 * attribute cache on. Unless told otherwise, the CLI's dev server reads the attributes from its database on every use
 * (`system.forceSearchAttributesCacheRefreshOnRead`, a testing aid Temporal advises against in production): about 21
 * reads for every Kaiban application, and 12 for every bare workflow. With the cache, an attribute added to a running
 * server is usable after a refresh; startDevServer (./dev-server.ts) waits for that when it adds any.
 */
export function searchAttributeArgs(): string[] {
  return [
    ...Object.entries(SEARCH_ATTRIBUTES).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]),
    '--dynamic-config-value',
    'system.forceSearchAttributesCacheRefreshOnRead=false',
  ];
}

/** Typed keys for workflow code and the client (same names and types as above). */
export const statusKey = defineSearchAttributeKey('KaibanStatus', SearchAttributeType.KEYWORD);
export const districtKey = defineSearchAttributeKey('KaibanDistrict', SearchAttributeType.KEYWORD);
export const slaLevelKey = defineSearchAttributeKey('KaibanSlaLevel', SearchAttributeType.KEYWORD);
export const dueAtKey = defineSearchAttributeKey('KaibanDueAt', SearchAttributeType.DATETIME);
export const pendingTaskKey = defineSearchAttributeKey('KaibanPendingTask', SearchAttributeType.KEYWORD_LIST);
export const companyNameKey = defineSearchAttributeKey('KaibanCompanyName', SearchAttributeType.TEXT);
export const breachedKey = defineSearchAttributeKey('KaibanBreached', SearchAttributeType.KEYWORD_LIST);
export const ownerKey = defineSearchAttributeKey('KaibanOwner', SearchAttributeType.KEYWORD);

/**
 * KaibanDueAt serves filters and sorting ("due before …"): two values less than a minute apart count as the same, so
 * the workflow leaves the provisional one the API set at submission (see submissionSearchAttributes) instead of
 * spending an upsert — a history event and a visibility write — on a few milliseconds. The status carries the exact
 * deadline.
 */
export const DUE_AT_TOLERANCE_MS = 60_000;

/**
 * What an application starts with in visibility (the API sets them when it starts the workflow): running, its
 * district and name, on track, and the deadline counted from the submission instant, which the workflow's clock counts
 * from too (so its upsert at acceptance normally changes nothing). `dueAt` is omitted when the calendar cannot give it.
 * `owner` is the submitter's KaibanOwner digest (security/owner-index.ts); the workflow never changes it.
 */
export function submissionSearchAttributes(
  company: { name: string; district: string },
  dueAt: number | undefined,
  owner: string,
): SearchAttributePair[] {
  return [
    { key: statusKey, value: 'running' },
    { key: districtKey, value: company.district },
    { key: companyNameKey, value: companySearchText(company.name) },
    { key: slaLevelKey, value: 'on_track' },
    ...(dueAt !== undefined ? [{ key: dueAtKey, value: new Date(dueAt) }] : []),
    { key: ownerKey, value: owner },
  ];
}

/**
 * The pairs whose value differs from what the workflow already has (`current`: workflowInfo().typedSearchAttributes):
 * an unset list equals an empty one, and KaibanDueAt values within DUE_AT_TOLERANCE_MS are equal.
 */
export function changedSearchAttributes(
  pairs: readonly SearchAttributeUpdatePair[],
  current: TypedSearchAttributes,
): SearchAttributeUpdatePair[] {
  return pairs.filter((pair) => {
    const now: unknown = current.get(pair.key);
    const next: unknown = pair.value;
    if (Array.isArray(next) || Array.isArray(now)) {
      const a = (now ?? []) as unknown[];
      const b = (next ?? []) as unknown[];
      return a.length !== b.length || a.some((v, i) => v !== b[i]);
    }
    if (next instanceof Date) {
      return !(now instanceof Date) || Math.abs(now.getTime() - next.getTime()) >= DUE_AT_TOLERANCE_MS;
    }
    // A name's search text set by an API from before tsvectorSafe is the same name: no upsert for it (a replay of an
    // application submitted then issues none, as its first run did not).
    if (pair.key.name === companyNameKey.name && typeof now === 'string' && typeof next === 'string') {
      return tsvectorSafe(now) !== tsvectorSafe(next);
    }
    return now !== next;
  });
}

/**
 * The company name as searchable text: the name itself (exact match) followed by its characters
 * one by one, because visibility's full-text index does not split Chinese into words — so an
 * operator's `q=赣江` can match every name containing 赣 and 江 (companySearchQuery).
 */
export function companySearchText(name: string): string {
  const safe = tsvectorSafe(name);
  return `${safe} ${[...safe].filter((c) => c.trim()).join(' ')}`;
}

/**
 * ASCII characters that PostgreSQL's visibility cannot take in a Text attribute (it casts the value to `tsvector`,
 * whose syntax gives `'` quoting, `:` positions and `\` escapes a meaning: the whole visibility record of such an
 * application failed to be written, so it was in no list), as their full-width forms; companyNameFromSearchText maps
 * them back. SQLite, the dev server's store, takes them as they are.
 */
const TSVECTOR_SPECIAL: Record<string, string> = { "'": '\uFF07', ':': '\uFF1A', '\\': '\uFF3C' };
const TSVECTOR_SAFE = Object.fromEntries(Object.entries(TSVECTOR_SPECIAL).map(([ascii, wide]) => [wide, ascii]));

function tsvectorSafe(text: string): string {
  return text.replace(/['\:\\]/g, (c) => TSVECTOR_SPECIAL[c]!);
}

/** The ASCII characters tsvectorSafe replaced, back. */
function asciiAgain(text: string): string {
  return text.replace(/[\uFF07\uFF1A\uFF3C]/g, (c) => TSVECTOR_SAFE[c]!);
}

/** The characters of a search that the name's search text holds as tokens (letters and digits). */
export function searchableCharacters(q: string): string[] {
  return [...new Set([...q].filter((c) => /[\p{L}\p{N}]/u.test(c)))];
}

/**
 * The visibility query for a free-text search of company names: every character of it, one clause each. One clause
 * with all of them (`= '赣 江'`) is a full-text match of ANY token on SQL visibility (the server joins the tokens
 * with OR): a search for a whole name found nearly every company (they all hold 公 or 司).
 */
export function companySearchQuery(q: string): string {
  return searchableCharacters(q)
    .map((c) => `KaibanCompanyName = '${c}'`)
    .join(' AND ');
}

/**
 * The company name back from its search text (for lists). A name may hold spaces itself, so the name is the first
 * tokens that are followed by exactly one token per character of theirs (companySearchText).
 */
export function companyNameFromSearchText(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const tokens = text.split(' ');
  for (let k = 1; k < tokens.length; k++) {
    const name = tokens.slice(0, k).join(' ');
    if ([...name].filter((c) => c.trim()).length === tokens.length - k) return asciiAgain(name);
  }
  return tokens[0] === undefined ? undefined : asciiAgain(tokens[0]);
}
