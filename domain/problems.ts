/**
 * Turns validation failures into the problems the API returns: one per field, each with the
 * field path, a stable code, and a message in the caller's language (zh-CN by default, or en).
 */
import type { z } from 'zod';

export type Language = 'zh' | 'en';

export interface Problem {
  /** Dotted path of the field, with array indices in brackets: `people.shareholders[1].idNumber`. */
  path: string;
  code: string;
  message: string;
}

type Params = Record<string, unknown>;
/** zod's names of types and formats, as a Chinese message says them. */
const TYPE_NAMES_ZH: Record<string, string> = {
  string: '文本（字符串）',
  number: '数字',
  boolean: '布尔值（true 或 false）',
  object: '对象',
  array: '数组',
  nan: '数字',
};
const FORMAT_NAMES_ZH: Record<string, string> = { email: '电子邮箱地址' };
const MESSAGES: Record<string, { zh: (p: Params) => string; en: (p: Params) => string }> = {
  ID_NUMBER_FORMAT: {
    zh: () => '身份证号码应为18位（末位可为X）',
    en: () => 'an ID number has 18 characters: 17 digits and a digit or X',
  },
  ID_NUMBER_CHECK: {
    zh: () => '身份证号码校验位或出生日期不正确（GB 11643）',
    en: () => 'the ID number check character or birth date is wrong (GB 11643)',
  },
  ID_NUMBER_BIRTH_FUTURE: {
    zh: () => '身份证号码中的出生日期晚于今天',
    en: () => 'the birth date in the ID number is after today',
  },
  USCC_INVALID: {
    zh: () => '统一社会信用代码无效（18位，末位为校验码）',
    en: () => 'not a valid unified social credit code (18 characters, the last a check character)',
  },
  PHONE_INVALID: {
    zh: () => '手机号码应为11位数字，前两位为13至19',
    en: () => 'a mobile number has 11 digits and starts with 13 to 19',
  },
  NAME_CHARACTERS: {
    zh: () => '姓名只能包含文字，以及间隔号（·）、空格、连字符、撇号或句点',
    en: () => 'a name holds letters only, and the middle dot (·), spaces, hyphens, apostrophes or periods',
  },
  TEXT_CHARACTERS: {
    zh: () => '含有控制字符、不可见字符或表情符号',
    en: () => 'holds a control character, an invisible character or an emoji',
  },
  SHAREHOLDER_COUNT: {
    zh: (p) => (p.exactly === 1 ? `${p.entity_zh}只能有一名投资人` : `${p.entity_zh}至少需要两名合伙人`),
    en: (p) =>
      p.exactly === 1 ? `a ${p.entity_en} has exactly one owner` : `a ${p.entity_en} needs at least two partners`,
  },
  DATE_INVALID: {
    zh: () => '应为真实存在的日期，格式 YYYY-MM-DD',
    en: () => 'must be a real calendar date, as YYYY-MM-DD',
  },
  DISTRICT_UNKNOWN: {
    zh: () => '不是南昌市的县级行政区划代码',
    en: () => 'not a county-level division code of Nanchang',
  },
  SCOPE_EMPTY: { zh: () => '经营范围至少填写一项', en: () => 'the business scope needs at least one item' },
  SHAREHOLDERS_EMPTY: { zh: () => '至少需要一名股东', en: () => 'at least one shareholder is needed' },
  SEALS_EMPTY: { zh: () => '至少刻制一枚印章', en: () => 'at least one seal is needed' },
  SHAREHOLDER_DUPLICATE: { zh: () => '同一股东重复填写', en: () => 'the same shareholder is listed twice' },
  ITEM_DUPLICATE: { zh: () => '与前面的项目重复', en: () => 'repeats an item listed before it' },
  MASKED_VALUE: {
    zh: () => '含有已遮蔽的号码（****）：答复中的个人号码均已遮蔽，请按原文填写',
    en: () => 'holds a masked number (****): answers mask personal numbers; send the text as written',
  },
  DATE_IN_PAST: { zh: (p) => `日期不能早于今天（${p.today}）`, en: (p) => `must not be before today (${p.today})` },
  DATE_TOO_FAR: {
    zh: (p) => `日期不能晚于 ${p.latest}（今天起 ${p.days} 天内）`,
    en: (p) => `must be within ${p.days} days of today (at most ${p.latest})`,
  },
  NOTHING_CHANGED: {
    zh: () => '补正未提交任何内容：请提交修改后的字段；如材料无误，原样提交这些字段以确认',
    en: () => 'the correction names nothing: send the corrected fields, or these fields as they are to confirm them',
  },
  CONTRIBUTIONS_MISMATCH: {
    zh: (p) => `股东出资合计 ${p.contributed} 元，与注册资本 ${p.registeredCapital} 元不一致`,
    en: (p) =>
      `shareholder contributions sum to ${p.contributed} yuan, not the registered capital of ${p.registeredCapital} yuan`,
  },
  UNKNOWN_FIELD: { zh: (p) => `不接受的字段「${p.key}」`, en: (p) => `unknown field '${p.key}'` },
  NEEDS_SEARCH_ATTRIBUTES: {
    zh: () => '此筛选依赖开办的搜索属性，本部署未启用（TEMPORAL_SEARCH_ATTRIBUTES=false）；可按申请号查找',
    en: () =>
      "this filter needs Kaiban's search attributes, which this deployment does not use (TEMPORAL_SEARCH_ATTRIBUTES=false); search by application id",
  },
  NOTHING_TO_SEARCH: {
    zh: () => '应至少包含一个汉字、字母或数字',
    en: () => 'expected at least one letter or digit to search for',
  },
  REQUIRED: { zh: () => '必填', en: () => 'required' },
  INVALID_TYPE: {
    zh: (p) =>
      `类型错误，应为${TYPE_NAMES_ZH[String(p.expected)] ?? ` ${String(p.expected)}`}${p.null ? '；不填请省略此字段' : ''}`,
    en: (p) => `wrong type, expected ${String(p.expected)}${p.null ? '; to leave it out, omit the field' : ''}`,
  },
  TOO_SMALL: { zh: (p) => `不能小于 ${p.minimum}`, en: (p) => `must be at least ${p.minimum}` },
  TOO_BIG: { zh: (p) => `不能大于 ${p.maximum}`, en: (p) => `must be at most ${p.maximum}` },
  NOT_ABOVE: { zh: (p) => `必须大于 ${p.minimum}`, en: (p) => `must be more than ${p.minimum}` },
  NOT_BELOW: { zh: (p) => `必须小于 ${p.maximum}`, en: (p) => `must be less than ${p.maximum}` },
  PAGE_TOKEN_INVALID: {
    zh: () => '翻页令牌无法识别：从第一页重新查询',
    en: () => 'the page token is not one this list gave out; start again from the first page',
  },
  TOO_SHORT: { zh: (p) => `长度至少为 ${p.minimum}`, en: (p) => `must have at least ${p.minimum} characters or items` },
  TOO_DEEP: { zh: (p) => `嵌套超过 ${p.maximum} 层`, en: (p) => `nests deeper than ${p.maximum} levels` },
  TOO_LONG: { zh: (p) => `长度不能超过 ${p.maximum}`, en: (p) => `must have at most ${p.maximum} characters or items` },
  NOT_INTEGER: { zh: () => '应为整数', en: () => 'must be a whole number' },
  INVALID_FORMAT: {
    zh: (p) => `格式不正确（${FORMAT_NAMES_ZH[String(p.format)] ?? String(p.format)}）`,
    en: (p) => `wrong format (${String(p.format)})`,
  },
  NOT_ALLOWED_VALUE: { zh: (p) => `取值应为：${p.values}`, en: (p) => `must be one of: ${p.values}` },
  INVALID: { zh: () => '取值不正确', en: () => 'invalid value' },
};

/**
 * An unknown field's name as an answer repeats it: at most 40 characters, and long runs of digits starred (a client
 * that keys an object by a mobile or ID number would have it quoted back, and perhaps logged).
 */
function toldKey(key: string): string {
  const cut = key.length > 40 ? `${key.slice(0, 40)}…` : key;
  return cut.replace(/\d{6,}[\dXx]?/g, (run) => '*'.repeat(run.length));
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(body)';
}

export function problem(path: ReadonlyArray<PropertyKey>, code: string, lang: Language, params: Params = {}): Problem {
  const text = MESSAGES[code] ?? MESSAGES.INVALID!;
  return { path: formatPath(path), code, message: text[lang](params) };
}

/** Every problem of a failed parse, in the caller's language. */
export function problemsFromZodError(error: z.ZodError, lang: Language): Problem[] {
  const problems: Problem[] = [];
  // A whole number beyond ±2^53 breaks zod's safe-integer bound beside the schema's own: the schema's is told.
  const safeBound = (issue: z.core.$ZodIssue) =>
    (issue.code === 'too_small' && issue.origin === 'int' && Number(issue.minimum) === Number.MIN_SAFE_INTEGER) ||
    (issue.code === 'too_big' && issue.origin === 'int' && Number(issue.maximum) === Number.MAX_SAFE_INTEGER);
  const pathOf = (issue: z.core.$ZodIssue) => formatPath(issue.path);
  const toldElsewhere = new Set(error.issues.filter((i) => !safeBound(i)).map(pathOf));
  for (const issue of error.issues) {
    if (safeBound(issue) && toldElsewhere.has(pathOf(issue))) continue;
    const params = ('params' in issue ? (issue.params as Params | undefined) : undefined) ?? {};
    if (typeof params.code === 'string') {
      problems.push(problem(issue.path, params.code, lang, params));
      continue;
    }
    switch (issue.code) {
      case 'unrecognized_keys':
        for (const key of issue.keys) {
          const told = toldKey(key);
          problems.push(problem([...issue.path, told], 'UNKNOWN_FIELD', lang, { key: told }));
        }
        break;
      case 'invalid_type':
        problems.push(
          issue.input === undefined
            ? problem(issue.path, 'REQUIRED', lang)
            : problem(issue.path, issue.expected === 'int' ? 'NOT_INTEGER' : 'INVALID_TYPE', lang, {
                expected: issue.expected,
                // A field may be left out, not the body.
                null: issue.input === null && issue.path.length > 0,
              }),
        );
        break;
      case 'too_small': {
        const numeric = issue.origin === 'number' || issue.origin === 'bigint' || issue.origin === 'int';
        const code = !numeric ? 'TOO_SHORT' : issue.inclusive === false ? 'NOT_ABOVE' : 'TOO_SMALL';
        problems.push(problem(issue.path, code, lang, { minimum: issue.minimum }));
        break;
      }
      case 'too_big': {
        // `int`: a whole number beyond the safe integers (2^53), a size, not a length.
        const numeric = issue.origin === 'number' || issue.origin === 'bigint' || issue.origin === 'int';
        const code = !numeric ? 'TOO_LONG' : issue.inclusive === false ? 'NOT_BELOW' : 'TOO_BIG';
        problems.push(problem(issue.path, code, lang, { maximum: issue.maximum }));
        break;
      }
      case 'invalid_format':
        // A date is told as the rule it breaks (a real day, written YYYY-MM-DD), not as zod's name of the format.
        problems.push(
          issue.format === 'date'
            ? problem(issue.path, 'DATE_INVALID', lang)
            : problem(issue.path, 'INVALID_FORMAT', lang, { format: issue.format }),
        );
        break;
      case 'invalid_value':
        problems.push(problem(issue.path, 'NOT_ALLOWED_VALUE', lang, { values: issue.values.map(String).join(', ') }));
        break;
      default:
        problems.push(problem(issue.path, 'INVALID', lang));
    }
  }
  return problems;
}

/** zh-CN unless the caller prefers English over Chinese in Accept-Language. */
export function languageFrom(acceptLanguage: string | undefined): Language {
  if (!acceptLanguage) return 'zh';
  const ranked = acceptLanguage
    .split(',')
    .map((part) => {
      const [tag = '', ...rest] = part.trim().toLowerCase().split(';');
      const q = rest.find((r) => r.trim().startsWith('q='));
      return { tag, q: q ? Number(q.trim().slice(2)) || 0 : 1 };
    })
    .sort((a, b) => b.q - a.q);
  for (const { tag } of ranked) {
    if (tag.startsWith('zh')) return 'zh';
    if (tag.startsWith('en')) return 'en';
  }
  return 'zh';
}
