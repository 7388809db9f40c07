/** A few DOM helpers: elements from data, never from HTML strings (no injection, CSP-friendly). */
export type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

function append(parent: Node, child: Child): void {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) {
    for (const c of child) append(parent, c);
    return;
  }
  parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
}

function applyAttrs(el: Element, attrs: Attrs | undefined): void {
  if (!attrs) return;
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(key.replace(/^on/, ''), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
}

/** An HTML element: h('a', { href: '#/x', class: 'link' }, 'text', child). Keys starting with "on" add listeners. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  applyAttrs(el, attrs ?? undefined);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An SVG element with presentation attributes (CSP allows them; inline style would need 'unsafe-inline'). */
export function s(tag: string, attrs?: Attrs | null, ...children: Child[]): SVGElement {
  const el = document.createElementNS(SVG_NS, tag) as SVGElement;
  applyAttrs(el, attrs ?? undefined);
  append(el, children);
  return el;
}

export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.textContent = '';
  append(parent, children);
}

/** An element's name across a rebuild: its data-focus-key, id, a radio's name and value, a disclosure's summary. */
function keyOf(el: Element): string | undefined {
  if (el instanceof HTMLElement && el.dataset.focusKey) return `key:${el.dataset.focusKey}`;
  if (el.id) return `id:${el.id}`;
  if (el instanceof HTMLInputElement && el.type === 'radio' && el.name) return `radio:${el.name}=${el.value}`;
  if (el instanceof HTMLDetailsElement) return `details:${el.querySelector('summary')?.textContent ?? ''}`;
  return undefined;
}

/** `parent`'s nameable elements by key; a key met again (several "data table" disclosures) is numbered in order. */
function keyed(parent: Element): Map<string, Element> {
  const found = new Map<string, Element>();
  const seen = new Map<string, number>();
  for (const el of parent.querySelectorAll('[data-focus-key], [id], input[type="radio"][name], details')) {
    const key = keyOf(el);
    if (key === undefined) continue;
    const n = seen.get(key) ?? 0;
    seen.set(key, n + 1);
    found.set(n === 0 ? key : `${key}#${n}`, el);
  }
  return found;
}

type Entered = { value: string } | { checked: boolean } | { open: boolean };

const isTextField = (el: Element): el is HTMLInputElement | HTMLTextAreaElement =>
  el instanceof HTMLTextAreaElement ||
  (el instanceof HTMLInputElement && !['radio', 'checkbox', 'hidden', 'submit', 'button'].includes(el.type));

/**
 * Replaces `parent`'s content as a refresh does, giving back what the user had there: keyboard focus, text typed into a
 * field, a choice made, a disclosure opened — on the element of the same key if it comes back. A form rebuilt while an
 * operator writes its reason keeps the reason.
 */
export function replaceKeepingFocus(parent: Element, ...children: Child[]): void {
  const active = document.activeElement;
  let focused: string | undefined;
  const entered = new Map<string, Entered>();
  for (const [key, el] of keyed(parent)) {
    if (el === active) focused = key;
    if (isTextField(el)) entered.set(key, { value: el.value });
    else if (el instanceof HTMLInputElement && (el.type === 'radio' || el.type === 'checkbox'))
      entered.set(key, { checked: el.checked });
    else if (el instanceof HTMLDetailsElement) entered.set(key, { open: el.open });
  }
  replaceChildren(parent, ...children);
  if (entered.size === 0 && focused === undefined) return;
  const now = keyed(parent);
  for (const [key, was] of entered) {
    const el = now.get(key);
    if (!el) continue;
    if ('value' in was && isTextField(el) && el.value === '' && was.value !== '') el.value = was.value;
    if ('checked' in was && el instanceof HTMLInputElement && el.checked !== was.checked) {
      el.checked = was.checked;
      el.dispatchEvent(new Event('change', { bubbles: true })); // what depends on the choice (a form's fields) follows
    }
    if ('open' in was && el instanceof HTMLDetailsElement) el.open = was.open;
  }
  if (focused !== undefined) (now.get(focused) as HTMLElement | undefined)?.focus({ preventScroll: true });
}
