/**
 * The console shell: sign-in with an API token, navigation, hash routes (#/cases/<case id>: ids only, never
 * PHI), and focus moved to each page's heading so keyboard and screen-reader users land on the new page.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, storedToken, storeToken } from './api.js';
import { timeZone } from './format.js';
import { CaseDetailPage } from './pages/case-detail.js';
import { CasesPage } from './pages/cases.js';
import { DashboardsPage } from './pages/dashboards.js';
import { ExceptionsPage } from './pages/exceptions.js';
import { ReviewPage } from './pages/review.js';
import { html } from './ui.js';

const reviewerRoles = ['reviewer', 'utilization_reviewer', 'medical_director', 'pharmacist', 'admin'];

function parseRoute(hash) {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  if (parts[0] === 'cases' && parts[1]) return { page: 'case', id: decodeURIComponent(parts[1]) };
  if (['cases', 'review', 'exceptions', 'dashboards'].includes(parts[0])) return { page: parts[0] };
  return { page: 'cases' };
}

function useRoute() {
  const [route, setRoute] = useState(parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

function SignIn({ onSignedIn, notice }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState(notice ?? null);
  const [busy, setBusy] = useState(false);
  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    storeToken(token.trim());
    try {
      onSignedIn(await api('/whoami'));
    } catch (e) {
      storeToken(null);
      setError(e instanceof ApiError ? e.message : 'Signing in failed.');
    } finally {
      setBusy(false);
    }
  }
  return html`<main id="main" class="sign-in">
    <h1>PA Gateway console</h1>
    <p>Sign in with an API token (from <code>pagw token create</code>, or the one <code>npm run demo</code> prints).
      It stays in this browser tab only.</p>
    <form onSubmit=${submit}>
      <label for="token">API token</label>
      <input id="token" class="grow" type="password" autocomplete="off" required value=${token}
        onInput=${(e) => setToken(e.currentTarget.value)} />
      <button type="submit" disabled=${busy}>${busy ? 'Signing in…' : 'Sign in'}</button>
    </form>
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </main>`;
}

function Nav({ route, me, onSignOut }) {
  const links = [
    ['cases', 'Cases'],
    ...(me.roles.some((r) => reviewerRoles.includes(r)) ? [['review', 'Review queue']] : []),
    ['exceptions', 'Exceptions'],
    ['dashboards', 'Dashboards'],
  ];
  const current = route.page === 'case' ? 'cases' : route.page;
  return html`<header class="top">
    <a class="skip" href="#main" onClick=${(e) => {
      e.preventDefault();
      document.getElementById('main')?.focus();
    }}>Skip to content</a>
    <span class="brand">PA Gateway</span>
    <nav aria-label="Console">
      <ul>
        ${links.map(
          ([page, text]) =>
            html`<li><a href=${`#/${page}`} aria-current=${current === page ? 'page' : undefined}>${text}</a></li>`,
        )}
      </ul>
    </nav>
    <span class="who">${me.label ?? 'token'} · ${me.tenant} · ${me.roles.join(', ')}</span>
    <button type="button" class="link" onClick=${onSignOut}>Sign out</button>
  </header>`;
}

function Page({ route, me, onAuthLost }) {
  switch (route.page) {
    case 'case':
      return html`<${CaseDetailPage} id=${route.id} me=${me} onAuthLost=${onAuthLost} />`;
    case 'review':
      return html`<${ReviewPage} me=${me} onAuthLost=${onAuthLost} />`;
    case 'exceptions':
      return html`<${ExceptionsPage} me=${me} onAuthLost=${onAuthLost} />`;
    case 'dashboards':
      return html`<${DashboardsPage} me=${me} onAuthLost=${onAuthLost} />`;
    default:
      return html`<${CasesPage} me=${me} onAuthLost=${onAuthLost} />`;
  }
}

function App() {
  const route = useRoute();
  const [me, setMe] = useState(null);
  const [checking, setChecking] = useState(Boolean(storedToken()));
  const [notice, setNotice] = useState(null);
  useEffect(() => {
    if (!storedToken()) return;
    api('/whoami')
      .then(setMe)
      .catch(() => storeToken(null))
      .finally(() => setChecking(false));
  }, []);
  useEffect(() => {
    // Move focus to the new page's heading (after it renders) so keyboard users start there.
    const t = setTimeout(() => document.querySelector('main h1')?.focus(), 0);
    return () => clearTimeout(t);
  }, [route.page, route.id, me]);
  const signOut = (message) => {
    storeToken(null);
    setMe(null);
    setNotice(typeof message === 'string' ? message : null);
  };
  if (checking) return html`<p class="loading" role="status">Checking your token…</p>`;
  if (!me) return html`<${SignIn} notice=${notice} onSignedIn=${setMe} />`;
  return html`<${Nav} route=${route} me=${me} onSignOut=${() => signOut()} />
    <${Page} route=${route} me=${me}
      onAuthLost=${() => signOut('Your token is no longer accepted (revoked or unknown). Sign in again.')} />
    <footer>Times are shown in your time zone, ${timeZone}.</footer>`;
}

const root = document.getElementById('root');
root.textContent = '';
render(html`<${App} />`, root);
