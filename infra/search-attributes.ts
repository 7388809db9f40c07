/**
 * Custom search attributes Kaiban sets on its workflows, so operators filter through Temporal
 * visibility. The embedded dev server registers them at start (`--search-attribute` on a new
 * database, `registerSearchAttributes` in ./dev-server.ts for one created by an earlier version).
 *
 * Workflow code imports this module: nothing here may pull in a client or protobuf library (the
 * workflow bundle evaluates its modules again for every workflow it runs; test/workflow-bundle.test.ts).
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
export const SEARCH_ATTRIBUTES = {
  KaibanStatus: 'Keyword',
  KaibanDistrict: 'Keyword',
  KaibanSlaLevel: 'Keyword',
  KaibanDueAt: 'Datetime',
  KaibanPendingTask: 'KeywordList',
  KaibanCompanyName: 'Text',
  /** Scopes (`application` or a step id) whose SLA was breached, for breach statistics. */
  KaibanBreached: 'KeywordList',
} as const;

export function searchAttributeArgs(): string[] {
  return Object.entries(SEARCH_ATTRIBUTES).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]);
}

/** Typed keys for workflow code and the client (same names and types as above). */
export const statusKey = defineSearchAttributeKey('KaibanStatus', SearchAttributeType.KEYWORD);
export const districtKey = defineSearchAttributeKey('KaibanDistrict', SearchAttributeType.KEYWORD);
export const slaLevelKey = defineSearchAttributeKey('KaibanSlaLevel', SearchAttributeType.KEYWORD);
export const dueAtKey = defineSearchAttributeKey('KaibanDueAt', SearchAttributeType.DATETIME);
export const pendingTaskKey = defineSearchAttributeKey('KaibanPendingTask', SearchAttributeType.KEYWORD_LIST);
export const companyNameKey = defineSearchAttributeKey('KaibanCompanyName', SearchAttributeType.TEXT);
export const breachedKey = defineSearchAttributeKey('KaibanBreached', SearchAttributeType.KEYWORD_LIST);

/**
 * The company name as searchable text: the name itself (exact match) followed by its characters
 * one by one, because visibility's full-text index does not split Chinese into words — so an
 * operator's `q=赣江` matches every name containing 赣 and 江.
 */
export function companySearchText(name: string): string {
  return `${name} ${[...name].filter((c) => c.trim()).join(' ')}`;
}

/** The visibility query for a free-text search of company names. */
export function companySearchQuery(q: string): string {
  const chars = [...q].filter((c) => /[\p{L}\p{N}]/u.test(c)).join(' ');
  return chars ? `KaibanCompanyName = '${chars}'` : '';
}

/** The company name back from its search text (for lists). */
export function companyNameFromSearchText(text: string | undefined): string | undefined {
  return text?.split(' ')[0];
}
