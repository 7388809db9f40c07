/**
 * Custom search attributes Kaiban sets on its workflows, so operators filter through Temporal
 * visibility. The embedded dev server registers them at start (`--search-attribute`).
 */
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
