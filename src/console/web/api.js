/**
 * The console's one way to the gateway API: same origin, bearer token from this tab's sessionStorage (never a
 * URL), JSON in and out. Failures become ApiError with a sentence a person can act on, read from the
 * OperationOutcome the API returns.
 */
const TOKEN_KEY = 'pagw.console.token';

export function storedToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function storeToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(status, sentence, code, issues) {
    super(sentence);
    this.status = status;
    this.code = code;
    this.issues = issues;
  }
}

/** The issues of an OperationOutcome as { code, location, text }. */
function issuesOf(outcome) {
  if (outcome?.resourceType !== 'OperationOutcome' || !Array.isArray(outcome.issue)) return [];
  return outcome.issue.map((issue) => ({
    code: issue.details?.coding?.[0]?.code ?? null,
    location: issue.expression?.[0] ?? null,
    text: issue.details?.text ?? issue.diagnostics ?? '',
  }));
}

function sentenceFor(status, issues) {
  const texts = issues.map((i) => i.text).filter(Boolean);
  const detail = texts.length > 0 ? texts.join('; ') : null;
  if (status === 401) return 'Your token was not accepted: it is unknown or has been revoked. Sign in again.';
  if (status === 403) return `Your token’s roles do not allow this. ${detail ?? ''}`.trim();
  if (status === 404) return `Not found: ${detail ?? 'the gateway has no such item for your clinic'}.`;
  if (status >= 500) return `The gateway could not answer (${status}). Try again in a moment.`;
  return detail ? `${detail.charAt(0).toUpperCase()}${detail.slice(1)}.` : `The request failed (${status}).`;
}

export async function api(path, { method = 'GET', body, accept = 'application/json', as } = {}) {
  const headers = { accept, authorization: `Bearer ${storedToken() ?? ''}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'The gateway could not be reached. Check the connection and try again.', null, []);
  }
  if (res.ok) {
    if (as === 'blob') return res.blob();
    return accept === 'application/json' ? res.json() : res.text();
  }
  let outcome = null;
  try {
    outcome = await res.json();
  } catch {
    // not JSON: the sentence falls back to the status
  }
  const issues = issuesOf(outcome);
  throw new ApiError(res.status, sentenceFor(res.status, issues), issues[0]?.code ?? null, issues);
}

/** Query string of the non-empty entries (analytics filters: days, payer and service codes, NPIs; no PHI). */
export function query(params) {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '');
  return entries.length === 0 ? '' : `?${new URLSearchParams(entries).toString()}`;
}

/**
 * An image the API serves behind the bearer header (a portal screenshot), as a data: URL an <img> can show — the
 * page's Content-Security-Policy allows data: images, and nothing is cached (each view is an audited read).
 */
export async function imageDataUrl(path) {
  const blob = await api(path, { accept: 'image/png', as: 'blob' });
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(new ApiError(0, 'The image could not be read.', null, []));
    reader.readAsDataURL(blob);
  });
}

/** Downloads an API answer as a file (CSV), with the bearer header a plain link could not send. */
export async function download(path, filename) {
  const text = await api(path, { accept: 'text/csv' });
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
