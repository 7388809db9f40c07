/**
 * Bearer tokens for tests. Until the API authenticates callers this returns no header; the
 * security layer replaces it with real tokens signed for the test stack.
 */
export async function authHeaders(_role: 'applicant' | 'operator' | 'supervisor', _subject?: string): Promise<Record<string, string>> {
  return {};
}
