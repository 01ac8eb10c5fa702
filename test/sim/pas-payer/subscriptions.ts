/**
 * Subscriptions at the simulated PAS payer (R4 backport, rest-hook, the PAS topic): POST /fhir/Subscription taken in
 * (filter orgIdentifier, payload, channel headers), and the notification each matching subscriber gets when a review
 * is decided or its decision changed. `decide` ends a pended review, notifying for a PENDNOTIFY one. Split from
 * server.ts.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { notificationBundle, operationOutcome, responseBundle } from './fhir.ts';
import { readBody, send } from './http.ts';
import { answerOf } from './review-answers.ts';
import type { PasSimState, Review, Subscription } from './sim-state.ts';

export function createSubscriptions(sim: PasSimState) {
  const { subscriptions, notifications, record } = sim;

  async function notify(review: Review): Promise<void> {
    const response = responseBundle(review.claim, answerOf(review));
    for (const s of subscriptions) {
      if (s.orgIdentifier && review.claim.orgIdentifier && s.orgIdentifier !== review.claim.orgIdentifier)
        continue;
      s.events++;
      const headers: Record<string, string> = { 'content-type': 'application/fhir+json' };
      for (const h of s.headers) {
        const colon = h.indexOf(':');
        if (colon > 0) headers[h.slice(0, colon).trim()] = h.slice(colon + 1).trim();
      }
      let status: number | 'failed';
      try {
        const res = await fetch(s.endpoint, {
          method: 'POST',
          headers,
          body: JSON.stringify(notificationBundle(s, s.events, response)),
        });
        status = res.status;
      } catch {
        status = 'failed';
      }
      notifications.push({
        at: new Date().toISOString(),
        subscriptionId: s.id,
        endpoint: s.endpoint,
        key: review.claim.key,
        status,
      });
    }
  }

  function decide(review: Review): void {
    if (review.state !== 'pended') return;
    review.state = 'decided';
    if (review.behaviour === 'pend-notify') void notify(review);
  }

  async function subscribe(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = JSON.parse(await readBody(req));
    if (
      body?.resourceType !== 'Subscription' ||
      body.channel?.type !== 'rest-hook' ||
      !body.channel?.endpoint
    ) {
      record({ kind: 'subscription', accepted: false, disposition: 'refused' });
      return send(
        res,
        400,
        operationOutcome([
          {
            code: 'invalid',
            text: 'a rest-hook Subscription is required',
            expression: 'Subscription.channel',
          },
        ]),
      );
    }
    const filter: string =
      (body._criteria?.extension ?? []).find((e: { url: string }) =>
        e.url.endsWith('backport-filter-criteria'),
      )?.valueString ?? '';
    const subscription: Subscription = {
      id: randomUUID(),
      endpoint: body.channel.endpoint,
      headers: body.channel.header ?? [],
      payload:
        (body.channel._payload?.extension ?? []).find((e: { url: string }) =>
          e.url.endsWith('backport-payload-content'),
        )?.valueCode ?? 'id-only',
      ...(filter.startsWith('orgIdentifier=')
        ? { orgIdentifier: filter.slice('orgIdentifier='.length) }
        : {}),
      events: 0,
    };
    subscriptions.push(subscription);
    record({ kind: 'subscription', accepted: true, disposition: 'active' });
    send(
      res,
      201,
      { ...body, id: subscription.id, status: 'active' },
      { location: `Subscription/${subscription.id}` },
    );
  }

  return { notify, decide, subscribe };
}
