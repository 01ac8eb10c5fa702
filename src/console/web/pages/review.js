/**
 * Review queue. A decision is bound to what the reviewer saw: the page shows plainly every field the queue
 * item lists as the binding (`mustRepeat`: the submission key, the case version, patient identifiers and service
 * codes) and echoes it unchanged with approve / reject / request changes / escalate. When the case or its request
 * changed meanwhile, the API refuses (409 with an OperationOutcome: a stale version, or a submission key that no
 * longer matches) and the page says so in a sentence: nothing was changed, reload and review again. A gate that
 * needs two approvers says so after the first.
 */
import { useState } from 'preact/hooks';
import { ApiError, api } from '../api.js';
import { label, shortId, when } from '../format.js';
import { Empty, ErrorNote, html, Loading, PageHeading, useApi } from '../ui.js';

/** Fields of a queue item that describe the case or its gate rather than bind the decision. */
const describing = new Set([
  'id',
  'state',
  'payerId',
  'ruleVersion',
  'slaDueAt',
  'urgency',
  'gate',
  'facts',
  'bound',
  'canDecide',
  'retryContext',
  'policy',
  'expiresAt',
  'severity',
]);

/**
 * What a decision must send back: the item's `mustRepeat` (or `binding`) when the API names it, else every
 * field of the item that does not merely describe the case.
 */
export function bindingOf(item) {
  for (const named of [item.mustRepeat, item.binding]) if (named && typeof named === 'object') return named;
  return Object.fromEntries(Object.entries(item).filter(([k]) => !describing.has(k)));
}

/** The body of a decision: the action, its details (reason, changes) and the binding exactly as listed. */
function decisionBody(action, binding, details = {}) {
  const body = { action, ...details, ...binding };
  // The API takes one patient identifier; the queue lists all of them. Any one of the case's own will do.
  if (Array.isArray(binding.patientIdentifiers) && !('patientIdentifier' in binding))
    body.patientIdentifier = binding.patientIdentifiers[0];
  return body;
}

function describe(value) {
  if (value === null || value === undefined) return '—';
  if (Array.isArray(value)) return value.map(describe).join('; ');
  if (typeof value === 'object') {
    const main = value.code ?? value.value;
    const system = value.system ? ` (${value.system})` : '';
    const extra = [value.type, value.display].filter(Boolean).join(', ');
    return main !== undefined ? `${main}${extra ? ` — ${extra}` : ''}${system}` : JSON.stringify(value);
  }
  return String(value);
}

const fieldNames = {
  submissionKey: 'Submission key',
  caseVersion: 'Case version',
  patientIdentifier: 'Patient identifier',
  patientIdentifiers: 'Patient identifiers',
  serviceCodes: 'Service codes',
  idempotencyKey: 'Idempotency key',
};

function refusal(error) {
  if (!(error instanceof ApiError)) return 'The decision could not be sent. Nothing was changed.';
  const details = error.issues
    .map((i) => i.text)
    .filter(Boolean)
    .join('; ');
  if (error.code === 'PAGW_IDEMPOTENCY_KEY_MISMATCH')
    return `The request was changed since this screen was loaded (its submission key no longer matches), so the gateway refused the decision and changed nothing. Reload the queue and review the request as it stands. ${details}.`;
  if (error.code === 'PAGW_REVIEW_BINDING_MISMATCH' || /MISMATCH/.test(error.code ?? ''))
    return `This screen is out of date, so the gateway refused the decision and changed nothing. ${details}.`;
  if (error.status === 409)
    return `This case has moved on since the queue was loaded (${details}). Nothing was changed: reload the queue.`;
  if (error.status === 422)
    return `The gateway could not accept this decision (${details}). Nothing was changed: reload the queue.`;
  return `${error.message} Nothing was changed.`;
}

/** Reasons a reviewer may give for a rejection (codes only, never free text). */
const rejectReasons = [
  'not_medically_necessary',
  'incomplete_documentation',
  'wrong_patient',
  'wrong_service',
  'duplicate_order',
  'coverage_issue',
  'cheaper_alternative',
  'other',
];

function GateLine({ gate }) {
  if (!gate) return null;
  const parts = [
    gate.requiredRole && `needs ${label(gate.requiredRole)}`,
    gate.approvalsRequired > 1 && `approvals ${gate.approvals ?? 0} of ${gate.approvalsRequired}`,
    gate.expiresAt && `expires ${when(gate.expiresAt)}`,
    gate.policy &&
      `policy ${typeof gate.policy === 'object' ? (gate.policy.id ?? JSON.stringify(gate.policy)) : gate.policy}`,
  ].filter(Boolean);
  return parts.length ? html`<p class="meta">Review gate: ${parts.join(' · ')}</p>` : null;
}

function ReviewItem({ item }) {
  const binding = bindingOf(item);
  const services = Array.isArray(item.serviceCodes) ? item.serviceCodes : [];
  const [state, setState] = useState({ busy: false, error: null, done: null });
  const [reason, setReason] = useState('other');
  const [quantities, setQuantities] = useState(services.map((s) => String(s.quantity?.value ?? '')));
  async function decide(action, past, details) {
    setState({ busy: true, error: null, done: null });
    try {
      const result = await api(`/cases/${item.id}/review`, {
        method: 'POST',
        body: decisionBody(action, binding, details),
      });
      const partial = result.approvalsRequired > result.approvals;
      const done = result.alreadyRecorded
        ? `Your approval of case ${shortId(item.id)} was already recorded; nothing more was done.`
        : partial
          ? `Your approval of case ${shortId(item.id)} is recorded (${result.approvals} of ${result.approvalsRequired}): another approver must approve it too.`
          : `Case ${shortId(item.id)} ${past}: it is now ${label(result.state)} (version ${result.version}).`;
      setState({ busy: false, error: null, done });
    } catch (error) {
      setState({ busy: false, error: new Error(refusal(error)), done: null });
    }
  }
  function requestChanges() {
    const changes = services
      .map((s, i) => ({ sequence: i + 1, was: String(s.quantity?.value ?? ''), now: quantities[i] }))
      .filter((c) => c.now !== c.was && c.now !== '')
      .map((c) => ({ sequence: c.sequence, quantity: { value: Number(c.now) } }));
    if (changes.length === 0) {
      setState({ busy: false, error: new Error('Change a quantity first: nothing was sent.'), done: null });
      return;
    }
    decide('request_changes', 'sent back with changes', { changes });
  }
  const blocked = item.canDecide === false;
  const disabled = state.busy || Boolean(state.done) || blocked;
  const headingId = `review-${item.id}`;
  return html`<article class="review-item" aria-labelledby=${headingId}>
    <h2 id=${headingId}><a href=${`#/cases/${item.id}`}>Case ${shortId(item.id)}</a></h2>
    <p class="meta">Payer ${item.payerId ?? '—'} · ${item.urgency ?? 'standard'} · SLA due ${when(item.slaDueAt)}</p>
    <${GateLine} gate=${item.gate} />
    <p>This decision is bound to exactly what is listed here; the gateway refuses it if any of it has changed.</p>
    <dl class="binding">
      ${Object.entries(binding).map(
        ([key, value]) =>
          html`<dt>${fieldNames[key] ?? label(key)}</dt><dd data-binding=${key}>${describe(value)}</dd>`,
      )}
    </dl>
    ${blocked && html`<p class="hint">Your token cannot decide this gate (another role is required, or you have already approved it).</p>`}
    <div class="actions" role="group" aria-label=${`Decide case ${shortId(item.id)}`}>
      <button type="button" disabled=${disabled} onClick=${() => decide('approve', 'approved')}>Approve</button>
      <label class="inline" for=${`${headingId}-reason`}>Reason</label>
      <select id=${`${headingId}-reason`} value=${reason} disabled=${disabled}
        onChange=${(e) => setReason(e.currentTarget.value)}>
        ${rejectReasons.map((r) => html`<option value=${r}>${label(r)}</option>`)}
      </select>
      <button type="button" class="secondary" disabled=${disabled}
        onClick=${() => decide('reject', 'rejected', { reasonCode: reason })}>Reject</button>
      ${
        item.gate?.requiredRole !== 'medical_director' &&
        html`<button type="button" class="secondary" disabled=${disabled}
          onClick=${() => decide('escalate', 'escalated to a medical director', { escalateTo: 'medical_director' })}>Escalate</button>`
      }
    </div>
    ${
      services.length > 0 &&
      html`<details class="changes">
        <summary>Request changes (units)</summary>
        ${services.map(
          (s, i) => html`<div class="field">
            <label for=${`${headingId}-q${i}`}>Units of ${s.code}</label>
            <input id=${`${headingId}-q${i}`} type="number" min="1" step="1" value=${quantities[i]} disabled=${disabled}
              onInput=${(e) => setQuantities((q) => q.map((v, j) => (j === i ? e.currentTarget.value : v)))} />
          </div>`,
        )}
        <button type="button" class="secondary" disabled=${disabled} onClick=${requestChanges}>Request changes</button>
      </details>`
    }
    ${state.busy && html`<p class="loading" role="status">Sending the decision…</p>`}
    ${state.done && html`<p class="success" role="status">${state.done}</p>`}
    <${ErrorNote} error=${state.error} />
  </article>`;
}

export function ReviewPage({ onAuthLost }) {
  const [generation, setGeneration] = useState(0);
  const { data, error, loading } = useApi('/review/queue', generation, onAuthLost);
  return html`<main id="main" tabindex="-1">
    <${PageHeading}>Review queue<//>
    <p><button type="button" class="secondary" onClick=${() => setGeneration((g) => g + 1)}>Reload the queue</button></p>
    ${loading && html`<${Loading} what="the review queue" />`}
    <${ErrorNote} error=${error} />
    ${!loading && data && data.items.length === 0 && html`<${Empty}>No case is waiting for review.<//>`}
    ${!loading && data && data.items.map((item) => html`<${ReviewItem} key=${`${item.id}:${generation}`} item=${item} />`)}
  </main>`;
}
