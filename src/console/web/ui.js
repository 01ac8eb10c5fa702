/** Shared pieces: the htm binding, loading / empty / error states, and a data-loading hook. */
import htm from 'htm';
import { h } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, api } from './api.js';

export const html = htm.bind(h);

export function Loading({ what }) {
  return html`<p class="loading" role="status">Loading ${what}…</p>`;
}

export function Empty({ children }) {
  return html`<p class="empty" role="status">${children}</p>`;
}

export function ErrorNote({ error }) {
  if (!error) return null;
  return html`<p class="error" role="alert">${error.message ?? String(error)}</p>`;
}

/**
 * Loads `path` (or runs `load`) when `key` changes: { data, error, loading, reload }. A 401 means the token
 * was revoked while the page was open: the shell signs out with a sentence saying so.
 */
export function useApi(load, key, onAuthLost) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const run = useCallback(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true, error: null }));
    (typeof load === 'string' ? api(load) : load())
      .then((data) => live && setState({ data, error: null, loading: false }))
      .catch((error) => {
        if (!live) return;
        if (error instanceof ApiError && error.status === 401 && onAuthLost) onAuthLost();
        setState({ data: null, error, loading: false });
      });
    return () => {
      live = false;
    };
  }, [key]);
  useEffect(run, [run]);
  return { ...state, reload: run };
}

export function PageHeading({ children }) {
  return html`<h1 tabindex="-1">${children}</h1>`;
}
