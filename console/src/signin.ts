/** The sign-in page: paste a bearer token, or (embedded default only) one click per role. */
import { h, replaceChildren } from './dom';
import { t, tk } from './i18n';
import type { Page } from './page';
import { consoleConfig, devToken, signIn, type Session } from './session';

export function signInPage(onSignedIn: (session: Session) => void, notice?: string): Page {
  const message = h(
    'div',
    { id: 'signin-message', class: 'signin-message', role: 'status', 'aria-live': 'polite' },
    notice ? h('p', { class: 'error' }, notice) : null,
  );
  const token = h('textarea', {
    id: 'token',
    name: 'token',
    rows: 4,
    autocomplete: 'off',
    spellcheck: 'false',
    'aria-describedby': 'token-help',
    'data-testid': 'token',
  }) as HTMLTextAreaElement;

  const show = (text: string, error: boolean) =>
    replaceChildren(message, h('p', { class: error ? 'error' : 'info' }, text));

  const attempt = async (value: string) => {
    if (!value.trim()) return show(t('tokenEmpty'), true);
    show(t('signingIn'), false);
    const result = await signIn(value.trim());
    if (result.ok) return onSignedIn(result.session);
    if (result.reason === 'role') return show(t('roleRefused', { role: tk('role', result.role) }), true);
    if (result.reason === 'rejected') return show(t('tokenRejected', { message: result.message }), true);
    return show(t('unreachable', { message: result.message }), true);
  };

  const form = h(
    'form',
    {
      class: 'card signin',
      'aria-labelledby': 'signin-title',
      onsubmit: (e: Event) => {
        e.preventDefault();
        void attempt(token.value);
      },
    },
    h('h1', { id: 'signin-title', tabindex: '-1' }, t('signInTitle')),
    h('p', null, t('signInIntro')),
    h('label', { for: 'token' }, t('tokenLabel')),
    token,
    h('p', { id: 'token-help', class: 'help' }, t('tokenHelp')),
    h('button', { type: 'submit', class: 'primary', 'data-testid': 'sign-in' }, t('signIn')),
  );

  const config = consoleConfig();
  const dev = config.devSignIn
    ? h(
        'section',
        { class: 'card dev-signin', 'aria-labelledby': 'dev-title' },
        h('h2', { id: 'dev-title' }, t('devSignIn')),
        h(
          'div',
          { class: 'buttons' },
          config.roles.map((role) =>
            h(
              'button',
              {
                type: 'button',
                class: 'secondary',
                'data-testid': `dev-${role}`,
                onclick: async () => {
                  show(t('signingIn'), false);
                  const minted = await devToken(role);
                  if (minted) await attempt(minted);
                  else show(t('unreachable', { message: 'dev-token' }), true);
                },
              },
              t('devSignInAs', { role: tk('role', role) }),
            ),
          ),
        ),
      )
    : null;

  return { el: h('div', { class: 'signin-page' }, form, dev, message), title: t('signInTitle'), stop: () => undefined };
}
