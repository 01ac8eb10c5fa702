/**
 * HL7 v2 timestamps (DTM/TS: YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]) and FHIR dates → canonical
 * Date (YYYY[-MM[-DD]]) and DateTime (a time always carries its offset). A local time with no offset gets the
 * sender profile's time zone; without one it keeps only its date, never a guessed offset.
 * @see HL7 v2.5 section 2.A.22 (DTM)
 */

const hl7Timestamp =
  /^(\d{4})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d{1,4}))?)?)?)?)?)?([+-]\d{4})?$/;

export interface DateParts {
  year: number;
  month?: number;
  day?: number;
  hour?: number;
  minute?: number;
  second?: number;
  fraction?: string;
  /** Offset in minutes east of UTC, when the value carries one. */
  offset?: number;
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Parses an HL7 DTM; undefined when it is not one (a data type error for the caller to report). */
export function parseHl7Timestamp(text: string): DateParts | undefined {
  const m = hl7Timestamp.exec(text.trim());
  if (!m) return undefined;
  const parts: DateParts = { year: Number(m[1]) };
  if (m[2] !== undefined) {
    parts.month = Number(m[2]);
    if (parts.month < 1 || parts.month > 12) return undefined;
  }
  if (m[3] !== undefined) {
    parts.day = Number(m[3]);
    if (parts.day < 1 || parts.day > daysIn(parts.year, parts.month!)) return undefined;
  }
  if (m[4] !== undefined) {
    parts.hour = Number(m[4]);
    if (parts.hour > 23) return undefined;
  }
  if (m[5] !== undefined) {
    parts.minute = Number(m[5]);
    if (parts.minute > 59) return undefined;
  }
  if (m[6] !== undefined) {
    parts.second = Number(m[6]);
    if (parts.second > 60) return undefined;
  }
  if (m[7] !== undefined) parts.fraction = m[7];
  if (m[8] !== undefined) {
    const sign = m[8][0] === '-' ? -1 : 1;
    const hours = Number(m[8].slice(1, 3));
    const minutes = Number(m[8].slice(3, 5));
    if (hours > 14 || minutes > 59 || (hours === 14 && minutes > 0)) return undefined;
    parts.offset = sign * (hours * 60 + minutes);
  }
  return parts;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

export function formatDate(parts: DateParts): string {
  let text = pad(parts.year, 4);
  if (parts.month !== undefined) text += `-${pad(parts.month)}`;
  if (parts.month !== undefined && parts.day !== undefined) text += `-${pad(parts.day)}`;
  return text;
}

function formatOffset(minutes: number): string {
  if (minutes === 0) return 'Z';
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Offset (minutes east of UTC) of an IANA zone at a UTC instant. Throws RangeError for an unknown zone. */
export function zoneOffsetAt(timeZone: string, utcMillis: number): number {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, format);
  }
  const fields: Record<string, number> = {};
  for (const part of format.formatToParts(new Date(utcMillis))) {
    if (part.type !== 'literal') fields[part.type] = Number(part.value);
  }
  const asUtc = Date.UTC(
    fields.year!,
    fields.month! - 1,
    fields.day!,
    fields.hour!,
    fields.minute!,
    fields.second!,
  );
  return Math.round((asUtc - Math.floor(utcMillis / 1000) * 1000) / 60000);
}

/**
 * A canonical DateTime: the date alone when there is no time; with a time, the time and its offset (from the
 * value, else from `timeZone`), or the date alone when neither gives an offset.
 */
export function formatDateTime(parts: DateParts, timeZone?: string): string {
  const date = formatDate(parts);
  if (parts.hour === undefined || parts.day === undefined) return date;
  let offset = parts.offset;
  if (offset === undefined) {
    if (!timeZone) return date;
    const wall = Date.UTC(
      parts.year,
      parts.month! - 1,
      parts.day,
      parts.hour,
      parts.minute ?? 0,
      parts.second ?? 0,
    );
    const first = zoneOffsetAt(timeZone, wall);
    const second = zoneOffsetAt(timeZone, wall - first * 60000);
    offset = second;
  }
  let time = `${pad(parts.hour)}:${pad(parts.minute ?? 0)}`;
  if (parts.second !== undefined) {
    time += `:${pad(parts.second)}`;
    if (parts.fraction !== undefined) time += `.${parts.fraction}`;
  }
  return `${date}T${time}${formatOffset(offset)}`;
}

const fhirDate = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/;

/** The date part of a FHIR date/dateTime/instant (`2019-05-08T09:33:27+07:00` → `2019-05-08`). */
export function fhirDatePart(text: string): string | undefined {
  const m = fhirDate.exec(text.trim());
  if (!m) return undefined;
  const parts: DateParts = { year: Number(m[1]) };
  if (m[2] !== undefined) parts.month = Number(m[2]);
  if (m[3] !== undefined) parts.day = Number(m[3]);
  if (parts.month !== undefined && (parts.month < 1 || parts.month > 12)) return undefined;
  if (parts.day !== undefined && (parts.day < 1 || parts.day > daysIn(parts.year, parts.month!)))
    return undefined;
  return formatDate(parts);
}
