/**
 * bench/e2e's load: HTTP orders, either a burst (N orders, C in flight at a time: a closed loop, as a sender
 * with C connections would send) or a steady rate (an open loop: orders leave on schedule whether or not
 * earlier ones were answered, so a gateway that falls behind shows it in its latency).
 */
import http from 'node:http';

export interface SentOrder {
  readonly index: number;
  readonly messageId: string;
  /** Milliseconds since the epoch. */
  readonly sentAt: number;
  respondedAt: number;
  status: number;
  caseId?: string;
  /** 503 answers (back-pressure) before this one, each followed by its Retry-After wait. */
  busy: number;
}

export interface Target {
  readonly url: string;
  readonly path: string;
  readonly token?: string;
  readonly contentType: string;
}

export function makeAgent(maxSockets: number): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets });
}

function post(
  target: Target,
  agent: http.Agent,
  body: string,
): Promise<{ status: number; body: string; retryAfterS?: number }> {
  const url = new URL(target.path, target.url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': target.contentType,
          'content-length': Buffer.byteLength(body),
          ...(target.token ? { authorization: `Bearer ${target.token}` } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const retryAfter = Number(res.headers['retry-after']);
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            ...(Number.isFinite(retryAfter) ? { retryAfterS: retryAfter } : {}),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function send(
  target: Target,
  agent: http.Agent,
  index: number,
  order: { messageId: string; body: string },
): Promise<SentOrder> {
  const sent: SentOrder = {
    index,
    messageId: order.messageId,
    sentAt: Date.now(),
    respondedAt: 0,
    status: 0,
    busy: 0,
  };
  try {
    let res = await post(target, agent, order.body);
    // A sender honours back-pressure: 503 with Retry-After means send the same order again after the delay.
    while (res.status === 503 && res.retryAfterS !== undefined && sent.busy < 100) {
      sent.busy++;
      await new Promise((resolve) => setTimeout(resolve, res.retryAfterS! * 1000));
      res = await post(target, agent, order.body);
    }
    sent.status = res.status;
    if (res.status === 201 || res.status === 200) {
      try {
        sent.caseId = (JSON.parse(res.body) as { caseIds?: string[] }).caseIds?.[0];
      } catch {
        // a floor's answer carries no case
      }
    }
  } catch {
    sent.status = -1;
  }
  sent.respondedAt = Date.now();
  return sent;
}

/** N orders, `concurrency` in flight at a time. */
export async function burst(
  target: Target,
  n: number,
  concurrency: number,
  order: (index: number) => { messageId: string; body: string },
): Promise<SentOrder[]> {
  const agent = makeAgent(concurrency);
  const results: SentOrder[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) {
        const index = next++;
        results[index] = await send(target, agent, index, order(index));
      }
    }),
  );
  agent.destroy();
  return results;
}

/** `rate` orders a second for `seconds`, each sent on schedule (open loop). */
export async function steady(
  target: Target,
  rate: number,
  seconds: number,
  order: (index: number) => { messageId: string; body: string },
): Promise<SentOrder[]> {
  const agent = makeAgent(1024);
  const n = Math.round(rate * seconds);
  const start = Date.now();
  const pending: Promise<SentOrder>[] = [];
  for (let index = 0; index < n; index++) {
    const due = start + (index * 1000) / rate;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    pending.push(send(target, agent, index, order(index)));
  }
  const results = await Promise.all(pending);
  agent.destroy();
  return results;
}
