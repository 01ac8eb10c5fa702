/**
 * Resolving a pharmacist's `criteria_unknown` task from the exceptions page: per unknown criterion, whether the
 * evidence shows it met or not met and where that evidence is (a reference: DocumentReference/…, Observation/…),
 * sent as `evidence`; or an override with the pharmacist's reason, sent as `note` (the audit trail keeps it).
 */
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorNote, html } from '../ui.js';

function useSubmit(action, onDone, sentence) {
  const [state, setState] = useState({ busy: false, error: null, open: false });
  async function submit(event, extra) {
    event?.preventDefault();
    setState((s) => ({ ...s, busy: true, error: null }));
    try {
      await api(action.href, { method: action.method ?? 'POST', body: { ...(action.body ?? {}), ...extra } });
      setState({ busy: false, error: null, open: false });
      onDone();
    } catch (error) {
      setState((s) => ({ ...s, busy: false, error: sentence(error) }));
    }
  }
  return { state, setState, submit };
}

export function EvidenceAction({ action, onDone, sentence }) {
  const { state, setState, submit } = useSubmit(action, onDone, sentence);
  const [answers, setAnswers] = useState({});
  const set = (id, key, value) => setAnswers((a) => ({ ...a, [id]: { ...a[id], [key]: value } }));
  if (!state.open)
    return html`<button type="button" onClick=${() => setState((s) => ({ ...s, open: true }))}>${action.title}</button>`;
  const evidence = () =>
    action.criteria.map((c) => {
      const a = answers[c.criterionId] ?? {};
      return {
        criterionId: c.criterionId,
        status: a.status ?? 'met',
        source: (a.source ?? '').trim(),
        ...(a.date ? { date: a.date } : {}),
      };
    });
  return html`<form class="correction evidence-form" onSubmit=${(e) => submit(e, { evidence: evidence() })}>
    ${action.criteria.map(
      (c) => html`<fieldset key=${c.criterionId}>
        <legend>${c.evidence}</legend>
        ${c.why && html`<small>The record did not say: ${c.why}</small>`}
        <label>Status of ${c.criterionId}
          <select name=${`${c.criterionId}.status`}
            onChange=${(e) => set(c.criterionId, 'status', e.currentTarget.value)}>
            <option value="met">met</option><option value="not_met">not met</option>
          </select></label>
        <label>Evidence for ${c.criterionId} (where it is)
          <input name=${`${c.criterionId}.source`} autocomplete="off" required placeholder="DocumentReference/…"
            onInput=${(e) => set(c.criterionId, 'source', e.currentTarget.value)} /></label>
        <label>Date of ${c.criterionId} evidence (optional)
          <input type="date" name=${`${c.criterionId}.date`}
            onInput=${(e) => set(c.criterionId, 'date', e.currentTarget.value)} /></label>
      </fieldset>`,
    )}
    <button type="submit" disabled=${state.busy}>Record the evidence</button>
    <button type="button" onClick=${() => setState({ busy: false, error: null, open: false })}>Cancel</button>
    <${ErrorNote} error=${state.error} />
  </form>`;
}

export function NoteAction({ action, onDone, sentence }) {
  const { state, setState, submit } = useSubmit(action, onDone, sentence);
  const [note, setNote] = useState('');
  if (!state.open)
    return html`<button type="button" onClick=${() => setState((s) => ({ ...s, open: true }))}>${action.title}</button>`;
  return html`<form class="correction" onSubmit=${(e) => submit(e, { note })}>
    <label>${action.note.label}
      <textarea name="note" required maxlength="500" rows="3"
        onInput=${(e) => setNote(e.currentTarget.value)}></textarea></label>
    <button type="submit" disabled=${state.busy}>Sign off with criteria unknown</button>
    <button type="button" onClick=${() => setState({ busy: false, error: null, open: false })}>Cancel</button>
    <${ErrorNote} error=${state.error} />
  </form>`;
}
