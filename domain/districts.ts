/**
 * County-level divisions of Nanchang (GB/T 2260), the districts whose market regulators accept
 * registrations. 湾里区 (360105) was merged into 新建区 in 2019 and is no longer accepted.
 */
export const NANCHANG_DISTRICTS = {
  '360102': { zh: '东湖区', en: 'Donghu District' },
  '360103': { zh: '西湖区', en: 'Xihu District' },
  '360104': { zh: '青云谱区', en: 'Qingyunpu District' },
  '360111': { zh: '青山湖区', en: 'Qingshanhu District' },
  '360112': { zh: '新建区', en: 'Xinjian District' },
  '360113': { zh: '红谷滩区', en: 'Honggutan District' },
  '360121': { zh: '南昌县', en: 'Nanchang County' },
  '360123': { zh: '安义县', en: 'Anyi County' },
  '360124': { zh: '进贤县', en: 'Jinxian County' },
} as const;

export type DistrictCode = keyof typeof NANCHANG_DISTRICTS;

export function isNanchangDistrict(code: string): code is DistrictCode {
  return Object.prototype.hasOwnProperty.call(NANCHANG_DISTRICTS, code);
}
