/**
 * Dashboards: turnaround (p50/p90) by payer and by service, straight-through, denial and approved-after-appeal
 * rates, SLA breaches, volume per day with a 4-week forecast, and the CMS-0057-F payer scorecard. Every figure
 * comes from the analytics API (GET /analytics/*, days counted in the viewer's time zone) and can be downloaded
 * as CSV. Filters: date range, payer, service, prescriber.
 */
import { useState } from 'preact/hooks';
import { api, download, query } from '../api.js';
import { ChartFigure } from '../charts.js';
import { addDays, hours, pct, timeZone, today } from '../format.js';
import { ErrorNote, html, Loading, PageHeading, useApi } from '../ui.js';

function defaults() {
  const to = today();
  return { from: addDays(to, -83), to, payer: '', service: '', prescriber: '' };
}

async function loadAll(filter) {
  const q = (extra = {}) => query({ ...filter, tz: timeZone, ...extra });
  const [facets, byPayer, byService, outcomes, sla, volume, scorecard] = await Promise.all([
    api(`/analytics/facets${query({ from: filter.from, to: filter.to, tz: timeZone })}`),
    api(`/analytics/turnaround${q({ by: 'payer' })}`),
    api(`/analytics/turnaround${q({ by: 'service' })}`),
    api(`/analytics/outcomes${q()}`),
    api(`/analytics/sla${q()}`),
    api(`/analytics/volume${q()}`),
    api(`/analytics/scorecard${q()}`),
  ]);
  return { facets, byPayer, byService, outcomes, sla, volume, scorecard };
}

function Csv({ name, filter }) {
  const [error, setError] = useState(null);
  const run = () =>
    download(
      `/analytics/${name}${query({ ...filter, tz: timeZone })}`,
      `pagw-${name}-${filter.from}-${filter.to}.csv`,
    )
      .then(() => setError(null))
      .catch(setError);
  return html`<button type="button" class="link" onClick=${run}>Download ${name} as CSV</button><${ErrorNote} error=${error} />`;
}

function Table({ caption, columns, rows }) {
  return html`<table>
    <caption>${caption}</caption>
    <thead><tr>${columns.map(([, title]) => html`<th scope="col">${title}</th>`)}</tr></thead>
    <tbody>${rows.map(
      (row) =>
        html`<tr>${columns.map(([key, , fmt]) => html`<td>${fmt ? fmt(row[key]) : (row[key] ?? '—')}</td>`)}</tr>`,
    )}</tbody>
  </table>`;
}

function Select({ id, text, value, options, onChange }) {
  return html`<div class="field"><label for=${id}>${text}</label>
    <select id=${id} value=${value} onChange=${(e) => onChange(e.currentTarget.value)}>
      <option value="">All</option>${options.map((o) => html`<option value=${o}>${o}</option>`)}
    </select></div>`;
}

function Tile({ label, value, id }) {
  return html`<div class="tile"><span class="tile-label">${label}</span><span class="tile-value" data-kpi=${id}>${value}</span></div>`;
}

function Turnaround({ id, title, data, keyTitle }) {
  return html`<${ChartFigure} id=${id} title=${title} yTitle="hours" labels=${data.rows.map((r) => r.key)}
    datasets=${[
      { label: 'p50 (hours)', data: data.rows.map((r) => r.p50Hours) },
      { label: 'p90 (hours)', data: data.rows.map((r) => r.p90Hours) },
    ]}>
    <${Table} caption=${title} rows=${data.rows} columns=${[
      ['key', keyTitle],
      ['decided', 'Decided'],
      ['p50Hours', 'p50', hours],
      ['p90Hours', 'p90', hours],
    ]} />
  <//>`;
}

export function DashboardsPage({ onAuthLost }) {
  const [form, setForm] = useState(defaults);
  const [filter, setFilter] = useState(defaults);
  const { data, error, loading } = useApi(() => loadAll(filter), JSON.stringify(filter), onAuthLost);
  const set = (name) => (value) => setForm((f) => ({ ...f, [name]: value }));
  const submit = (event) => {
    event.preventDefault();
    setFilter(form);
  };
  const facets = data?.facets ?? { payers: [], services: [], prescribers: [] };
  return html`<main id="main" tabindex="-1">
    <${PageHeading}>Dashboards<//>
    <form class="filters" onSubmit=${submit} aria-label="Dashboard filters">
      <div class="field"><label for="from">From</label>
        <input id="from" type="date" required value=${form.from} onInput=${(e) => set('from')(e.currentTarget.value)} /></div>
      <div class="field"><label for="to">To</label>
        <input id="to" type="date" required value=${form.to} onInput=${(e) => set('to')(e.currentTarget.value)} /></div>
      <${Select} id="payer" text="Payer" value=${form.payer} options=${facets.payers} onChange=${set('payer')} />
      <${Select} id="service" text="Service" value=${form.service} options=${facets.services} onChange=${set('service')} />
      <${Select} id="prescriber" text="Prescriber (NPI)" value=${form.prescriber} options=${facets.prescribers}
        onChange=${set('prescriber')} />
      <div class="actions"><button type="submit">Apply</button></div>
    </form>
    ${loading && html`<${Loading} what="the figures" />`}
    <${ErrorNote} error=${error} />
    ${
      data &&
      !loading &&
      html`<div class="tiles" aria-label="Headline figures">
        <${Tile} id="decided" label="Cases with a payer decision" value=${data.outcomes.total.decided} />
        <${Tile} id="straightThroughRate" label="Straight-through" value=${pct(data.outcomes.total.straightThroughRate)} />
        <${Tile} id="denialRate" label="Denied" value=${pct(data.outcomes.total.denialRate)} />
        <${Tile} id="approvedAfterAppealRate" label="Approved after appeal" value=${pct(data.outcomes.total.approvedAfterAppealRate)} />
        <${Tile} id="breached" label="SLA breaches" value=${data.sla.total.breached} />
      </div>
      <section aria-labelledby="turnaround-h">
        <h2 id="turnaround-h">Turnaround, receipt to payer decision</h2>
        <div class="grid">
          <${Turnaround} id="turnaround-payer" title="Turnaround by payer" data=${data.byPayer} keyTitle="Payer" />
          <${Turnaround} id="turnaround-service" title="Turnaround by service" data=${data.byService} keyTitle="Service" />
        </div>
        <${Csv} name="turnaround" filter=${filter} />
      </section>
      <section aria-labelledby="outcomes-h">
        <h2 id="outcomes-h">Straight-through, denials and appeals</h2>
        <${ChartFigure} id="outcomes" title="Rates by payer (% of cases with a payer decision)" yTitle="%"
          labels=${data.outcomes.rows.map((r) => r.payer)}
          datasets=${[
            { label: 'Straight-through %', data: data.outcomes.rows.map((r) => r.straightThroughRate) },
            { label: 'Denied %', data: data.outcomes.rows.map((r) => r.denialRate) },
            {
              label: 'Approved after appeal %',
              data: data.outcomes.rows.map((r) => r.approvedAfterAppealRate),
            },
          ]}>
          <${Table} caption="Outcomes by payer" rows=${[...data.outcomes.rows, data.outcomes.total]} columns=${[
            ['payer', 'Payer'],
            ['cases', 'Cases'],
            ['decided', 'Decided'],
            ['straightThroughRate', 'Straight-through', pct],
            ['denialRate', 'Denied', pct],
            ['approvedAfterAppealRate', 'Approved after appeal', pct],
          ]} />
        <//>
        <p class="hint">Appeals arrive with the exceptions work (#14): until a case has an appeal event, approved after appeal is 0.</p>
        <${Csv} name="outcomes" filter=${filter} />
      </section>
      <section aria-labelledby="sla-h">
        <h2 id="sla-h">SLA breaches</h2>
        <${ChartFigure} id="sla" title="SLA breaches and cases at risk by payer" yTitle="cases"
          labels=${data.sla.rows.map((r) => r.payer)}
          datasets=${[
            { label: 'Breached', data: data.sla.rows.map((r) => r.breached) },
            { label: 'At risk (due within 24 h)', data: data.sla.rows.map((r) => r.atRisk) },
          ]}>
          <${Table} caption="SLA by payer" rows=${[...data.sla.rows, data.sla.total]} columns=${[
            ['payer', 'Payer'],
            ['withSla', 'With an SLA'],
            ['breached', 'Breached'],
            ['atRisk', 'At risk'],
            ['breachRate', 'Breach rate', pct],
          ]} />
        <//>
        <${Csv} name="sla" filter=${filter} />
      </section>
      <section aria-labelledby="volume-h">
        <h2 id="volume-h">Volume per day and the next 4 weeks</h2>
        <${ChartFigure} id="volume" type="line" title="Cases received per day, with forecast" yTitle="cases"
          labels=${[...data.volume.days.map((d) => d.day), ...data.volume.forecast.map((f) => f.day)]}
          datasets=${[
            {
              label: 'Received',
              data: [...data.volume.days.map((d) => d.count), ...data.volume.forecast.map(() => null)],
              pointRadius: 0,
            },
            {
              label: 'Forecast',
              data: [...data.volume.days.map(() => null), ...data.volume.forecast.map((f) => f.expected)],
              borderDash: [6, 4],
              pointRadius: 0,
            },
          ]}>
          <${Table} caption="Forecast" rows=${data.volume.forecast} columns=${[
            ['day', 'Day'],
            ['expected', 'Expected cases'],
          ]} />
        <//>
        <p class="hint">Model: ${data.volume.model.method}${
          data.volume.model.alpha === undefined
            ? ''
            : ` (weekly season; α ${data.volume.model.alpha}, β ${data.volume.model.beta}, γ ${data.volume.model.gamma})`
        }. Days are counted in ${timeZone}.</p>
        <${Csv} name="volume" filter=${filter} />
      </section>
      <section aria-labelledby="scorecard-h">
        <h2 id="scorecard-h">Payer scorecard (CMS-0057-F measures, from our own cases)</h2>
        ${data.scorecard.payers.length === 0 && html`<p class="empty">No payer decided a case in this range.</p>`}
        <${Table} caption="Per payer: decision time runs from submission to the payer’s first decision"
          rows=${data.scorecard.payers.flatMap((p) => [
            { payer: p.payer, urgency: 'standard', ...p.standard },
            { payer: p.payer, urgency: 'expedited', ...p.expedited },
          ])}
          columns=${[
            ['payer', 'Payer'],
            ['urgency', 'Requests'],
            ['requests', 'Decided'],
            ['percentApproved', 'Approved', pct],
            ['percentDenied', 'Denied', pct],
            ['percentApprovedAfterAppeal', 'Approved after appeal', pct],
            ['percentApprovedAfterExtension', 'Approved after extension', pct],
            ['averageDecisionHours', 'Average decision time', hours],
            ['medianDecisionHours', 'Median decision time', hours],
          ]} />
        <${Csv} name="scorecard" filter=${filter} />
      </section>`
    }
  </main>`;
}
