/**
 * Automatic approval (智能秒办): the rules that decide whether the license step needs a person.
 * An application that passes every rule is approved with no human; otherwise each finding says
 * which rule fired, on which field, and why, in words an operator and an applicant can read.
 */
import type { Application } from './application';
import { NANCHANG_DISTRICTS, type DistrictCode } from './districts';

export interface Finding {
  code: string;
  path: string;
  reason: { zh: string; en: string };
}

export interface Assessment {
  decision: 'auto_approve' | 'manual_review';
  findings: Finding[];
}

/** Words that need a registrar's look: they suggest a regulated trade or an official status. */
const SENSITIVE_NAME_WORDS_2026_11 = [
  '中国',
  '国际',
  '集团',
  '银行',
  '证券',
  '保险',
  '金融',
  '投资',
  '基金',
  '期货',
  '支付',
  '控股',
];

/** Standard business-scope wording (经营范围规范表述目录), general items that need no prior permit. */
const STANDARD_SCOPE_ITEMS_2026_11 = [
  '软件开发',
  '信息技术咨询服务',
  '数据处理和存储支持服务',
  '信息系统集成服务',
  '计算机系统服务',
  '网络技术服务',
  '人工智能应用软件开发',
  '互联网数据服务',
  '技术服务、技术开发、技术咨询、技术交流、技术转让、技术推广',
  '企业管理咨询',
  '市场营销策划',
  '广告设计、代理',
  '会议及展览服务',
  '日用百货销售',
  '办公用品销售',
  '电子产品销售',
  '计算机软硬件及辅助设备零售',
  '货物进出口',
  '技术进出口',
  '普通货物仓储服务（不含危险化学品等需许可审批的项目）',
  '家政服务',
  '平面设计',
  '专业设计服务',
  '翻译服务',
];

/** The standard address list: roads known to the address registry, by district (excerpt). */
const STANDARD_ROADS_2026_11: Record<DistrictCode, readonly string[]> = {
  '360102': ['八一大道', '阳明路', '北京西路', '胜利路', '中山路', '八一广场'],
  '360103': ['象山南路', '孺子路', '站前路', '抚河北路', '南浦路'],
  '360104': ['井冈山大道', '洪都中大道', '迎宾北大道', '解放西路'],
  '360111': ['北京东路', '上海路', '南京东路', '昌东大道', '高新大道', '艾溪湖一路'],
  '360112': ['长堎大道', '新建大道', '子实路', '望城大道'],
  '360113': ['丰和中大道', '红谷中大道', '会展路', '赣江中大道', '世贸路', '凤凰中大道', '绿茵路', '卧龙路'],
  '360121': ['澄湖东路', '莲武路', '向阳路', '小蓝中大道'],
  '360123': ['龙津大道', '文峰路', '凤凰大道'],
  '360124': ['中山路', '民和大道', '晨光路'],
};

/** The reference data the rules read: catalogues that change as the registry's lists do. */
export interface ReviewRules {
  sensitiveNameWords: readonly string[];
  standardScopeItems: readonly string[];
  standardRoads: Record<DistrictCode, readonly string[]>;
  capitalRangeCny: { min: number; max: number };
}

/**
 * Every edition of the rules' reference data ever in force, by id. **Append a new edition; never change one**: a
 * workflow reads the edition id from its acceptance (an activity result, in its history) and replays with that
 * edition's data, so an application sent to review under one list replays the same way after the list changes.
 * test/review-rules.test.ts pins each edition's digest. Histories accepted before editions existed use the first.
 */
export const REVIEW_RULE_EDITIONS = {
  '2026-11': {
    sensitiveNameWords: SENSITIVE_NAME_WORDS_2026_11,
    standardScopeItems: STANDARD_SCOPE_ITEMS_2026_11,
    standardRoads: STANDARD_ROADS_2026_11,
    capitalRangeCny: { min: 10_000, max: 100_000_000 },
  },
} as const satisfies Record<string, ReviewRules>;

export type ReviewRulesEdition = keyof typeof REVIEW_RULE_EDITIONS;
/** The edition new applications are accepted under (WorkflowSettings.reviewRules, from the worker's config). */
export const CURRENT_REVIEW_RULES: ReviewRulesEdition = '2026-11';
/** The edition of histories accepted before editions existed. */
export const FIRST_REVIEW_RULES: ReviewRulesEdition = '2026-11';

export function reviewRulesEdition(id: string | undefined): ReviewRules {
  const rules = (REVIEW_RULE_EDITIONS as Record<string, ReviewRules>)[id ?? FIRST_REVIEW_RULES];
  // Only a worker older than the one that accepted the application can meet an unknown edition: retry on a newer one.
  if (!rules)
    throw new Error(`review rules edition "${id}" is not in this build; run the same version on every worker`);
  return rules;
}

const ADULT_AGE = 18;

/** The entity types that are companies (公司), with a supervisor unless their shareholders agreed to none. */
const COMPANY_TYPES: ReadonlySet<string> = new Set([
  'limited_liability_company',
  'one_person_limited_liability_company',
]);

function finding(code: string, path: string, zh: string, en: string): Finding {
  return { code, path, reason: { zh, en } };
}

/** Age in whole years on `onDate` (YYYY-MM-DD) from a GB 11643 ID number's birth date. */
function ageOn(idNumber: string, onDate: string): number {
  const birth = idNumber.slice(6, 14);
  const [y, m, d] = [Number(onDate.slice(0, 4)), onDate.slice(5, 7), onDate.slice(8, 10)];
  const years = y - Number(birth.slice(0, 4));
  return `${m}${d}` < birth.slice(4) ? years - 1 : years;
}

/**
 * Assesses an application. `today` (YYYY-MM-DD, Asia/Shanghai) is passed in so the rules stay pure.
 */
export function assessApplication(
  app: Application,
  today: string,
  rules: ReviewRules = REVIEW_RULE_EDITIONS[CURRENT_REVIEW_RULES],
): Assessment {
  const findings: Finding[] = [];
  const { sensitiveNameWords, standardScopeItems, standardRoads, capitalRangeCny } = rules;
  const { company, people, services } = app;

  for (const word of sensitiveNameWords) {
    if (company.name.includes(word)) {
      findings.push(
        finding(
          'NAME_SENSITIVE_WORD',
          'company.name',
          `企业名称含需人工审核的字词「${word}」`,
          `the company name contains '${word}', which needs a registrar's review`,
        ),
      );
    }
  }

  company.businessScope.forEach((item, i) => {
    if (!standardScopeItems.includes(item)) {
      findings.push(
        finding(
          'SCOPE_NON_STANDARD',
          `company.businessScope[${i}]`,
          `经营范围「${item}」不在规范表述目录中`,
          `business scope item '${item}' is not in the standard wording list`,
        ),
      );
    }
  });

  const districtName = NANCHANG_DISTRICTS[company.district as DistrictCode]?.zh ?? '';
  const address = company.address.startsWith(districtName)
    ? company.address.slice(districtName.length)
    : company.address;
  const roads = standardRoads[company.district as DistrictCode] ?? [];
  if (!roads.some((road) => new RegExp(`^${road}\\d+号`).test(address))) {
    findings.push(
      finding(
        'ADDRESS_NON_STANDARD',
        'company.address',
        '住所不在标准地址库中（应为本区道路名加门牌号）',
        'the address is not in the standard address list (a road of the district and a number)',
      ),
    );
  }

  if (company.registeredCapitalCny < capitalRangeCny.min || company.registeredCapitalCny > capitalRangeCny.max) {
    findings.push(
      finding(
        'CAPITAL_OUT_OF_RANGE',
        'company.registeredCapitalCny',
        `注册资本超出自动审批范围（${capitalRangeCny.min}–${capitalRangeCny.max} 元）`,
        `registered capital outside the automatic range (${capitalRangeCny.min}–${capitalRangeCny.max} yuan)`,
      ),
    );
  }

  // One ID number, one name, across every role.
  const namesById = new Map<string, Set<string>>();
  const persons = [
    app.applicant,
    people.legalRepresentative,
    ...(people.supervisor ? [people.supervisor] : []),
    people.financeOfficer,
    ...people.shareholders,
  ];
  for (const p of persons) namesById.set(p.idNumber, (namesById.get(p.idNumber) ?? new Set()).add(p.name));
  for (const names of namesById.values()) {
    if (names.size > 1) {
      findings.push(
        finding(
          'PEOPLE_INCONSISTENT',
          'people',
          `同一身份证号对应不同姓名：${[...names].join('、')}`,
          `one ID number is given with different names: ${[...names].join(', ')}`,
        ),
      );
    }
  }
  // A company without a supervisor: lawful only if every shareholder agreed (Company Law 2023 art. 83), which a
  // reviewer checks; a sole proprietorship or a partnership has none.
  if (!people.supervisor && COMPANY_TYPES.has(company.entityType)) {
    findings.push(
      finding(
        'SUPERVISOR_ABSENT',
        'people.supervisor',
        '公司未设监事：须经全体股东一致同意（《公司法》第八十三条），请核对股东决定',
        'a company without a supervisor: every shareholder must have agreed (Company Law art. 83); check their decision',
      ),
    );
  }
  // Company Law art. 76/51: a director or senior manager may not be the supervisor.
  if (
    people.supervisor &&
    [people.legalRepresentative.idNumber, people.financeOfficer.idNumber].includes(people.supervisor.idNumber)
  ) {
    findings.push(
      finding(
        'SUPERVISOR_CONFLICT',
        'people.supervisor',
        '监事不得由法定代表人或财务负责人兼任',
        'the supervisor may not also be the legal representative or the finance officer',
      ),
    );
  }
  for (const [path, person] of [
    ['people.legalRepresentative', people.legalRepresentative],
    ['people.supervisor', people.supervisor],
    ['people.financeOfficer', people.financeOfficer],
  ] as const) {
    if (person && ageOn(person.idNumber, today) < ADULT_AGE) {
      findings.push(finding('PERSON_MINOR', path, '担任职务的人员未满18周岁', 'a person in this role is under 18'));
    }
  }

  if (services.socialSecurity.insuredEmployees > company.employees) {
    findings.push(
      finding(
        'EMPLOYEES_INCONSISTENT',
        'services.socialSecurity.insuredEmployees',
        '参保人数多于从业人数',
        'more insured employees than employees',
      ),
    );
  }

  return { decision: findings.length === 0 ? 'auto_approve' : 'manual_review', findings };
}
