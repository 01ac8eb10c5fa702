/**
 * The payer directory: every file in payers/ satisfies schemas/payer.json, senders' ways of naming a payer
 * resolve to it, and broken files (literal secrets, clashing aliases, bad ranges) are refused with every problem named.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultPayersDir, loadPayerDirectory } from '../../connectors/payer-directory.ts';
import {
  channelsFor,
  createPayerDirectory,
  type PayerFile,
  x12Channel,
} from '../../src/workflow/rules/index.ts';

const directory = loadPayerDirectory();
const files = readdirSync(defaultPayersDir).filter((f) => f.endsWith('.json'));
const minimal = (overrides: Record<string, unknown> = {}) => ({
  id: 'test-payer',
  name: 'Test Payer',
  identifiers: { x12PayerId: 'TP001' },
  channels: [{ type: 'portal', url: 'https://portal.test', credentialsRef: 'vault:portal/test' }],
  ruleVersions: [
    {
      version: '1',
      effective: { start: '2020-01-01' },
      sla: { standardHours: 168, expeditedHours: 72 },
      defaults: { paRequired: false, reviewPolicy: 'none' },
      rules: [],
    },
  ],
  ...overrides,
});

const pasChannel = {
  type: 'pas',
  baseUrl: 'https://payer.test/fhir',
  tokenUrl: 'https://payer.test/oauth/token',
  credentialsRef: 'vault:pas/test',
};

describe('payer directory', () => {
  it('loads every payer file in payers/', () => {
    expect(directory.payers.map((p) => `${p.id}.json`).sort()).toEqual(files.sort());
  });

  it('keeps secrets out of payer files: every credential is a vault reference', () => {
    for (const file of files) {
      const text = readFileSync(path.join(defaultPayersDir, file), 'utf8');
      expect(text).not.toMatch(/"(password|secret|token|apiKey)"\s*:/i);
      for (const match of text.matchAll(/"(credentialsRef|totpRef)"\s*:\s*"([^"]*)"/g))
        expect(match[2]).toMatch(/^vault:/);
    }
  });

  it.each([
    [{ payerId: '87726' }, 'example-health-plan'],
    [{ payerId: 'EHP' }, 'example-health-plan'],
    [{ payerId: ' example health plan ' }, 'example-health-plan'],
    [{ payerId: 'Org-12345', payerIdSystem: 'urn:oid:2.16.840.1.113883.1.1' }, 'bcbs-texas'],
    [{ payerId: 'Org-12345' }, 'bcbs-texas'],
    [{ payerId: 'G84980' }, 'bcbs-texas'],
    [{ payerId: '70670' }, 'bcbs-texas'],
    [{ payerId: 'LHC' }, 'lansing-health-care'],
    [{ payerId: '789312' }, 'maryland-capital'],
    [{ payerId: 'Organization/InsurerExample' }, 'insurer-example-pas'],
  ])('resolves %j to %s', (coverage, id) => {
    expect(directory.resolve(coverage).id).toBe(id);
  });

  it.each([
    [{ bin: '610014', pcn: 'ZZZGROUP' }, 'example-pbm'],
    [{ bin: '610014', pcn: 'zzzgroup' }, 'example-pbm'],
  ])('routes a pharmacy-benefit coverage by BIN/PCN %j to %s', (pharmacyBenefit, id) => {
    // The payerId a pharmacy sends is the BIN itself: no alias names it, BIN/PCN alone routes it.
    expect(directory.resolve({ payerId: pharmacyBenefit.bin, pharmacyBenefit }).id).toBe(id);
  });

  it('routes by the exact BIN + PCN before a BIN-only entry, and falls back to payerId', () => {
    const pbm = (id: string, entries: { bin: string; pcn?: string }[]) =>
      minimal({ id, identifiers: { aliases: [{ value: id.toUpperCase() }], pharmacyBenefit: entries } });
    const two = createPayerDirectory([
      { source: 'bin-only.json', document: pbm('bin-only', [{ bin: '123456' }]) },
      { source: 'exact.json', document: pbm('exact', [{ bin: '123456', pcn: 'ABC' }]) },
    ]);
    expect(two.find({ payerId: 'x', pharmacyBenefit: { bin: '123456', pcn: 'ABC' } })?.id).toBe('exact');
    expect(two.find({ payerId: 'x', pharmacyBenefit: { bin: '123456', pcn: 'OTHER' } })?.id).toBe('bin-only');
    expect(two.find({ payerId: 'x', pharmacyBenefit: { bin: '123456' } })?.id).toBe('bin-only');
    expect(two.find({ payerId: 'EXACT', pharmacyBenefit: { bin: '999999' } })?.id).toBe('exact');
    expect(() => two.resolve({ payerId: 'x', pharmacyBenefit: { bin: '999999' } })).toThrowError(
      expect.objectContaining({
        code: 'PAGW_PAYER_UNKNOWN',
        problems: expect.arrayContaining([
          expect.objectContaining({ location: '$.coverage.pharmacyBenefit' }),
        ]),
      }),
    );
  });

  it('refuses two payers claiming the same BIN/PCN', () => {
    const claim = (id: string) =>
      minimal({ id, identifiers: { pharmacyBenefit: [{ bin: '123456', pcn: 'ABC' }] } });
    expect(() =>
      createPayerDirectory([
        { source: 'a-payer.json', document: claim('a-payer') },
        { source: 'b-payer.json', document: claim('b-payer') },
      ]),
    ).toThrowError(/BIN 123456 PCN ABC is also claimed by a-payer/);
  });

  it('does not match an alias written under another assigning authority', () => {
    expect(directory.find({ payerId: 'Org-12345', payerIdSystem: 'urn:oid:1.2.3' })).toBeUndefined();
  });

  it('refuses an unknown payer with PAGW_PAYER_UNKNOWN', () => {
    expect(() => directory.resolve({ payerId: 'NOPE' })).toThrowError(
      expect.objectContaining({ code: 'PAGW_PAYER_UNKNOWN' }),
    );
  });

  it('orders channels by preference and knows which can answer eligibility', () => {
    const ehp = directory.byId('example-health-plan')!;
    expect(channelsFor(ehp).map((c) => c.type)).toEqual(['x12', 'pas']);
    expect(channelsFor(ehp, 'eligibility').map((c) => c.type)).toEqual(['x12']);
    expect(channelsFor(directory.byId('maryland-capital')!, 'eligibility')).toEqual([]);
    expect(channelsFor(directory.byId('lansing-health-care')!, 'eligibility')).toEqual([]);
  });

  it('fills schema defaults (interchange usage and qualifier, retry) when loading', () => {
    const bcbs = x12Channel(directory.byId('bcbs-texas')!)!;
    expect(bcbs.interchange).toEqual({ receiverId: 'PAGWSIMCH', receiverQualifier: 'ZZ', usage: 'T' });
    expect(bcbs.clearinghouse.processingMode).toBe('RealTime');
  });

  it('points a clearinghouse connection at another endpoint by name', () => {
    const moved = loadPayerDirectory(defaultPayersDir, {
      clearinghouseEndpoints: { 'pagw-sim': 'http://127.0.0.1:5999/core' },
    });
    expect(x12Channel(moved.byId('example-health-plan')!)?.clearinghouse.endpoint).toBe(
      'http://127.0.0.1:5999/core',
    );
  });

  it.each([
    [
      'a literal password',
      minimal({
        channels: [
          { type: 'portal', url: 'https://p.test', credentialsRef: 'vault:p/t', password: 'hunter2' },
        ],
      }),
      /channels\[0\]/,
    ],
    [
      'a credential that is not a vault reference',
      minimal({ channels: [{ type: 'portal', url: 'https://p.test', credentialsRef: 'hunter2' }] }),
      /credentialsRef/,
    ],
    [
      'a code match with neither code nor range',
      minimal({
        ruleVersions: [
          {
            ...minimal().ruleVersions[0],
            rules: [{ id: 'r', codes: [{ system: 'CPT' }], paRequired: true }],
          },
        ],
      }),
      /needs `code`/,
    ],
    [
      'a backwards range',
      minimal({
        ruleVersions: [
          {
            ...minimal().ruleVersions[0],
            rules: [{ id: 'r', codes: [{ system: 'CPT', from: '70559', to: '70540' }], paRequired: true }],
          },
        ],
      }),
      /same length, `from` first/,
    ],
    ['no rule versions', minimal({ ruleVersions: [] }), /ruleVersions/],
    [
      'a PAS attachment endpoint that is not a URL',
      minimal({ channels: [{ ...pasChannel, attachmentUrl: 'not a url' }] }),
      /attachmentUrl/,
    ],
  ])('refuses a payer file with %s (PAGW_PAYER_FILE_INVALID)', (_name, document, problem) => {
    let thrown: unknown;
    try {
      createPayerDirectory([{ source: 'test-payer.json', document }]);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: 'PAGW_PAYER_FILE_INVALID' });
    expect(
      (thrown as { problems: { location: string; message: string }[] }).problems
        .map((p) => `${p.location} ${p.message}`)
        .join('\n'),
    ).toMatch(problem);
  });

  it("takes a PAS channel's own $submit-attachment endpoint (attachmentUrl), optional", () => {
    const attachmentUrl = 'https://cdex.payer.test/r4/$submit-attachment';
    const loaded = createPayerDirectory([
      { source: 'test-payer.json', document: minimal({ channels: [{ ...pasChannel, attachmentUrl }] }) },
    ]).byId('test-payer')!;
    expect(channelsFor(loaded)[0]).toMatchObject({ type: 'pas', attachmentUrl });
    const without = createPayerDirectory([
      { source: 'test-payer.json', document: minimal({ channels: [pasChannel] }) },
    ]).byId('test-payer')!;
    expect(channelsFor(without)[0]).not.toHaveProperty('attachmentUrl');
  });

  it('refuses two payers claiming the same identifier', () => {
    const a = minimal();
    const b = minimal({ id: 'other-payer', identifiers: { aliases: [{ value: 'tp001' }] } });
    expect(() =>
      createPayerDirectory([
        { source: 'test-payer.json', document: a },
        { source: 'other-payer.json', document: b },
      ]),
    ).toThrowError(
      expect.objectContaining({
        code: 'PAGW_PAYER_FILE_INVALID',
        message: expect.stringContaining('also claimed'),
      }),
    );
  });

  it('does not change the documents it is given', () => {
    const document = minimal() as unknown as PayerFile;
    const before = JSON.stringify(document);
    createPayerDirectory([{ source: 'test-payer.json', document }]);
    expect(JSON.stringify(document)).toBe(before);
  });
});
