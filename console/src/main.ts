/** The console's shell: header, hash routing, language, session. */
import { whenUnauthorized } from './api';
import { dashboardPage } from './dashboard';
import { detailPage } from './detail';
import { h, replaceChildren } from './dom';
import { lang, setLang, t, tk } from './i18n';
import { listPage } from './list';
import { navigate, type Page } from './page';
import { currentSession, loadConfig, signOut, type Session } from './session';
import { signInPage } from './signin';

let current: Page | undefined;
let notice: string | undefined;
let firstRoute = true;

function header(session: Session | undefined, hash: string): HTMLElement {
  const link = (href: string, label: string) =>
    h('a', { href, class: 'nav-link', 'aria-current': hash.startsWith(href) ? 'page' : null }, label);
  return h(
    'div',
    { class: 'bar' },
    h(
      'a',
      { href: '#/applications', class: 'brand' },
      h('span', { class: 'seal', 'aria-hidden': 'true' }, '开'),
      t('appName'),
    ),
    session
      ? h(
          'nav',
          { 'aria-label': t('appName') },
          link('#/applications', t('navList')),
          link('#/dashboard', t('navDashboard')),
        )
      : h('span', { class: 'grow' }),
    h(
      'div',
      { class: 'tools' },
      h(
        'button',
        {
          type: 'button',
          class: 'link-button',
          lang: lang() === 'zh' ? 'en' : 'zh-CN',
          'data-testid': 'lang',
          onclick: () => {
            setLang(lang() === 'zh' ? 'en' : 'zh');
            route();
          },
        },
        t('switchLang'),
      ),
      session
        ? [
            h(
              'span',
              { class: 'who', 'data-testid': 'who', 'data-role': session.role },
              t('signedInAs', { who: `${tk('role', session.role)} ${session.subject}` }),
            ),
            h(
              'button',
              {
                type: 'button',
                class: 'link-button',
                'data-testid': 'sign-out',
                onclick: () => {
                  signOut();
                  navigate('#/signin');
                },
              },
              t('signOut'),
            ),
          ]
        : null,
    ),
  );
}

function route(): void {
  current?.stop();
  const session = currentSession();
  const hash = location.hash || '#/applications';
  let page: Page;
  if (!session || hash === '#/signin') {
    page = signInPage((signedIn) => {
      notice = undefined;
      navigate(signedIn.role === 'supervisor' ? '#/dashboard' : '#/applications');
    }, notice);
  } else if (hash.startsWith('#/applications/')) {
    page = detailPage(decodeURIComponent(hash.slice('#/applications/'.length).split('?')[0] ?? ''), session.role);
  } else if (hash.startsWith('#/dashboard')) {
    page = dashboardPage();
  } else {
    page = listPage(hash.split('?')[1] ?? '', session.role);
  }
  current = page;
  document.documentElement.lang = lang() === 'zh' ? 'zh-CN' : 'en';
  replaceChildren(document.getElementById('top')!, header(session && hash !== '#/signin' ? session : undefined, hash));
  const main = document.getElementById('main')!;
  replaceChildren(main, page.el);
  document.title = `${page.title} · ${t('appName')}`;
  replaceChildren(document.getElementById('skip')!, t('skipLink'));
  // After a navigation, screen readers and keyboards start at the new page's heading.
  if (!firstRoute) main.querySelector<HTMLElement>('h1')?.focus();
  firstRoute = false;
}

whenUnauthorized(() => {
  signOut();
  notice = t('sessionExpired');
  navigate('#/signin');
});

// The skip link must not change the hash (the hash is the route): it moves focus instead.
document.getElementById('skip')?.addEventListener('click', (e) => {
  e.preventDefault();
  document.getElementById('main')?.focus();
});

void loadConfig().then(() => {
  window.addEventListener('hashchange', route);
  route();
});
