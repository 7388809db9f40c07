/**
 * Charts as inline SVG, drawn by hand: horizontal bars, a line, a consumption gauge and the step
 * timeline. Colours come from CSS classes; every chart has a text alternative and a data table.
 */
import { h, s } from './dom';
import { formatTime, t } from './i18n';

export interface Datum {
  label: string;
  value: number;
  /** CSS class of the bar (e.g. sla-on_track). */
  cls?: string;
}

let chartSeq = 0;

/** Rough width of 12 px text: CJK characters are square, Latin ones about half as wide. */
function textWidth(text: string): number {
  let w = 0;
  for (const c of text) w += /[\u2e80-\uffff]/.test(c) ? 12 : 6.8;
  return w;
}

/** The label cut to `max` px with an ellipsis (the whole label is in its <title> and the data table). */
function fit(text: string, max: number): string {
  if (textWidth(text) <= max) return text;
  let out = '';
  for (const c of text) {
    if (textWidth(`${out}${c}…`) > max) break;
    out += c;
  }
  return `${out}…`;
}

function dataTable(data: readonly Datum[], valueLabel: string, format: (v: number) => string): HTMLElement {
  return h(
    'details',
    { class: 'data' },
    h('summary', null, t('dataTable')),
    h(
      'table',
      null,
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, ''), h('th', { scope: 'col' }, valueLabel))),
      h(
        'tbody',
        null,
        data.map((d) => h('tr', null, h('th', { scope: 'row' }, d.label), h('td', null, format(d.value)))),
      ),
    ),
  );
}

/** Horizontal bars with the value at the end of each bar. */
export function barChart(title: string, data: readonly Datum[], format: (v: number) => string = String): HTMLElement {
  const id = `chart-${++chartSeq}`;
  const maxLabel = 176;
  const labelW = Math.min(maxLabel, Math.max(60, ...data.map((d) => textWidth(d.label)))) + 14;
  const width = 480;
  const rowH = 26;
  const height = data.length * rowH + 8;
  const max = Math.max(1, ...data.map((d) => d.value));
  const plotW = width - labelW - 44;
  const summary = t('chartSummary', { title, items: data.map((d) => `${d.label} ${format(d.value)}`).join('，') });
  const svg = s(
    'svg',
    { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': `${id}-t`, class: 'chart bars' },
    s('title', { id: `${id}-t` }, summary),
    data.map((d, i) => {
      const y = 4 + i * rowH;
      const w = d.value > 0 ? Math.max(2, (d.value / max) * plotW) : 0;
      return s(
        'g',
        null,
        s(
          'text',
          { x: labelW - 8, y: y + rowH / 2 + 4, 'text-anchor': 'end', class: 'label' },
          s('title', null, d.label),
          fit(d.label, maxLabel),
        ),
        s('rect', { x: labelW, y: y + 4, width: plotW, height: rowH - 8, class: 'track', rx: 3 }),
        s('rect', { x: labelW, y: y + 4, width: w, height: rowH - 8, class: `bar ${d.cls ?? ''}`, rx: 3 }),
        s('text', { x: labelW + w + 6, y: y + rowH / 2 + 4, class: 'value' }, format(d.value)),
      );
    }),
  );
  return h(
    'figure',
    { class: 'chart-card', 'data-chart': title },
    h('figcaption', null, title),
    svg,
    dataTable(data, t('count'), format),
  );
}

/** A line over a few points (e.g. completions per day). */
export function lineChart(title: string, data: readonly Datum[]): HTMLElement {
  const id = `chart-${++chartSeq}`;
  const width = 440;
  const height = 170;
  const pad = { l: 34, r: 26, t: 12, b: 28 };
  const max = Math.max(1, ...data.map((d) => d.value));
  const step = data.length > 1 ? (width - pad.l - pad.r) / (data.length - 1) : 0;
  const x = (i: number) => pad.l + i * step;
  const y = (v: number) => pad.t + (1 - v / max) * (height - pad.t - pad.b);
  const ticks = [0, Math.round(max / 2), max].filter((v, i, a) => a.indexOf(v) === i);
  const summary = t('chartSummary', { title, items: data.map((d) => `${d.label} ${d.value}`).join('，') });
  const svg = s(
    'svg',
    { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': `${id}-t`, class: 'chart line' },
    s('title', { id: `${id}-t` }, summary),
    ticks.map((v) =>
      s(
        'g',
        null,
        s('line', { x1: pad.l, x2: width - pad.r, y1: y(v), y2: y(v), class: 'grid' }),
        s('text', { x: pad.l - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, v),
      ),
    ),
    s('polyline', { points: data.map((d, i) => `${x(i)},${y(d.value)}`).join(' '), class: 'series' }),
    data.map((d, i) =>
      s(
        'g',
        null,
        s('circle', { cx: x(i), cy: y(d.value), r: 4, class: 'dot' }, s('title', null, `${d.label}: ${d.value}`)),
        s('text', { x: x(i), y: height - 8, 'text-anchor': 'middle', class: 'axis' }, d.label),
      ),
    ),
  );
  return h(
    'figure',
    { class: 'chart-card', 'data-chart': title },
    h('figcaption', null, title),
    svg,
    dataTable(data, t('count'), String),
  );
}

/**
 * How much of a budget is used: the bar fills to `consumed` (the scale runs to 150 %), with marks at
 * the warning (75 %) and breach (100 %) thresholds.
 */
export function gauge(
  consumed: number | undefined,
  level: string | undefined,
  options: { width?: number; height?: number; label: string },
): SVGElement {
  const width = options.width ?? 160;
  const height = options.height ?? 14;
  const scale = 1.5;
  const fraction = Math.max(0, Math.min(consumed ?? 0, scale)) / scale;
  const mark = (f: number, cls: string) =>
    s('line', { x1: (f / scale) * width, x2: (f / scale) * width, y1: 0, y2: height, class: cls });
  return s(
    'svg',
    { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': options.label, class: 'gauge' },
    s('rect', { x: 0, y: 0, width, height, rx: 3, class: 'track' }),
    consumed === undefined
      ? null
      : s('rect', { x: 0, y: 0, width: fraction * width, height, rx: 3, class: `bar sla-${level ?? 'none'}` }),
    mark(0.75, 'mark warn'),
    mark(1, 'mark breach'),
  );
}

export interface TimelineRow {
  id: string;
  label: string;
  state: string;
  needs: readonly string[];
  start?: number;
  end?: number;
  /** Still running: the bar ends at "now". */
  open: boolean;
  due?: number;
  title: string;
}

/** The step graph on a wall-clock axis: a bar per step, dependency links, due marks and "now". */
export function timeline(
  rows: readonly TimelineRow[],
  from: number,
  until: number,
  applicationDue: number | undefined,
  desc: string,
): SVGElement {
  const id = `chart-${++chartSeq}`;
  const labelW = 190;
  const width = 900;
  const rowH = 30;
  const top = 26;
  const height = top + rows.length * rowH + 6;
  const plotW = width - labelW - 70;
  const span = Math.max(until - from, 1000);
  const x = (ms: number) => labelW + ((Math.min(Math.max(ms, from), until) - from) / span) * plotW;
  const rowY = new Map(rows.map((r, i) => [r.id, top + i * rowH]));
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => from + f * span);

  // Only the direct prerequisites that no other prerequisite already implies (archive needs
  // everything, but drawing seven links to it would hide the graph's shape).
  const needsOf = new Map(rows.map((r) => [r.id, r.needs]));
  const implies = (from: string, target: string): boolean =>
    (needsOf.get(from) ?? []).some((n) => n === target || implies(n, target));
  const links = rows.flatMap((r) =>
    r.start === undefined
      ? []
      : r.needs
          .filter((need) => !r.needs.some((other) => other !== need && implies(other, need)))
          .flatMap((need) => {
            const parent = rows.find((p) => p.id === need);
            const py = rowY.get(need);
            const cy = rowY.get(r.id);
            if (!parent || parent.end === undefined || py === undefined || cy === undefined) return [];
            const x1 = x(parent.end);
            const x2 = Math.max(x(r.start!), x1 + 4);
            return [s('path', { d: `M${x1},${py + rowH / 2} h4 V${cy + rowH / 2} H${x2}`, class: 'link' })];
          }),
  );

  return s(
    'svg',
    { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': `${id}-t`, class: 'chart timeline' },
    s('title', { id: `${id}-t` }, desc),
    ticks.map((tick) =>
      s(
        'g',
        null,
        s('line', { x1: x(tick), x2: x(tick), y1: top - 4, y2: height, class: 'grid' }),
        s('text', { x: x(tick), y: 14, 'text-anchor': 'middle', class: 'axis' }, formatTime(tick, { date: false })),
      ),
    ),
    rows.map((r, i) => {
      const y = top + i * rowH;
      const bar =
        r.start === undefined
          ? null
          : s(
              'rect',
              {
                x: x(r.start),
                y: y + 7,
                width: Math.max(3, x(r.end ?? until) - x(r.start)),
                height: rowH - 14,
                rx: 3,
                class: `seg state-${r.state}${r.open ? ' open' : ''}`,
              },
              s('title', null, r.title),
            );
      let dueMark: SVGElement | null = null;
      if (r.due !== undefined) {
        const inside = r.due <= until;
        const dx = inside ? x(r.due) : labelW + plotW + 8;
        dueMark = s(
          'g',
          { class: `due${inside ? '' : ' beyond'}` },
          inside
            ? s('line', { x1: dx, x2: dx, y1: y + 3, y2: y + rowH - 3 })
            : s('path', { d: `M${dx},${y + 9} l8,6 l-8,6 z` }),
          s('title', null, t('dueMarker', { time: formatTime(r.due) })),
        );
      }
      return s(
        'g',
        { class: 'row', 'data-step': r.id, 'data-state': r.state },
        s('rect', { x: 0, y, width, height: rowH, class: i % 2 ? 'stripe odd' : 'stripe' }),
        s('text', { x: 8, y: y + rowH / 2 + 4, class: 'label' }, r.label),
        bar,
        dueMark,
      );
    }),
    links,
    applicationDue !== undefined && applicationDue <= until
      ? s(
          'line',
          { x1: x(applicationDue), x2: x(applicationDue), y1: top - 4, y2: height, class: 'app-due' },
          s('title', null, t('dueMarker', { time: formatTime(applicationDue) })),
        )
      : null,
  );
}
