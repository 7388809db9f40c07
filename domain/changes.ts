/**
 * What a correction changed, as field paths in the notation of validation problems (`company.district`,
 * `people.shareholders[1].idNumber`): names only, never values (they may be personal data). Pure: workflow code
 * uses it for the audit trail.
 */
export function changedPaths(before: unknown, after: unknown, path = ''): string[] {
  if (Object.is(before, after)) return [];
  if (Array.isArray(before) && Array.isArray(after)) {
    // A list of plain values (business scope, seals) is one field; a list of records is compared item by item.
    if (![...before, ...after].every(isRecord)) return sameJson(before, after) ? [] : [path];
    const length = Math.max(before.length, after.length);
    return Array.from({ length }, (_, i) => changedPaths(before[i], after[i], `${path}[${i}]`)).flat();
  }
  if (isRecord(before) && isRecord(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) => changedPaths(before[key], after[key], path ? `${path}.${key}` : key));
  }
  return [path];
}

/**
 * Whether `path` answers one of the requested fields: the field itself, a part of it, or a field holding it (a list
 * of values changes as one field, `company.businessScope`, where a review asked for `company.businessScope[1]`).
 */
export function withinFields(path: string, fields: readonly string[]): boolean {
  const inside = (a: string, b: string) => a === b || a.startsWith(`${b}.`) || a.startsWith(`${b}[`);
  return fields.some((f) => inside(path, f) || inside(f, path));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
