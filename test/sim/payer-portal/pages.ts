/**
 * The simulated payer portal's HTML: server-rendered pages with real labels, roles and forms, the way provider
 * portals are built. Layout `v2` renames the PA form's fields and button (a portal redesign), so a recipe written
 * for `v1` stops at the form step — the failure path the robot must report precisely.
 */

export type Layout = 'v1' | 'v2';

export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

export function page(title: string, body: string, options: { nav?: boolean } = {}): string {
  const nav = options.nav
    ? `<nav aria-label="Portal"><a href="/home">Home</a> · <a href="/pa/new">New prior authorization request</a> · <a href="/pa/status">Check request status</a> · <form method="post" action="/logout" style="display:inline"><button type="submit">Sign out</button></form></nav>`
    : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} — Simulated Health Plan provider portal</title>
<style>body{font-family:sans-serif;margin:2rem;max-width:48rem}label{display:block;margin-top:.6rem}input,select{width:22rem}
.error{color:#a00;border:1px solid #a00;padding:.5rem}.notice{color:#055}table{border-collapse:collapse}td,th{border:1px solid #999;padding:.3rem .6rem}</style>
</head><body><header><p>Simulated Health Plan · Provider portal</p>${nav}</header><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`;
}

export function loginPage(message?: { kind: 'error' | 'notice'; text: string }): string {
  const note = message
    ? `<p class="${message.kind}" role="${message.kind === 'error' ? 'alert' : 'status'}">${escapeHtml(message.text)}</p>`
    : '';
  return page(
    'Sign in',
    `${note}<form method="post" action="/login">
<label for="username">Username</label><input id="username" name="username" autocomplete="username">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password">
<p><button type="submit">Sign in</button></p></form>`,
  );
}

export function verifyPage(error?: string): string {
  const note = error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : '';
  return page(
    'Two-step verification',
    `${note}<p>Enter the 6-digit code from your authenticator app.</p><form method="post" action="/login/verify">
<label for="code">Verification code</label><input id="code" name="code" inputmode="numeric" autocomplete="one-time-code">
<p><button type="submit">Verify</button></p></form>`,
  );
}

export function homePage(user: string): string {
  return page('Provider home', `<p>Signed in as ${escapeHtml(user)}.</p>`, { nav: true });
}

/** The PA request form. v2 is the redesign: other labels, another button name. */
export function requestFormPage(layout: Layout, error?: string): string {
  const l =
    layout === 'v1'
      ? {
          family: 'Patient last name',
          given: 'Patient first name',
          dob: 'Date of birth',
          member: 'Member ID',
          services: 'Service codes (CPT/HCPCS)',
          diagnoses: 'Diagnosis codes (ICD-10)',
          npi: 'Ordering provider NPI',
          urgency: 'Urgency',
          reference: 'Your reference',
          attachment: 'Clinical documentation',
          submit: 'Submit request',
        }
      : {
          family: 'Surname',
          given: 'Given name',
          dob: 'Birth date',
          member: 'Subscriber number',
          services: 'Procedures',
          diagnoses: 'Diagnoses',
          npi: 'Requesting clinician NPI',
          urgency: 'Review type',
          reference: 'Office reference',
          attachment: 'Supporting documents',
          submit: 'Send for review',
        };
  const note = error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : '';
  const field = (id: string, label: string, type = 'text') =>
    `<label for="${id}">${escapeHtml(label)}</label><input id="${id}" name="${id}" type="${type}">`;
  return page(
    'New prior authorization request',
    `${note}<form method="post" action="/pa/new" enctype="multipart/form-data">
${field('family', l.family)}${field('given', l.given)}${field('dob', l.dob, 'date')}${field('member', l.member)}
${field('services', l.services)}${field('diagnoses', l.diagnoses)}${field('npi', l.npi)}
<label for="urgency">${escapeHtml(l.urgency)}</label><select id="urgency" name="urgency"><option value="standard">Standard</option><option value="expedited">Expedited</option></select>
${field('reference', l.reference)}
<label for="attachment">${escapeHtml(l.attachment)}</label><input id="attachment" name="attachment" type="file">
<p><button type="submit">${escapeHtml(l.submit)}</button></p></form>`,
    { nav: true },
  );
}

export function confirmationPage(confirmation: string, reference: string, documentsRequested = ''): string {
  // The documents the payer asks for are in the list with the number (a page held after it still shows them).
  const asked = documentsRequested
    ? `<dd id="documents-requested">${escapeHtml(documentsRequested)}</dd>`
    : '<dd>No additional documents needed</dd>';
  return page(
    'Request received',
    `<p role="status">Your request was received and is pended for ${documentsRequested ? 'additional documentation' : 'clinical review'}.</p>
<dl><dt>Confirmation number</dt><dd id="confirmation-number">${escapeHtml(confirmation)}</dd>
<dt>Your reference</dt><dd>${escapeHtml(reference)}</dd><dt>Documents requested</dt>${asked}</dl>`,
    { nav: true },
  );
}

export interface StatusRow {
  readonly confirmation: string;
  readonly reference: string;
  readonly status: string;
  readonly reason: string;
  readonly authorization: string;
  /** The documents the payer asks for before it decides. */
  readonly documents?: string;
}

export function statusPage(query: string, rows: readonly StatusRow[] | undefined): string {
  const results =
    rows === undefined
      ? ''
      : rows.length === 0
        ? '<p role="status">No requests found.</p>'
        : `<table aria-label="Requests"><thead><tr><th>Confirmation number</th><th>Your reference</th><th>Status</th><th>Reason</th><th>Authorization number</th><th>Documents requested</th><th>Request</th></tr></thead><tbody>${rows
            .map(
              (r) =>
                `<tr><td>${escapeHtml(r.confirmation)}</td><td>${escapeHtml(r.reference)}</td><td>${escapeHtml(r.status)}</td><td>${escapeHtml(r.reason)}</td><td>${escapeHtml(r.authorization)}</td><td>${escapeHtml(r.documents ?? '')}</td><td><a href="/pa/request/${encodeURIComponent(r.confirmation)}">Open request</a></td></tr>`,
            )
            .join('')}</tbody></table>`;
  return page(
    'Request status',
    `<form method="get" action="/pa/status"><label for="q">Confirmation number or your reference</label><input id="q" name="q" value="${escapeHtml(query)}">
<p><button type="submit">Search</button></p></form>${results}`,
    { nav: true },
  );
}
