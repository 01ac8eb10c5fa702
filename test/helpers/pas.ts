/**
 * Test wiring for Da Vinci PAS: a client key pair (PKCS#8 PEM on disk, public JWKS for the payer), the simulated
 * PAS payer as its own process with the key registered, and the PAS example payer pointed at it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exportJWK, exportPKCS8, generateKeyPair, type JSONWebKeySet } from 'jose';
import { loadPayerDirectory } from '../../connectors/payer-directory.ts';
import type { PasChannel, PayerFile } from '../../src/workflow/rules/types.generated.ts';
import { type PasSimProcess, startPasSimProcess } from '../sim/pas-payer/process.ts';

export const PAS_CLIENT_ID = 'pagw-test-client';
export const PAS_PAYER_ID = 'insurer-example-pas';

export interface PasClientKeys {
  /** `file:<path>` of the PKCS#8 private key. */
  readonly keyRef: string;
  readonly keyPath: string;
  readonly jwks: JSONWebKeySet;
  readonly keyId: string;
}

export async function createPasClientKeys(
  alg: 'RS384' | 'ES384' = 'RS384',
  dir?: string,
): Promise<PasClientKeys> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const folder = dir ?? mkdtempSync(path.join(tmpdir(), 'pagw-pas-key-'));
  const keyPath = path.join(folder, `pas-client-${alg}.pem`);
  writeFileSync(keyPath, await exportPKCS8(privateKey), { mode: 0o600 });
  const keyId = `pagw-${alg.toLowerCase()}`;
  const jwk = { ...(await exportJWK(publicKey)), kid: keyId, alg, use: 'sig' };
  return { keyRef: `file:${keyPath}`, keyPath, jwks: { keys: [jwk] }, keyId };
}

/** The PAS channel of the example payer pointed at the simulator, with test-sized retries and follow-up. */
export function pasChannelFor(
  sim: PasSimProcess,
  keys: PasClientKeys,
  overrides: Partial<PasChannel> = {},
): PasChannel {
  return {
    type: 'pas',
    baseUrl: sim.fhirBase,
    tokenUrl: sim.tokenUrl,
    credentialsRef: 'vault:pas/insurer-example',
    clientId: PAS_CLIENT_ID,
    privateKeyRef: keys.keyRef,
    signingAlgorithm: keys.jwks.keys[0]!.alg as 'RS384' | 'ES384',
    keyId: keys.keyId,
    timeoutMs: 5000,
    retry: { maxAttempts: 3, initialBackoffMs: 5, maxBackoffMs: 20 },
    followUp: { inquiryIntervalMinutes: 1, maxInquiries: 5 },
    ...overrides,
  };
}

export function pasPayerFor(channel: PasChannel): PayerFile {
  const payer = loadPayerDirectory(undefined, {}).byId(PAS_PAYER_ID)!;
  return { ...payer, channels: [channel] };
}

/** The simulator as its own process, with the client's public key registered. */
export async function startPasSimWithClient(
  keys: PasClientKeys,
  options: Parameters<typeof startPasSimProcess>[0] = {},
): Promise<PasSimProcess> {
  const sim = await startPasSimProcess(options);
  await sim.registerClient(PAS_CLIENT_ID, keys.jwks);
  return sim;
}

/** Writes a payers/ directory holding the given payer files (for a gateway under test). */
export function writePayersDir(payers: readonly PayerFile[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pagw-payers-'));
  for (const p of payers) writeFileSync(path.join(dir, `${p.id}.json`), JSON.stringify(p, null, 2));
  return dir;
}

/**
 * A payers/ directory for a gateway under test: the PAS example payer on the simulated PAS payer, and Example
 * Health Plan on X12 only (the clearinghouse endpoint comes from CLEARINGHOUSE_ENDPOINTS).
 */
export function pasTestPayersDir(channel: PasChannel): string {
  const directory = loadPayerDirectory(undefined, {});
  const x12Only = directory.byId('example-health-plan')!;
  return writePayersDir([
    pasPayerFor(channel),
    { ...x12Only, channels: x12Only.channels.filter((c) => c.type === 'x12') },
  ]);
}

/** A FHIR ServiceRequest order (contained Patient, Coverage, payer, requester) for the PAS example payer. */
export function pasServiceRequestOrder(id: string, memberId: string, cpt = '73721'): string {
  return JSON.stringify({
    resourceType: 'ServiceRequest',
    id,
    meta: { versionId: '1' },
    contained: [
      {
        resourceType: 'Patient',
        id: 'pat1',
        identifier: [
          {
            type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] },
            system: 'urn:oid:1.2.3.4.5',
            value: `MRN-${id}`,
          },
        ],
        name: [{ family: 'Doe', given: ['Joanna'] }],
        gender: 'female',
        birthDate: '1980-04-12',
      },
      {
        resourceType: 'Organization',
        id: 'payer1',
        identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '1234567893' }],
        name: 'Insurer Example',
      },
      {
        resourceType: 'Coverage',
        id: 'cov1',
        status: 'active',
        subscriberId: memberId,
        beneficiary: { reference: '#pat1' },
        relationship: {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/subscriber-relationship', code: 'self' }],
        },
        payor: [{ reference: '#payer1' }],
      },
      {
        resourceType: 'Organization',
        id: 'clinic1',
        identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '1497758544' }],
        name: 'Good Health Clinic',
      },
    ],
    identifier: [{ system: 'urn:oid:1.2.3.4.6', value: `PLAC-${id}` }],
    status: 'active',
    intent: 'order',
    code: {
      coding: [
        { system: 'http://www.ama-assn.org/go/cpt', code: cpt, display: 'MRI joint of lower extremity' },
      ],
    },
    quantityQuantity: { value: 4 },
    subject: { reference: '#pat1' },
    requester: { reference: '#clinic1' },
    reasonCode: [{ coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'M23.91' }] }],
    insurance: [{ reference: '#cov1' }],
  });
}
