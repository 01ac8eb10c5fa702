/**
 * The one engine that runs any recipe flow on a page: goto, fill (a canonical field or a secret), click, totp,
 * select, upload (the clinical summary, or in the upload flow the documents being sent: in-memory files), waitFor,
 * extract, screenshot. The cancel flow ends at its status extract before the submitting click when the request already
 * shows cancelled (so a retried withdrawal never withdraws twice). Elements are found by role, label and text (Playwright locators,
 * auto-waiting, no sleeps). While a step waits for its element it also watches the recipe's failure signs, so a
 * refused login or an expired session is reported as itself at once, not as a timeout; an element that never
 * shows is PAGW_PORTAL_PAGE_CHANGED naming the step, with a screenshot of the page kept as evidence.
 *
 * Values are typed, never logged: the log names flow, step and action. Fields filled from a secret or a TOTP code
 * (and the recipe's `masks`) are masked in every screenshot.
 */
import type { Locator, Page } from 'playwright-core';
import type { ErrorCode } from '../../src/errors/index.ts';
import type { Logger } from '../../src/log/logger.ts';
import { PortalError, type StepRef } from './errors.ts';
import type { Attachment } from './fields.ts';
import type { PortalRecipe, Step, Target } from './recipes.ts';

export type FlowName = keyof PortalRecipe['flows'];
export type Extracted = Partial<Record<NonNullable<Step['into']>, string>>;
type FailureKind = NonNullable<PortalRecipe['failures']>[number]['failure'];

export interface FlowRun {
  readonly recipe: PortalRecipe;
  readonly baseUrl: string;
  /** Canonical field values and placeholders (traceNumber, confirmationNumber). */
  readonly values: Readonly<Record<string, string>>;
  readonly attachment?: Attachment;
  /** The documents an upload flow sets (`from: {field: documents}`), from memory. */
  readonly documents?: readonly Attachment[];
  secret(name: 'username' | 'password'): Promise<string>;
  totp(): Promise<string>;
  /** Called just before the submitting click: the attempt is recorded (committed) there. */
  beforeSubmit?(): Promise<void>;
  /** Keeps a screenshot as evidence; returns its id. */
  keep(shot: {
    flow: FlowName;
    step?: number;
    name: string;
    masked: string[];
    image: Buffer;
  }): Promise<number>;
  readonly logger?: Logger;
  readonly log?: Record<string, unknown>;
}

/** State of one browser session across flows (login, then submit …). */
export interface Session {
  readonly extracted: Extracted;
  /** Targets hidden in screenshots: credential fields typed so far plus the recipe's masks. */
  readonly masks: Target[];
  /** The submitting click happened: from here the payer may hold the request. */
  submitted: boolean;
  /**
   * The upload flow found every document already at the portal, or the cancel flow found the request already
   * cancelled (an earlier run whose answer was never seen): it ended before the submitting click, nothing was sent
   * again.
   */
  alreadyHeld?: boolean;
  /** Status of the last main-frame document (5xx: portal down; 429: rate limited). */
  documentStatus?: number;
}

const failureCodes: Record<FailureKind, ErrorCode> = {
  login_refused: 'PAGW_PORTAL_LOGIN_REFUSED',
  totp_refused: 'PAGW_PORTAL_2FA_REFUSED',
  session_expired: 'PAGW_PORTAL_SESSION_EXPIRED',
  portal_down: 'PAGW_PORTAL_DOWN',
  rate_limited: 'PAGW_PORTAL_RATE_LIMITED',
  use_another_channel: 'PAGW_PAYER_USE_ANOTHER_CHANNEL',
  rejected: 'PAGW_PORTAL_FORM_REFUSED',
  form_refused: 'PAGW_PORTAL_FORM_REFUSED',
};

/** A failure sign the page showed; `kind` keeps the recipe's word (rejected ≠ form_refused for the connector). */
export class PortalSignError extends PortalError {
  readonly kind: FailureKind;
  readonly pageText: string;
  constructor(
    kind: FailureKind,
    message: string,
    pageText: string,
    options: ConstructorParameters<typeof PortalError>[2],
  ) {
    super(failureCodes[kind], message, options);
    this.kind = kind;
    this.pageText = pageText;
  }
}

export function describeTarget(t: Target): string {
  if (t.role) return `${t.role}${t.name ? ` "${t.name}"` : ''}`;
  if (t.label) return `field "${t.label}"`;
  if (t.text) return `text "${t.text}"`;
  if (t.cell) return `column "${t.cell.column}" of table "${t.cell.table}"`;
  return `element ${t.css}`;
}

function describeStep(step: Step): string {
  const what = step.target
    ? ` ${describeTarget(step.target)}`
    : step.path
      ? ` ${step.path.replace(/\?.*$/, '')}`
      : '';
  return `${step.action}${what}${step.note ? ` — ${step.note}` : ''}`;
}

type AriaRole = Parameters<Page['getByRole']>[0];

export function locate(page: Page, t: Target): Locator {
  if (t.role) return page.getByRole(t.role as AriaRole, t.name ? { name: t.name, exact: true } : {});
  if (t.label) return page.getByLabel(t.label, { exact: true });
  if (t.text) return page.getByText(t.text);
  if (t.cell) return page.getByRole('table', { name: t.cell.table, exact: true });
  return page.locator(t.css!);
}

function fillTemplate(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(values[name] ?? ''));
}

/** Attaches document-status tracking to a page (call once per page). */
export function watchDocuments(page: Page, session: Session): void {
  page.on('response', (response) => {
    if (response.request().isNavigationRequest() && response.frame() === page.mainFrame())
      session.documentStatus = response.status();
  });
}

export async function runFlow(page: Page, flow: FlowName, run: FlowRun, session: Session): Promise<void> {
  const { recipe } = run;
  const timeout = recipe.stepTimeoutMs ?? 15_000;
  const signs = (recipe.failures ?? []).map((f) => ({ kind: f.failure, target: f.when }));
  const steps = recipe.flows[flow];
  if (!steps)
    throw new PortalError('PAGW_PORTAL_UNSUPPORTED', `The portal recipe ${recipe.id} has no ${flow} flow`);

  async function screenshot(name: string, step?: number): Promise<number> {
    const masks = [...(recipe.masks ?? []), ...session.masks];
    const image = await page.screenshot({
      fullPage: true,
      mask: masks.map((m) => locate(page, m)),
      maskColor: '#222222',
      timeout,
    });
    return run.keep({
      flow,
      ...(step !== undefined ? { step } : {}),
      name,
      masked: masks.map(describeTarget),
      image,
    });
  }

  async function failAt(ref: StepRef, code: ErrorCode, message: string, cause?: unknown): Promise<never> {
    const evidenceId = await screenshot(`failure-${ref.step}`, ref.step).catch(() => undefined);
    throw new PortalError(code, message, {
      step: ref,
      ...(evidenceId !== undefined ? { evidenceId } : {}),
      cause,
    });
  }

  /** Throws the typed failure a visible sign (or the document status) stands for; returns when there is none. */
  async function checkSigns(ref: StepRef): Promise<void> {
    for (const sign of signs) {
      const found = locate(page, sign.target).first();
      if (await found.isVisible().catch(() => false)) {
        const text = (await found.innerText().catch(() => '')).slice(0, 300);
        const evidenceId = await screenshot(`failure-${ref.step}`, ref.step).catch(() => undefined);
        throw new PortalSignError(sign.kind, `The portal says: ${sign.kind.replace(/_/g, ' ')}`, text, {
          step: ref,
          ...(evidenceId !== undefined ? { evidenceId } : {}),
        });
      }
    }
    const status = session.documentStatus ?? 200;
    if (status >= 500) await failAt(ref, 'PAGW_PORTAL_DOWN', `The portal answered HTTP ${status}`);
    if (status === 429) await failAt(ref, 'PAGW_PORTAL_RATE_LIMITED', 'The portal answered HTTP 429');
  }

  /** Waits until the target (or `alternative`, or a failure sign) shows; 'alternative' when that showed instead. */
  async function waitFor(
    ref: StepRef,
    target: Target,
    alternative?: Target,
  ): Promise<Locator | 'alternative'> {
    const wanted = locate(page, target);
    let any = wanted;
    const other = alternative ? locate(page, alternative) : undefined;
    if (other) any = any.or(other);
    for (const sign of signs) any = any.or(locate(page, sign.target));
    try {
      await any.first().waitFor({ state: 'visible', timeout });
    } catch (error) {
      await checkSigns(ref);
      return failAt(ref, 'PAGW_PORTAL_PAGE_CHANGED', `${describeTarget(target)} is not on the page`, error);
    }
    await checkSigns(ref);
    if (
      other &&
      (await other
        .first()
        .isVisible()
        .catch(() => false)) &&
      !(await wanted
        .first()
        .isVisible()
        .catch(() => false))
    )
      return 'alternative';
    if (!target.cell) return wanted.first();
    // A table cell: find the column by its header, then the row.
    const headers = (await wanted.locator('thead th').allInnerTexts()).map((h) => h.trim());
    const column = headers.indexOf(target.cell.column);
    if (column < 0)
      return failAt(ref, 'PAGW_PORTAL_PAGE_CHANGED', `the table has no column "${target.cell.column}"`);
    return wanted
      .locator('tbody tr')
      .nth((target.cell.row ?? 1) - 1)
      .locator('td')
      .nth(column);
  }

  async function sourceValue(step: Step): Promise<string> {
    const from = step.from!;
    if (from.secret) return run.secret(from.secret);
    if (from.value !== undefined) return from.value;
    const value = run.values[from.field!] ?? '';
    const options = recipe.selectOptions?.[from.field!];
    return step.action === 'select' && options ? (options[value] ?? value) : value;
  }

  for (const [index, step] of steps.entries()) {
    const ref: StepRef = { recipe: recipe.id, flow, step: index + 1, description: describeStep(step) };
    run.logger?.debug({ ...run.log, flow, step: ref.step, action: step.action }, 'portal step');
    try {
      switch (step.action) {
        case 'goto': {
          const url = new URL(
            fillTemplate(step.path!, { ...run.values, ...session.extracted }),
            run.baseUrl,
          ).toString();
          let response: Awaited<ReturnType<Page['goto']>>;
          try {
            response = await page.goto(url, { waitUntil: 'domcontentloaded', timeout });
          } catch (error) {
            return await failAt(ref, 'PAGW_PORTAL_DOWN', 'The portal cannot be reached', error);
          }
          session.documentStatus = response?.status() ?? session.documentStatus;
          await checkSigns(ref);
          break;
        }
        case 'fill':
        case 'totp': {
          const field = (await waitFor(ref, step.target!)) as Locator;
          const value = step.action === 'totp' ? await run.totp() : await sourceValue(step);
          if (step.action === 'totp' || step.from?.secret) session.masks.push(step.target!);
          await field.fill(value, { timeout });
          break;
        }
        case 'select': {
          const field = (await waitFor(ref, step.target!)) as Locator;
          await field.selectOption({ label: await sourceValue(step) }, { timeout });
          break;
        }
        case 'upload': {
          const field = (await waitFor(ref, step.target!)) as Locator;
          const documents = step.from?.field === 'documents';
          // Documents the request already holds (an earlier run whose receipt was never seen) are not sent again.
          const held = documents ? (session.extracted.documentsReceived ?? '') : '';
          const files = documents
            ? (run.documents ?? []).filter((f) => !held.includes(f.name))
            : run.attachment
              ? [run.attachment]
              : [];
          if (files.length === 0 && documents && (run.documents?.length ?? 0) > 0) {
            session.alreadyHeld = true;
            return; // every one is at the portal already: nothing to submit
          }
          if (files.length === 0)
            return await failAt(ref, 'PAGW_PORTAL_FORM_REFUSED', 'There is nothing to upload');
          // In-memory buffers: the bytes never touch the disk.
          await field.setInputFiles(
            files.map((f) => ({ name: f.name, mimeType: f.mimeType, buffer: f.buffer })),
            { timeout },
          );
          break;
        }
        case 'click': {
          const button = (await waitFor(ref, step.target!)) as Locator;
          if (step.submits) {
            await run.beforeSubmit?.();
            session.submitted = true;
          }
          await button.click({ timeout });
          await page.waitForLoadState('domcontentloaded', { timeout }).catch(() => {});
          break;
        }
        case 'waitFor':
          await waitFor(ref, step.target!);
          break;
        case 'extract': {
          const found = await waitFor(ref, step.target!, step.absentWhen);
          if (found === 'alternative') break; // the page says there is none: the value stays unset
          const text = (await found.innerText({ timeout })).trim();
          if (text === '' && step.optional) break;
          if (step.pattern !== undefined) {
            const match = new RegExp(step.pattern).exec(text);
            if (!match)
              return await failAt(
                ref,
                'PAGW_PORTAL_PAGE_CHANGED',
                `the ${step.into} shown does not look as expected`,
              );
            session.extracted[step.into!] = match[1] ?? match[0];
          } else {
            session.extracted[step.into!] = text;
          }
          // A withdrawal retried after an answer never seen: the request already shows cancelled, nothing is sent.
          if (
            flow === 'cancel' &&
            step.into === 'status' &&
            !session.submitted &&
            recipe.statusMap[session.extracted.status ?? ''] === 'cancelled'
          ) {
            session.alreadyHeld = true;
            return;
          }
          break;
        }
        case 'screenshot':
          await screenshot(step.name!, ref.step);
          break;
      }
    } catch (error) {
      if (error instanceof PortalError) throw error;
      // Playwright gave up on an element we had already found (detached, covered), or the browser died.
      const closed =
        page.isClosed() ||
        /Target (page|closed)|Browser (closed|has been closed)|crash/i.test(
          String((error as Error)?.message),
        );
      if (closed) {
        throw new PortalError('PAGW_PORTAL_BROWSER_UNAVAILABLE', 'The browser went away during the run', {
          step: ref,
          cause: error,
        });
      }
      await failAt(ref, 'PAGW_PORTAL_PAGE_CHANGED', 'the page did not behave as the recipe expects', error);
    }
  }
}
