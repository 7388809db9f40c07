/**
 * Official holiday schedules of the State Council General Office (国务院办公厅关于YYYY年部分节假日安排的通知),
 * copied by hand from each notice. One entry per year; see README.md for how a new year gets in.
 * Never add a year before its notice is published: a missing year is an error, a guessed one is a wrong deadline.
 */
import type { ScheduleData } from './schedule-data';

export const OFFICIAL_SCHEDULES: ScheduleData = {
  years: [
    {
      year: 2021,
      notice: {
        number: '国办发明电〔2020〕27号',
        title: '国务院办公厅关于2021年部分节假日安排的通知',
        publishedOn: '2020-11-25',
        url: 'http://www.gov.cn/zhengce/content/2020-11/25/content_5564127.htm',
      },
      holidays: [
        { name: '元旦', from: '2021-01-01', to: '2021-01-03' },
        { name: '春节', from: '2021-02-11', to: '2021-02-17' },
        { name: '清明节', from: '2021-04-03', to: '2021-04-05' },
        { name: '劳动节', from: '2021-05-01', to: '2021-05-05' },
        { name: '端午节', from: '2021-06-12', to: '2021-06-14' },
        { name: '中秋节', from: '2021-09-19', to: '2021-09-21' },
        { name: '国庆节', from: '2021-10-01', to: '2021-10-07' },
      ],
      makeUpWorkingDays: [
        { date: '2021-02-07', for: '春节' },
        { date: '2021-02-20', for: '春节' },
        { date: '2021-04-25', for: '劳动节' },
        { date: '2021-05-08', for: '劳动节' },
        { date: '2021-09-18', for: '中秋节' },
        { date: '2021-09-26', for: '国庆节' },
        { date: '2021-10-09', for: '国庆节' },
      ],
    },
    {
      year: 2022,
      notice: {
        number: '国办发明电〔2021〕11号',
        title: '国务院办公厅关于2022年部分节假日安排的通知',
        publishedOn: '2021-10-25',
        url: 'http://www.gov.cn/zhengce/content/2021-10/25/content_5644835.htm',
      },
      holidays: [
        { name: '元旦', from: '2022-01-01', to: '2022-01-03' },
        { name: '春节', from: '2022-01-31', to: '2022-02-06' },
        { name: '清明节', from: '2022-04-03', to: '2022-04-05' },
        { name: '劳动节', from: '2022-04-30', to: '2022-05-04' },
        { name: '端午节', from: '2022-06-03', to: '2022-06-05' },
        { name: '中秋节', from: '2022-09-10', to: '2022-09-12' },
        { name: '国庆节', from: '2022-10-01', to: '2022-10-07' },
      ],
      makeUpWorkingDays: [
        { date: '2022-01-29', for: '春节' },
        { date: '2022-01-30', for: '春节' },
        { date: '2022-04-02', for: '清明节' },
        { date: '2022-04-24', for: '劳动节' },
        { date: '2022-05-07', for: '劳动节' },
        { date: '2022-10-08', for: '国庆节' },
        { date: '2022-10-09', for: '国庆节' },
      ],
    },
    {
      year: 2023,
      notice: {
        number: '国办发明电〔2022〕16号',
        title: '国务院办公厅关于2023年部分节假日安排的通知',
        publishedOn: '2022-12-08',
        url: 'http://www.gov.cn/zhengce/content/2022-12/08/content_5730844.htm',
      },
      holidays: [
        { name: '元旦', from: '2022-12-31', to: '2023-01-02' },
        { name: '春节', from: '2023-01-21', to: '2023-01-27' },
        { name: '清明节', from: '2023-04-05', to: '2023-04-05' },
        { name: '劳动节', from: '2023-04-29', to: '2023-05-03' },
        { name: '端午节', from: '2023-06-22', to: '2023-06-24' },
        { name: '中秋节、国庆节', from: '2023-09-29', to: '2023-10-06' },
      ],
      makeUpWorkingDays: [
        { date: '2023-01-28', for: '春节' },
        { date: '2023-01-29', for: '春节' },
        { date: '2023-04-23', for: '劳动节' },
        { date: '2023-05-06', for: '劳动节' },
        { date: '2023-06-25', for: '端午节' },
        { date: '2023-10-07', for: '中秋节、国庆节' },
        { date: '2023-10-08', for: '中秋节、国庆节' },
      ],
    },
    {
      year: 2024,
      notice: {
        number: '国办发明电〔2023〕7号',
        title: '国务院办公厅关于2024年部分节假日安排的通知',
        publishedOn: '2023-10-25',
        url: 'https://www.gov.cn/zhengce/content/202310/content_6911527.htm',
      },
      holidays: [
        { name: '元旦', from: '2024-01-01', to: '2024-01-01' },
        { name: '春节', from: '2024-02-10', to: '2024-02-17' },
        { name: '清明节', from: '2024-04-04', to: '2024-04-06' },
        { name: '劳动节', from: '2024-05-01', to: '2024-05-05' },
        { name: '端午节', from: '2024-06-10', to: '2024-06-10' },
        { name: '中秋节', from: '2024-09-15', to: '2024-09-17' },
        { name: '国庆节', from: '2024-10-01', to: '2024-10-07' },
      ],
      makeUpWorkingDays: [
        { date: '2024-02-04', for: '春节' },
        { date: '2024-02-18', for: '春节' },
        { date: '2024-04-07', for: '清明节' },
        { date: '2024-04-28', for: '劳动节' },
        { date: '2024-05-11', for: '劳动节' },
        { date: '2024-09-14', for: '中秋节' },
        { date: '2024-09-29', for: '国庆节' },
        { date: '2024-10-12', for: '国庆节' },
      ],
    },
    {
      year: 2025,
      notice: {
        number: '国办发明电〔2024〕12号',
        title: '国务院办公厅关于2025年部分节假日安排的通知',
        publishedOn: '2024-11-12',
        url: 'https://www.gov.cn/zhengce/zhengceku/202411/content_6986383.htm',
      },
      holidays: [
        { name: '元旦', from: '2025-01-01', to: '2025-01-01' },
        { name: '春节', from: '2025-01-28', to: '2025-02-04' },
        { name: '清明节', from: '2025-04-04', to: '2025-04-06' },
        { name: '劳动节', from: '2025-05-01', to: '2025-05-05' },
        { name: '端午节', from: '2025-05-31', to: '2025-06-02' },
        { name: '国庆节、中秋节', from: '2025-10-01', to: '2025-10-08' },
      ],
      makeUpWorkingDays: [
        { date: '2025-01-26', for: '春节' },
        { date: '2025-02-08', for: '春节' },
        { date: '2025-04-27', for: '劳动节' },
        { date: '2025-09-28', for: '国庆节、中秋节' },
        { date: '2025-10-11', for: '国庆节、中秋节' },
      ],
    },
    {
      year: 2026,
      notice: {
        number: '国办发明电〔2025〕7号',
        title: '国务院办公厅关于2026年部分节假日安排的通知',
        publishedOn: '2025-11-04',
        url: 'https://www.gov.cn/zhengce/zhengceku/202511/content_7047091.htm',
      },
      holidays: [
        { name: '元旦', from: '2026-01-01', to: '2026-01-03' },
        { name: '春节', from: '2026-02-15', to: '2026-02-23' },
        { name: '清明节', from: '2026-04-04', to: '2026-04-06' },
        { name: '劳动节', from: '2026-05-01', to: '2026-05-05' },
        { name: '端午节', from: '2026-06-19', to: '2026-06-21' },
        { name: '中秋节', from: '2026-09-25', to: '2026-09-27' },
        { name: '国庆节', from: '2026-10-01', to: '2026-10-07' },
      ],
      makeUpWorkingDays: [
        { date: '2026-01-04', for: '元旦' },
        { date: '2026-02-14', for: '春节' },
        { date: '2026-02-28', for: '春节' },
        { date: '2026-05-09', for: '劳动节' },
        { date: '2026-09-20', for: '国庆节' },
        { date: '2026-10-10', for: '国庆节' },
      ],
    },
  ],
};
