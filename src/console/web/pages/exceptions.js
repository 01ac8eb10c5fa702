/**
 * Exceptions: the task queue (GET /exceptions, issue #14) — what a person must do about a case, most urgent first,
 * with its kind, why (reason codes), what it needs, owner role, priority, due time and SLA flag, and the actions
 * that resolve it. Each action is what the API offers for this token (`actions`): a button that POSTs its `body` to
 * its `href`; an action naming `fields` (a correction of the request) first asks for each value, labelled with the
 * field and where the order carries it, and sends them as `changes`; one naming `criteria` (a pharmacist's unknown
 * drug criteria) asks, per criterion, met or not met and where the evidence is; one asking a `note` asks for it. The
 * task version the screen showed goes with
 * every action, so a stale screen is refused in a sentence and changes nothing.
 */
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { label, shortId, when } from '../format.js';
import { Empty, ErrorNote, html, Loading, PageHeading, useApi } from '../ui.js';
import { EvidenceAction, NoteAction } from './criteria-actions.js';

/** Refusals a person can act on, in their own sentence (the API's text for anything else). */
function sentence(error) {
  const detail = error?.issues?.[0]?.text?.replace(/^\w+: /, '') ?? '';
  if (error?.code === 'PAGW_TASK_VERSION_CONFLICT')
    return new Error(`This screen is out of date: ${detail}. Nothing was changed; reload the queue.`);
  if (error?.code === 'PAGW_TASK_CLOSED') return new Error(`This task was closed meanwhile (${detail}).`);
  return error;
}

function Action({ action, onDone }) {
  if (action.criteria)
    return html`<${EvidenceAction} action=${action} onDone=${onDone} sentence=${sentence} />`;
  if (action.note) return html`<${NoteAction} action=${action} onDone=${onDone} sentence=${sentence} />`;
  return html`<${PlainAction} action=${action} onDone=${onDone} />`;
}

function PlainAction({ action, onDone }) {
  const fields = action.fields ?? [];
  const [state, setState] = useState({ busy: false, error: null, open: false });
  const [values, setValues] = useState({});
  async function run(event) {
    event?.preventDefault();
    setState((s) => ({ ...s, busy: true, error: null }));
    const body = {
      ...(action.body ?? {}),
      ...(fields.length > 0
        ? { changes: fields.map((f) => ({ path: f.path, value: values[f.path] ?? '' })) }
        : {}),
    };
    try {
      await api(action.href, { method: action.method ?? 'POST', body });
      setState({ busy: false, error: null, open: false });
      onDone();
    } catch (error) {
      setState((s) => ({ ...s, busy: false, error: sentence(error) }));
    }
  }
  if (fields.length > 0 && !state.open) {
    return html`<button type="button" onClick=${() => setState((s) => ({ ...s, open: true }))}>${action.title}</button>`;
  }
  if (fields.length > 0) {
    return html`<form class="correction" onSubmit=${run}>
      ${fields.map(
        (f) => html`<label key=${f.path}>${f.label}${f.source ? html` <small>(${f.source})</small>` : ''}
          <input name=${f.path} autocomplete="off" required value=${values[f.path] ?? ''}
            onInput=${(e) => setValues((v) => ({ ...v, [f.path]: e.currentTarget.value }))} /></label>`,
      )}
      <button type="submit" disabled=${state.busy}>Save and resume</button>
      <button type="button" onClick=${() => setState({ busy: false, error: null, open: false })}>Cancel</button>
      <${ErrorNote} error=${state.error} />
    </form>`;
  }
  return html`<button type="button" disabled=${state.busy} onClick=${run}>${action.title}</button>
    <${ErrorNote} error=${state.error} />`;
}

function Needed({ item }) {
  if (!item.needed || item.needed.length === 0) return html`<span class="hint">—</span>`;
  return html`<ul class="needed">${item.needed.map(
    (n, i) => html`<li key=${i}>${n.label}${n.source ? html` <small>(${n.source})</small>` : ''}</li>`,
  )}</ul>`;
}

function Due({ item }) {
  const breached = item.case?.slaBreachedAt;
  return html`${when(item.dueAt)}${breached ? html` <strong class="breach">SLA breached</strong>` : ''}`;
}

export function ExceptionsPage({ onAuthLost }) {
  const [generation, setGeneration] = useState(0);
  const { data, error, loading } = useApi('/exceptions', generation, onAuthLost);
  const [done, setDone] = useState(null);
  const reload = (what) => {
    setDone(what ?? null);
    setGeneration((g) => g + 1);
  };
  return html`<main id="main" tabindex="-1">
    <${PageHeading}>Exceptions<//>
    <p>Cases that stopped and need a person: missing data, failures, payer deadlines running out, inquiry limits,
      drug criteria a pharmacy record could not answer. Most urgent first.</p>
    ${done && html`<p class="done" role="status">${done}</p>`}
    ${loading && html`<${Loading} what="exceptions" />`}
    <${ErrorNote} error=${error} />
    ${!loading && data && data.items.length === 0 && html`<${Empty}>No case needs attention.<//>`}
    ${
      !loading &&
      data &&
      data.items.length > 0 &&
      html`<table class="exceptions">
        <caption>Open tasks, most urgent first</caption>
        <thead><tr><th scope="col">Case</th><th scope="col">Task</th><th scope="col">Why</th>
          <th scope="col">Needs</th><th scope="col">Owner</th><th scope="col">Priority</th>
          <th scope="col">Due</th><th scope="col">Actions</th></tr></thead>
        <tbody>${data.items.map(
          (x) => html`<tr key=${x.id ?? x.caseId} data-kind=${x.kind} class=${`priority-${x.priority}`}>
            <td><a href=${`#/cases/${x.caseId}`}>${shortId(x.caseId)}</a>
              <br /><small>${label(x.case?.state)}${x.case?.payerId ? ` · ${x.case.payerId}` : ''}</small></td>
            <td>${label(x.kind)}${x.assignee ? html`<br /><small>taken by ${x.assignee}</small>` : ''}</td>
            <td>${x.reasonCodes.map((c) => html`<code key=${c}>${c}</code> `)}</td>
            <td><${Needed} item=${x} /></td>
            <td>${label(x.ownerRole)}</td>
            <td>${x.priority}</td>
            <td><${Due} item=${x} /></td>
            <td>${
              (x.actions ?? []).length > 0
                ? x.actions.map(
                    (a) =>
                      html`<${Action} key=${a.action ?? a.href} action=${a}
                        onDone=${() => reload(`${a.title}: done for case ${shortId(x.caseId)}.`)} />`,
                  )
                : html`<span class="hint">${x.canWork === false ? `For the ${label(x.ownerRole)} role` : 'No action offered'}</span>`
            }</td>
          </tr>`,
        )}</tbody>
      </table>`
    }
  </main>`;
}
