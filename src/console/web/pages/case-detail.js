/**
 * One case: what it is now, a timeline of every event and payer exchange, the decision, the ClaimResponse sent
 * to the EHR, and the audit rows (who, on whose behalf, the hash chain). The raw 278 / PAS / portal evidence of
 * an exchange is one click away for the roles the API allows; everyone else sees no button. So are the portal robot's
 * screenshots (the filled form, the confirmation, each status page, a failure), listed with the flow and step that
 * took them; each image is fetched (an audited read) only when a person asks to see it.
 */
import { useState } from 'preact/hooks';
import { api, imageDataUrl } from '../api.js';
import { label, shortId, when } from '../format.js';
import { ErrorNote, html, Loading, PageHeading, useApi } from '../ui.js';

function timelineOf(data) {
  const events = data.events.map((e) => ({
    kind: 'event',
    at: e.at,
    key: `e${e.seq}`,
    title: e.fromState
      ? `${label(e.event)}: ${label(e.fromState)} → ${label(e.toState)}`
      : `${label(e.event)}`,
    who: e.onBehalfOf ? `${e.actor} for ${e.onBehalfOf}` : e.actor,
    data: e.data,
  }));
  const exchanges = data.exchanges.map((x) => ({
    kind: 'exchange',
    at: x.createdAt,
    key: `x${x.id}`,
    title: `Payer exchange: ${x.purpose} over ${x.channel} (attempt ${x.attempt}) — ${label(x.status)}`,
    who: `payer ${x.payerId} · trace ${x.traceNumber}${x.errorCode ? ` · error ${x.errorCode}` : ''}`,
    exchange: x,
  }));
  return [...events, ...exchanges].sort(
    (a, b) => new Date(a.at) - new Date(b.at) || a.key.localeCompare(b.key),
  );
}

function Evidence({ caseId, exchange }) {
  const [state, setState] = useState({ open: false, data: null, error: null, loading: false });
  async function show() {
    if (state.open) return setState((s) => ({ ...s, open: false }));
    setState({ open: true, data: null, error: null, loading: true });
    try {
      const data = await api(`/cases/${caseId}/exchanges/${exchange.id}/evidence`);
      setState({ open: true, data, error: null, loading: false });
    } catch (error) {
      setState({ open: true, data: null, error, loading: false });
    }
  }
  return html`<div class="evidence">
    <button type="button" class="secondary" aria-expanded=${state.open} onClick=${show}>
      ${state.open ? 'Hide raw evidence' : 'Show raw evidence'}
    </button>
    ${state.open && state.loading && html`<${Loading} what="the raw exchange" />`}
    <${ErrorNote} error=${state.error} />
    ${
      state.open &&
      state.data &&
      html`<div class="raw">
        <h4>Sent to the payer</h4><pre tabindex="0">${state.data.request ?? '(nothing recorded)'}</pre>
        <h4>Payer’s answer</h4><pre tabindex="0">${state.data.response ?? '(no answer recorded)'}</pre>
      </div>`
    }
  </div>`;
}

function Screenshot({ caseId, shot }) {
  const [state, setState] = useState({ src: null, error: null, loading: false });
  async function toggle() {
    if (state.src) return setState({ src: null, error: null, loading: false });
    setState({ src: null, error: null, loading: true });
    try {
      const src = await imageDataUrl(
        `/cases/${encodeURIComponent(caseId)}/evidence/${encodeURIComponent(shot.id)}`,
      );
      setState({ src, error: null, loading: false });
    } catch (error) {
      setState({ src: null, error, loading: false });
    }
  }
  const where = `${shot.recipe} · ${shot.flow}${shot.step !== null && shot.step !== undefined ? ` step ${shot.step}` : ''}`;
  return html`<li>
    <strong>${shot.name}</strong> <span class="who">${where} · ${when(shot.createdAt, { seconds: true })}${
      shot.masked?.length ? ` · masked: ${[...new Set(shot.masked)].join(', ')}` : ''
    }</span>
    <button type="button" class="secondary" aria-expanded=${Boolean(state.src)} onClick=${toggle}>
      ${state.src ? 'Hide screenshot' : 'Show screenshot'}
    </button>
    ${state.loading && html`<${Loading} what="the screenshot" />`}
    <${ErrorNote} error=${state.error} />
    ${state.src && html`<img class="portal-shot" src=${state.src} alt=${`Portal screenshot: ${shot.name} (${where})`} />`}
  </li>`;
}

function Data({ value }) {
  const entries = Object.entries(value ?? {}).filter(([, v]) => v !== null && v !== undefined);
  if (entries.length === 0) return null;
  return html`<span class="data">${entries
    .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`)
    .join(' · ')}</span>`;
}

function Decision({ decision }) {
  if (!decision) return html`<p class="empty">No payer decision yet.</p>`;
  return html`<dl class="facts">
    <dt>Outcome</dt><dd>${label(decision.outcome)}${decision.reviewActionCode ? ` (${decision.reviewActionCode})` : ''}</dd>
    <dt>Payer</dt><dd>${decision.payer?.id ?? '—'}</dd>
    <dt>Channel</dt><dd>${decision.channel ?? '—'}</dd>
    <dt>Certification number</dt><dd>${decision.certificationNumber ?? '—'}</dd>
    <dt>Decided</dt><dd>${when(decision.decidedAt)}</dd>
    <dt>Reasons</dt><dd>${decision.reasons?.length ? decision.reasons.map((r) => r.code).join(', ') : '—'}</dd>
    <dt>Follow-up</dt><dd>${label(decision.followUp)}</dd>
  </dl>`;
}

export function CaseDetailPage({ id, onAuthLost }) {
  const { data, error, loading } = useApi(`/cases/${encodeURIComponent(id)}/timeline`, id, onAuthLost);
  if (loading)
    return html`<main id="main" tabindex="-1"><${PageHeading}>Case ${shortId(id)}<//><${Loading} what="the case" /></main>`;
  if (error)
    return html`<main id="main" tabindex="-1"><${PageHeading}>Case ${shortId(id)}<//><${ErrorNote} error=${error} />
      <p><a href="#/cases">Back to the cases</a></p></main>`;
  const c = data.case;
  return html`<main id="main" tabindex="-1">
    <p><a href="#/cases">← Cases</a></p>
    <${PageHeading}>Case ${shortId(c.id)} <span class=${`state state-${c.state}`}>${label(c.state)}</span><//>
    <dl class="facts">
      <dt>Case id</dt><dd><code>${c.id}</code></dd>
      <dt>Version</dt><dd>${c.version}</dd>
      <dt>Payer</dt><dd>${c.payerId ?? '—'}</dd>
      <dt>Channel</dt><dd>${c.channel ?? '—'}</dd>
      <dt>Service</dt><dd>${c.serviceCode ?? '—'}</dd>
      <dt>Urgency</dt><dd>${c.urgency ?? '—'}</dd>
      <dt>Order</dt><dd>${c.orderNumber ?? '—'}</dd>
      <dt>Received</dt><dd>${when(c.createdAt)}</dd>
      <dt>SLA due</dt><dd>${when(c.slaDueAt)}${c.slaBreachedAt ? html` <strong class="breach">breached ${when(c.slaBreachedAt)}</strong>` : ''}</dd>
      <dt>Touched by a person</dt><dd>${c.humanTouched ? 'yes' : 'no (straight through)'}</dd>
    </dl>
    <section aria-labelledby="timeline-h">
      <h2 id="timeline-h">Timeline</h2>
      <ol class="timeline">
        ${timelineOf(data).map(
          (item) => html`<li key=${item.key} class=${item.kind}>
            <time datetime=${item.at}>${when(item.at, { seconds: true })}</time>
            <strong>${item.title}</strong>
            <span class="who">${item.who}</span>
            ${item.data && html`<${Data} value=${item.data} />`}
            ${
              item.exchange &&
              data.evidenceAllowed &&
              (item.exchange.hasRequest || item.exchange.hasResponse) &&
              html`<${Evidence} caseId=${c.id} exchange=${item.exchange} />`
            }
          </li>`,
        )}
      </ol>
    </section>
    ${
      data.evidenceAllowed &&
      data.evidence?.length > 0 &&
      html`<section aria-labelledby="portal-h">
        <h2 id="portal-h">Portal evidence</h2>
        <ul class="portal-evidence">
          ${data.evidence.map((shot) => html`<${Screenshot} key=${shot.id} caseId=${c.id} shot=${shot} />`)}
        </ul>
      </section>`
    }
    <section aria-labelledby="decision-h">
      <h2 id="decision-h">Decision</h2>
      <${Decision} decision=${data.decision} />
    </section>
    ${
      'claimResponse' in data &&
      html`<section aria-labelledby="cr-h">
        <h2 id="cr-h">ClaimResponse sent to the EHR</h2>
        ${
          data.claimResponse
            ? html`<details><summary>Show the ClaimResponse (${when(data.claimResponse.createdAt)})</summary>
                <pre tabindex="0">${JSON.stringify(data.claimResponse.value, null, 2)}</pre></details>`
            : html`<p class="empty">No ClaimResponse has been sent for this case yet.</p>`
        }
      </section>`
    }
    <section aria-labelledby="audit-h">
      <h2 id="audit-h">Audit trail</h2>
      <table class="audit">
        <caption>Every audited action on this case, in chain order</caption>
        <thead><tr><th scope="col">#</th><th scope="col">When</th><th scope="col">Action</th>
          <th scope="col">Actor</th><th scope="col">On behalf of</th><th scope="col">Details</th>
          <th scope="col">Hash</th></tr></thead>
        <tbody>${data.audit.map(
          (
            a,
          ) => html`<tr key=${a.seq}><td>${a.seq}</td><td>${when(a.at, { seconds: true })}</td><td>${a.action}</td>
            <td>${a.actor}</td><td>${a.onBehalfOf ?? '—'}</td><td><${Data} value=${a.details} /></td>
            <td><code title=${a.hash}>${a.hash.slice(0, 12)}</code></td></tr>`,
        )}</tbody>
      </table>
    </section>
  </main>`;
}
