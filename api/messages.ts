/**
 * The API's own refusals of a request (no such application, a key used twice, a role that may not, too many
 * requests, …) in both of its languages. The error handler answers in the caller's language (Accept-Language, zh-CN
 * by default; api/errors.ts), as it does for an application's field problems (domain/problems.ts) and the workflow's
 * refusals of an action (domain/action-rejections.ts): applicants and window clerks read these. What machines and
 * engineers read — the answers to agencies' callbacks, the codec server's, the due-date calculator's — stays English.
 */
import type { Language } from '../domain/problems';
import type { Role } from '../security/jwt';

/** One message in each of the API's languages. */
export type Localized = Readonly<Record<Language, string>>;

const ROLE_ZH: Record<Role, string> = { applicant: '申请人', operator: '运营人员', supervisor: '监察人员' };

const seeIssues = (zh: string, en: string): Localized => ({ zh: `${zh}，详见 issues`, en: `${en}; see issues` });

export const API_MESSAGES = {
  applicationNotFound: { zh: '没有这个申请', en: 'no such application' },
  routeNotFound: { zh: '没有这个接口', en: 'no such route' },
  stepNotFound: (step: string): Localized => ({ zh: `没有“${step}”这个步骤`, en: `no step '${step}'` }),

  applicationNotJson: { zh: '请以 application/json 提交申请', en: 'send the application as application/json' },
  bodyNotJson: { zh: '请以 application/json 发送请求内容', en: 'send the body as application/json' },
  bodyTooLarge: { zh: '请求内容超过了大小上限', en: 'the request body is larger than the limit' },
  bodyMalformed: { zh: '请求内容不是有效的 JSON', en: 'the request body is not valid JSON' },
  bodyTooDeep: (max: number): Localized => ({
    zh: `请求内容嵌套超过 ${max} 层，详见 issues`,
    en: `the request body nests deeper than ${max} levels; see issues`,
  }),
  bodyEncoding: { zh: '请以 UTF-8 编码的 JSON 发送请求内容', en: 'send the body as UTF-8 JSON' },
  requestUnreadable: { zh: '无法读取这个请求', en: 'the request could not be read' },

  applicationProblems: seeIssues('申请材料有误', 'the application has problems'),
  bodyProblems: seeIssues('请求内容有误', 'the request body has problems'),
  correctionProblems: seeIssues('补正后的申请材料有误', 'the corrected application has problems'),
  correctionEmpty: seeIssues('补正未提交任何内容', 'the correction names nothing'),
  filterProblems: seeIssues('筛选条件有误', 'bad filters'),
  consoleRole: (roles: readonly Role[]): Localized => ({
    zh: `角色应为${roles.map((r) => ROLE_ZH[r]).join('或')}（${roles.join('、')}）`,
    en: `role must be one of ${roles.join(', ')}`,
  }),

  idempotencyKeyInvalid: (max: number): Localized => ({
    zh: `Idempotency-Key 应为 1 至 ${max} 个字符`,
    en: `Idempotency-Key must be 1 to ${max} characters`,
  }),
  idempotencyKeyReusedApplication: {
    zh: '此 Idempotency-Key 已用于另一份申请：新的申请请用新的键',
    en: 'this Idempotency-Key was used for a different application',
  },
  idempotencyKeyReusedAction: (action: string): Localized => ({
    zh: `此 Idempotency-Key 已用于另一个 ${action} 请求：新的请求请用新的键`,
    en: `this Idempotency-Key was used for another ${action} request; use a new key for a new request`,
  }),

  tokenMissing: {
    zh: '此接口需要访问令牌：Authorization: Bearer <令牌>',
    en: 'this route needs a bearer token: Authorization: Bearer <token>',
  },
  tokenMalformed: {
    zh: 'Authorization 请求头应为 "Bearer <令牌>"',
    en: 'the Authorization header must be "Bearer <token>"',
  },
  tokenExpired: { zh: '访问令牌已过期，请重新登录', en: 'the bearer token has expired' },
  /** `why`: the verifier's own account (English, for the engineer who set the keys up). */
  tokenInvalid: (why: string): Localized => ({ zh: `访问令牌无效：${why}`, en: why }),
  authUnavailable: {
    zh: '暂时无法核验访问令牌，请稍后重试',
    en: 'tokens cannot be checked at the moment; try again shortly',
  },
  roleForbidden: (role: Role, allowed: readonly Role[]): Localized => ({
    zh: `${ROLE_ZH[role]}无权执行此操作：需要${allowed.map((r) => ROLE_ZH[r]).join('或')}角色`,
    en: `${role === 'applicant' ? 'an' : 'a'} ${role} may not do this; it needs the role ${allowed.join(' or ')}`,
  }),
  revealInvalid: {
    zh: 'reveal=true 需同时给出 reason=<理由，5 至 500 个字符>，每项只给一次',
    en: 'reveal=true needs reason=<why, 5 to 500 characters>, each given once',
  },
  revealForbidden: { zh: '只有运营人员可以查看未遮蔽的个人信息', en: 'only operators may reveal personal data' },
  revealReasonRequired: {
    zh: 'reveal=true 需同时给出 reason=<理由，5 至 500 个字符>',
    en: 'reveal=true needs reason=<why, 5 to 500 characters>',
  },
  tooManyRequests: (seconds: number): Localized => ({
    zh: `请求过于频繁，请在 ${seconds} 秒后重试`,
    en: `too many requests; try again in ${seconds} seconds`,
  }),
  tooManySubmissions: (seconds: number): Localized => ({
    zh: `提交过于频繁，请在 ${seconds} 秒后重试`,
    en: `too many submissions; try again in ${seconds} seconds`,
  }),

  applicantListOff: {
    zh: '本部署未启用开办的搜索属性（TEMPORAL_SEARCH_ATTRIBUTES=false），无法列出申请人的申请：请按提交时答复的申请号查看每份申请',
    en: "an applicant's applications are found by Kaiban's search attributes, which this deployment does not use (TEMPORAL_SEARCH_ATTRIBUTES=false): each application is read at the id its submission answered",
  },
  statsOff: {
    zh: '本部署未启用开办的搜索属性（TEMPORAL_SEARCH_ATTRIBUTES=false），看板的统计无从计算：请在命名空间中注册这些属性（infra/search-attributes.ts）并将其设为 true',
    en: "the dashboard's figures are counted from Kaiban's search attributes, which this deployment does not use (TEMPORAL_SEARCH_ATTRIBUTES=false): register them in the namespace (infra/search-attributes.ts) and set it to true",
  },
  temporalUnavailable: {
    zh: '暂时无法连接流程服务，请稍后重试（以同一 Idempotency-Key 重复提交，至多开办一份申请）',
    en: 'the workflow service cannot be reached; try again shortly (a submission repeated with the same Idempotency-Key starts at most one application)',
  },
  applicationStalled: {
    zh: '该申请的办理因开办系统自身的故障暂停（并非申请人或办理部门的原因）：已办结的事项均未撤销，故障排除后自动继续；请稍后再试',
    en: 'this application is held up by a fault in Kaiban itself (nothing the applicant or an agency did): nothing done has been undone, and it goes on by itself once the fault is mended; try again later',
  },
  internal: {
    zh: '系统内部错误；反馈时请提供请求编号（requestId）',
    en: 'internal error; quote the request id when reporting it',
  },
} satisfies Record<string, Localized | ((...args: never[]) => Localized)>;
