/** What the router needs from a page. */
export interface Page {
  /** The page's content, put into <main>. */
  el: HTMLElement;
  /** For document.title and the heading that gets focus after navigation. */
  title: string;
  /** Stops polling and timers when the operator leaves the page. */
  stop(): void;
}

export function navigate(hash: string): void {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = hash;
}
