/**
 * Cases: filters and a search by case id or order id. Both travel in a POST body (/cases/_search), never the
 * URL; pages follow the API's keyset cursor ("Show more"), so the list stays fast however many cases there are.
 */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, api } from '../api.js';
import { label, shortId, when } from '../format.js';
import { Empty, ErrorNote, html, Loading, PageHeading } from '../ui.js';

const states = [
  'received',
  'validated',
  'eligibility_checked',
  'awaiting_review',
  'submitted',
  'pended',
  'decided',
  'delivered',
  'rejected',
  'failed',
  'cancelled',
  'not_required',
];
const blank = { term: '', state: '', payer: '', service: '', channel: '', urgency: '', slaRisk: '' };

function Select({ id, text, value, options, onChange }) {
  return html`<div class="field">
    <label for=${id}>${text}</label>
    <select id=${id} value=${value} onChange=${(e) => onChange(e.currentTarget.value)}>
      <option value="">Any</option>
      ${options.map(([v, t]) => html`<option value=${v}>${t}</option>`)}
    </select>
  </div>`;
}

function Input({ id, text, value, onChange, hint }) {
  return html`<div class="field">
    <label for=${id}>${text}</label>
    <input id=${id} type="text" value=${value} autocomplete="off" spellcheck="false"
      aria-describedby=${hint ? `${id}-hint` : undefined} onInput=${(e) => onChange(e.currentTarget.value)} />
    ${hint && html`<span class="hint" id=${`${id}-hint`}>${hint}</span>`}
  </div>`;
}

export function CasesPage({ onAuthLost }) {
  const [form, setForm] = useState(blank);
  const [applied, setApplied] = useState(blank);
  const [items, setItems] = useState([]);
  const [next, setNext] = useState(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState(null);

  async function load(filters, cursor) {
    setLoading(true);
    setError(null);
    try {
      const body = Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== ''));
      const page = await api('/cases/_search', {
        method: 'POST',
        body: { ...body, cursor: cursor ?? undefined },
      });
      setItems((old) => (cursor ? [...old, ...page.items] : page.items));
      setNext(page.next);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) onAuthLost();
      setError(e);
    } finally {
      setLoading(false);
    }
  }
  useEffect(() => {
    load(blank);
  }, []);

  const set = (name) => (value) => setForm((f) => ({ ...f, [name]: value }));
  const submit = (event) => {
    event.preventDefault();
    setApplied(form);
    load(form);
  };
  const clear = () => {
    setForm(blank);
    setApplied(blank);
    load(blank);
  };
  const filtered = Object.values(applied).some((v) => v !== '');

  return html`<main id="main" tabindex="-1">
    <${PageHeading}>Cases<//>
    <form class="filters" onSubmit=${submit} aria-label="Find cases">
      <${Input} id="term" text="Case id or order id" value=${form.term} onChange=${set('term')}
        hint="Exact match; sent in the request body, never in the address bar." />
      <${Select} id="state" text="State" value=${form.state} onChange=${set('state')}
        options=${states.map((s) => [s, label(s)])} />
      <${Input} id="payer" text="Payer" value=${form.payer} onChange=${set('payer')} />
      <${Input} id="service" text="Service code" value=${form.service} onChange=${set('service')} />
      <${Select} id="channel" text="Channel" value=${form.channel} onChange=${set('channel')}
        options=${[['x12', 'X12 278'], ['pas', 'Da Vinci PAS'], ['portal', 'Payer portal']]} />
      <${Select} id="urgency" text="Urgency" value=${form.urgency} onChange=${set('urgency')}
        options=${[['standard', 'standard'], ['expedited', 'expedited']]} />
      <${Select} id="slaRisk" text="SLA risk" value=${form.slaRisk} onChange=${set('slaRisk')}
        options=${[
          ['breached', 'breached'],
          ['at_risk', 'at risk (due within 24 h)'],
          ['on_track', 'on track'],
          ['none', 'no open SLA'],
        ]} />
      <div class="actions">
        <button type="submit">Find cases</button>
        <button type="button" class="secondary" onClick=${clear}>Clear</button>
      </div>
    </form>
    <${ErrorNote} error=${error} />
    ${
      items.length > 0 &&
      html`<table class="cases">
        <caption>${filtered ? 'Cases matching the filters' : 'All cases'}, most recently changed first</caption>
        <thead><tr>
          <th scope="col">Case</th><th scope="col">State</th><th scope="col">Payer</th><th scope="col">Service</th>
          <th scope="col">Channel</th><th scope="col">Urgency</th><th scope="col">Order</th>
          <th scope="col">SLA due</th><th scope="col">Outcome</th><th scope="col">Updated</th>
        </tr></thead>
        <tbody>
          ${items.map(
            (c) => html`<tr key=${c.id}>
              <td><a href=${`#/cases/${c.id}`} title=${c.id}>${shortId(c.id)}</a></td>
              <td><span class=${`state state-${c.state}`}>${label(c.state)}</span></td>
              <td>${c.payerId ?? '—'}</td><td>${c.serviceCode ?? '—'}</td><td>${c.channel ?? '—'}</td>
              <td>${c.urgency ?? '—'}</td><td>${c.orderNumber ?? '—'}</td><td>${when(c.slaDueAt)}${c.slaBreachedAt ? html` <strong class="breach">breached</strong>` : ''}</td>
              <td>${label(c.outcome)}</td><td>${when(c.updatedAt)}</td>
            </tr>`,
          )}
        </tbody>
      </table>`
    }
    ${loading && html`<${Loading} what="cases" />`}
    ${
      !loading &&
      !error &&
      items.length === 0 &&
      html`<${Empty}>${filtered ? 'No case matches these filters.' : 'There are no cases yet.'}<//>`
    }
    ${
      next &&
      !loading &&
      html`<button type="button" class="more" onClick=${() => load(applied, next)}>Show more cases</button>`
    }
  </main>`;
}
