/**
 * Custom search attributes Kaiban sets on its workflows, so operators filter through Temporal
 * visibility. The embedded dev server registers them at start (`--search-attribute` on a new
 * database, `registerSearchAttributes` for one created by an earlier version).
 */
import type { Connection } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
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

const INDEXED_VALUE_TYPES = {
  Keyword: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  KeywordList: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
  Text: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  Datetime: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
} as const;

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
