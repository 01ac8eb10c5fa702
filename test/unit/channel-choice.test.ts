/** Channel fallback decisions (pure): which candidate takes a case, and which failures allow trying the next. */
import { describe, expect, it } from 'vitest';
import {
  type ChannelCandidate,
  chooseChannel,
  describeUnavailable,
  fallbackReason,
  isLasting,
} from '../../src/workflow/channel-choice.ts';
import { channelSecrets } from '../../src/workflow/channel-secrets.ts';

const candidate = (channel: 'x12' | 'portal' | 'pas'): ChannelCandidate => ({
  channel,
  payer: { id: 'p', settings: {} },
  checkEligibility: channel === 'x12',
  secrets: [],
});
const both = [candidate('x12'), candidate('portal')];

describe('chooseChannel', () => {
  it('takes the most preferred channel not ruled out', () => {
    expect(chooseChannel(both, [])?.channel).toBe('x12');
    expect(chooseChannel(both, [{ channel: 'x12', reason: 'circuit_open' }])?.channel).toBe('portal');
    expect(
      chooseChannel(both, [
        { channel: 'x12', reason: 'circuit_open' },
        { channel: 'portal', reason: 'portal_down' },
      ]),
    ).toBeUndefined();
  });

  it('a pinned channel (it may hold the request) wins whatever is ruled out', () => {
    expect(chooseChannel(both, [{ channel: 'portal', reason: 'portal_down' }], 'portal')?.channel).toBe(
      'portal',
    );
  });
});

describe('fallbackReason: only failures after which the payer cannot hold the request', () => {
  it.each([
    [{ code: 'PAGW_VAULT_SECRET_MISSING' }, 'not_configured'],
    [{ code: 'PAGW_X12_CIRCUIT_OPEN' }, 'circuit_open'],
    [{ code: 'PAGW_X12_TRANSPORT_UNAVAILABLE', outcomeUnknown: false }, 'unreachable'],
    [{ code: 'PAGW_PORTAL_DOWN' }, 'portal_down'],
    [{ code: 'PAGW_PAYER_USE_ANOTHER_CHANNEL' }, 'use_another_channel'],
    [{ code: 'PAGW_X12_TRANSPORT_UNAVAILABLE', outcomeUnknown: true }, undefined],
    [{ code: 'PAGW_X12_TRANSPORT_TIMEOUT', outcomeUnknown: true }, undefined],
    [{ code: 'PAGW_PORTAL_SUBMISSION_UNCONFIRMED' }, undefined],
    [{ code: 'PAGW_PORTAL_PAGE_CHANGED' }, undefined],
    [{ code: 'PAGW_X12_REJECTED_999' }, undefined],
  ])('%o → %s', (error, reason) => {
    expect(fallbackReason(error)).toBe(reason);
  });
});

describe('isLasting and describeUnavailable', () => {
  it('waiting helps a circuit or a portal; not a missing secret or a payer that wants another channel', () => {
    expect(isLasting([{ channel: 'portal', reason: 'not_configured' }])).toBe(true);
    expect(
      isLasting([
        { channel: 'x12', reason: 'circuit_open' },
        { channel: 'portal', reason: 'not_configured' },
      ]),
    ).toBe(false);
    expect(
      describeUnavailable([{ channel: 'portal', reason: 'not_configured', detail: 'vault:portal/x' }]),
    ).toBe('portal: not configured (vault:portal/x)');
  });
});

describe('channelSecrets', () => {
  it('a credentialsRef is a folder of username and password; a totpRef one seed', () => {
    expect(
      channelSecrets({
        type: 'portal',
        url: 'https://p.test',
        credentialsRef: 'vault:portal/acme',
        totpRef: 'vault:portal/acme/totp',
      }).map((s) => s.name),
    ).toEqual(['portal/acme/username', 'portal/acme/password', 'portal/acme/totp']);
    expect(
      channelSecrets({ type: 'pas', baseUrl: 'https://p.test/fhir', credentialsRef: 'vault:pas/acme' }).map(
        (s) => s.name,
      ),
    ).toEqual(['pas/acme']);
    expect(
      channelSecrets({
        type: 'pas',
        baseUrl: 'https://p.test/fhir',
        credentialsRef: 'vault:pas/acme',
        privateKeyRef: 'file:/etc/pagw/acme.pem',
      }),
    ).toEqual([]);
    expect(
      channelSecrets({
        type: 'x12',
        clearinghouse: { name: 'sim', endpoint: 'http://x.test/core' },
        interchange: { receiverId: 'R1' },
      }),
    ).toEqual([]);
  });
});
