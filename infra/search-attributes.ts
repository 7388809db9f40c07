/**
 * Custom search attributes Kaiban sets on its workflows, so operators filter through Temporal
 * visibility. The embedded dev server registers them at start (`--search-attribute`).
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
export const SEARCH_ATTRIBUTES = {
  KaibanStatus: 'Keyword',
  KaibanDistrict: 'Keyword',
  KaibanSlaLevel: 'Keyword',
  KaibanDueAt: 'Datetime',
  KaibanPendingTask: 'KeywordList',
  KaibanCompanyName: 'Text',
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
