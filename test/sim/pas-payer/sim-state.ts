/**
 * What one running simulated PAS payer holds and what its handlers share: every request it got (PasReceived, the
 * /_sim/received hook), the notifications it sent, the reviews it took in by Claim identifier, the subscriptions,
 * the SMART clients and tokens, the transport-level bookkeeping (RATE, DROP, PENDNOTIFY timers). Their own module so
 * server.ts and the handlers (smart-auth.ts, claims.ts, subscriptions.ts, changes.ts) share them without importing
 * one another.
 */
import type { JSONWebKeySet } from 'jose';
import type { PasBehaviour } from './behaviours.ts';
import type { ReadClaim } from './fhir.ts';

export interface PasReceived {
  readonly seq: number;
  readonly at: string;
  readonly kind: 'token' | 'submit' | 'update' | 'inquire' | 'attachment' | 'subscription' | 'other';
  readonly key?: string;
  readonly memberId?: string;
  /** $submit: the Claim's item codes and the resource types of the Bundle (what the payer was asked for). */
  readonly serviceCodes?: readonly string[];
  readonly resourceTypes?: readonly string[];
  /** A Claim update: the `system|value` key of the Claim it relates to, and its item flags as sent. */
  readonly updates?: string;
  readonly changes?: readonly { sequence: number; change?: string; cancelled: boolean }[];
  /**
   * $submit-attachment: the path it came to, the tracking id, whether the client said it was the last (CDex Final),
   * the kind of document, its size and type, the lines it supports.
   */
  readonly attachment?: {
    path: string;
    trackingId: string;
    final?: boolean;
    reportType?: string;
    contentType?: string;
    bytes: number;
    lineItems: string[];
  };
  /** A $submit the payer took in as a new live submission (repeats of a known identifier are not). */
  readonly accepted: boolean;
  readonly disposition: string;
}

export interface PasNotification {
  readonly at: string;
  readonly subscriptionId: string;
  readonly endpoint: string;
  readonly key: string;
  readonly status: number | 'failed';
}

export interface Review {
  /** Replaced by a Claim update: the payer reviews the changed request afresh. */
  claim: ReadClaim;
  /** Changed by POST /_sim/change-decision: the payer revises a decision it gave. */
  behaviour: PasBehaviour;
  readonly certificationNumber: string;
  readonly administrationReferenceNumber: string;
  state: 'pended' | 'decided' | 'rejected' | 'cancelled';
  inquiries: number;
  /** pend-docs: the tracking control number the documents are asked under, and how many arrived. */
  readonly attachmentControlNumber: string;
  documentsReceived: number;
  /** Claim updates taken in. */
  updates: number;
}

export interface Subscription {
  readonly id: string;
  readonly endpoint: string;
  readonly headers: readonly string[];
  readonly payload: string;
  readonly orgIdentifier?: string;
  events: number;
}

/** The simulator's state; server.ts makes one per running simulator and hands it to the handlers' factories. */
export interface PasSimState {
  readonly slowMs: number;
  readonly notifyAfterMs: number;
  /** Access token lifetime, seconds. */
  readonly ttl: number;
  /** client_id → JWKS of its public keys. */
  readonly clients: Map<string, JSONWebKeySet>;
  readonly tokens: Map<string, { clientId: string; expiresAt: number }>;
  readonly seenJti: Set<string>;
  /** The reviews the payer took in, by Claim identifier key `system|value`. */
  readonly reviews: Map<string, Review>;
  /** A Claim update's identifier → the review it changed (a later update may relate to it). */
  readonly updated: Map<string, Review>;
  readonly subscriptions: Subscription[];
  readonly received: PasReceived[];
  readonly notifications: PasNotification[];
  /** RATE keys already answered 429 once; DROP keys already dropped once. */
  readonly rateLimited: Set<string>;
  readonly dropped: Set<string>;
  /** PENDNOTIFY decisions waiting, cleared on stop. */
  readonly timers: Set<NodeJS.Timeout>;
  /** This server's token URL (a client assertion's audience): known once it listens. */
  tokenUrl: string;
  record(entry: Omit<PasReceived, 'seq' | 'at'>): void;
}
