/**
 * The demo's Da Vinci PAS part: a simulated PAS payer (its own process) for Insurer Example, reached with SMART
 * Backend Services (a client key made for the demo, its public half registered at the payer), and an EHR that posts
 * the PAS IG's own request Bundles to the gateway's Claim/$submit and reads the PAS response Bundles.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Bundle, Claim, ClaimResponse, Coverage } from '@medplum/fhirtypes';
import { createPasClientKeys, PAS_CLIENT_ID, pasChannelFor } from '../../test/helpers/pas.ts';
import { type PasSimProcess, startPasSimProcess } from '../../test/sim/pas-payer/process.ts';

const repoRoot = path.join(import.meta.dirname, '..', '..');
const PAS = 'http://hl7.org/fhir/us/davinci-pas/StructureDefinition';

/** The shipped payers/, with Insurer Example's PAS channel pointed at the simulated PAS payer. */
export async function pasDemoPayers(dir: string): Promise<{ sim: PasSimProcess; payersDir: string }> {
  const keys = await createPasClientKeys('RS384', dir);
  const sim = await startPasSimProcess({ slowMs: 300 });
  await sim.registerClient(PAS_CLIENT_ID, keys.jwks);
  const payersDir = path.join(dir, 'payers');
  mkdirSync(payersDir, { recursive: true });
  for (const file of readdirSync(path.join(repoRoot, 'payers')).filter((f) => f.endsWith('.json'))) {
    const payer = JSON.parse(readFileSync(path.join(repoRoot, 'payers', file), 'utf8'));
    if (payer.id === 'insurer-example-pas')
      payer.channels = [pasChannelFor(sim, keys, { subscriptions: true })];
    writeFileSync(path.join(payersDir, file), JSON.stringify(payer, null, 2));
  }
  return { sim, payersDir };
}

function corpus(file: string): Bundle {
  return JSON.parse(readFileSync(path.join(repoRoot, 'test', 'fixtures', 'pas', file), 'utf8')) as Bundle;
}

function describeAnswer(bundle: Bundle): string {
  const cr = bundle.entry?.[0]?.resource as ClaimResponse | undefined;
  if (cr?.resourceType !== 'ClaimResponse') return JSON.stringify(bundle).slice(0, 120);
  const review = cr.item?.[0]?.adjudication[0]?.extension?.find(
    (e) => e.url === `${PAS}/extension-reviewAction`,
  );
  const code = review?.extension?.find((e) => e.url === `${PAS}/extension-reviewActionCode`)
    ?.valueCodeableConcept?.coding?.[0]?.code;
  const number = review?.extension?.find((e) => e.url === 'number')?.valueString;
  return `outcome ${cr.outcome}, review action ${code ?? '—'}${number ? `, authorization ${number}` : ''}`;
}

export async function runPasEhr(options: {
  gatewayUrl: string;
  token: string;
  say: (line: string) => void;
}): Promise<void> {
  const denied = corpus('Bundle-ReferralAuthorizationBundleExample.json');
  (denied.entry![0]!.resource as Claim).identifier = [{ system: 'urn:demo:ehr:claim', value: 'DEMO-DENY-1' }];
  (denied.entry!.find((e) => e.resource?.resourceType === 'Coverage')!.resource as Coverage).subscriberId =
    'DENY7001';
  const requests: [string, Bundle][] = [
    ['Referral (IG example)', corpus('Bundle-ReferralAuthorizationBundleExample.json')],
    ['Surgical, institutional (IG example)', corpus('Bundle-SurgicalRequestBundleExample.json')],
    ['Referral, member the payer denies', denied],
    ['Inquiry sent to $submit by mistake', corpus('Bundle-PASClaimInquiryBundleExample.json')],
  ];
  for (const [label, bundle] of requests) {
    const started = Date.now();
    const res = await fetch(`${options.gatewayUrl}/fhir/Claim/$submit`, {
      method: 'POST',
      headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify(bundle),
    });
    const body = (await res.json()) as Bundle & { issue?: { details?: { text?: string } }[] };
    const answer = res.ok
      ? describeAnswer(body)
      : `OperationOutcome: ${body.issue?.[0]?.details?.text ?? ''}`;
    options.say(`${label.padEnd(36)} → HTTP ${res.status} in ${Date.now() - started} ms: ${answer}`);
  }
  const metadata = await fetch(`${options.gatewayUrl}/fhir/metadata`, {
    headers: { authorization: `Bearer ${options.token}` },
  });
  options.say(
    `GET /fhir/metadata → ${metadata.status} (CapabilityStatement: Claim/$submit, Claim/$inquire, Subscription)`,
  );
}
