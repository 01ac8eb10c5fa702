/** Times in the viewer's own time zone, durations and numbers, the same way on every page. */
export const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateTimeSeconds = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

export function when(value, { seconds = false } = {}) {
  if (!value) return '—';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return (seconds ? dateTimeSeconds : dateTime).format(date);
}

/** Today as YYYY-MM-DD in the viewer's zone. */
export function today() {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(new Date());
}

export function addDays(day, days) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

export function hours(value) {
  return value === null || value === undefined ? '—' : `${value} h`;
}

export function pct(value) {
  return value === null || value === undefined ? '—' : `${value} %`;
}

export function shortId(id) {
  return id ? id.slice(0, 8) : '—';
}

export function label(code) {
  return code ? String(code).replace(/_/g, ' ') : '—';
}
