/**
 * What a 278 reads to (read-278.ts): the parties of loops 2000A–2000D (2010A UMO, 2010B requester, 2010C
 * subscriber, 2010D dependent), the review levels 2000E (patient event) and 2000F (service) with their UM, HCR,
 * REF, DTP, HI, HSD, SV1/SV2/SV3, PWK and MSG, and the ServicesReview that holds them. Its own module because
 * the level readers and the decision (authorization-decision.ts) all use these shapes, and none of them should
 * import the 278 reader only for its types.
 *
 * @see ASC X12N 005010X217 Health Care Services Review — Request for Review and Response (278)
 */
import type { Period } from '../../../src/canonical/types.generated.ts';
import type { X12Diagnostic } from '../diagnostics.ts';
import type { Entity, EntityName, RequestRejection } from '../transaction.ts';
import type { TransactionRef } from '../transaction-ref.ts';

export interface ReviewParty {
  readonly loop: string;
  readonly entityCode: string;
  readonly name?: EntityName;
  readonly organizationName?: string;
  readonly idQualifier?: string;
  readonly id?: string;
  readonly taxonomy?: string;
  readonly providerRole?: string;
  readonly birthDate?: string;
  readonly sex?: 'male' | 'female' | 'unknown';
  readonly relationship?: string;
  readonly address?: Entity['address'];
}

export interface ReviewDecisionSegment {
  /** HCR01, element 306. */
  readonly action: string;
  readonly actionText?: string;
  /** HCR02. */
  readonly certificationNumber?: string;
  /** HCR03 (code source 886). */
  readonly reason?: string;
  /** HCR04: second surgical opinion required. */
  readonly secondOpinion?: string;
}

export interface ReviewProcedure {
  readonly segment: 'SV1' | 'SV2' | 'SV3';
  readonly qualifier: string;
  readonly code: string;
  readonly system?: string;
  readonly modifiers: string[];
  readonly revenueCode?: string;
  readonly quantity?: number;
  readonly unit?: string;
}

export interface ReviewLevel {
  readonly loop: '2000E' | '2000F';
  readonly hlId: string;
  readonly traceNumbers: { type: string; number: string; originator?: string }[];
  readonly rejections: RequestRejection[];
  /** UM01 request category (AR admission, HS health services, SC specialty care). */
  readonly requestCategory?: string;
  /** UM02 certification type (I initial, 3 cancel, 4 extension, S revised …). */
  readonly certificationType?: string;
  /** UM03 service type (element 1365). */
  readonly serviceType?: string;
  /** UM04: facility code and its qualifier (B place of service, A bill type). */
  readonly facility?: { code: string; qualifier?: string };
  /** UM06 level of service (03 emergency, E elective, U urgent). */
  readonly levelOfService?: string;
  readonly review?: ReviewDecisionSegment;
  readonly references: { qualifier: string; value: string }[];
  /** REF*BB authorization number. */
  readonly authorizationNumber?: string;
  /** REF*NT administrative reference (pended cases). */
  readonly administrativeReference?: string;
  readonly periods: {
    event?: Period;
    admission?: Period;
    discharge?: Period;
    service?: Period;
    issue?: Period;
    effective?: Period;
    expiration?: Period;
  };
  readonly diagnoses: { qualifier: string; code: string; system: string; principal: boolean }[];
  /** HSD01/HSD02 (VS visits, DY days, UN units …). */
  readonly quantity?: { qualifier: string; value: number };
  readonly procedure?: ReviewProcedure;
  readonly paperwork: { reportType: string; transmission: string; controlNumber?: string }[];
  readonly messages: string[];
  readonly providers: ReviewParty[];
}

export interface ServicesReview {
  readonly kind: '278-request' | '278-response';
  readonly transaction: TransactionRef;
  /** BHT03: the submitter's reference, echoed in the response. */
  readonly reference: string;
  /** BHT04 as an ISO date. */
  readonly date?: string;
  readonly umo?: ReviewParty;
  readonly requester?: ReviewParty;
  readonly subscriber?: ReviewParty;
  readonly dependent?: ReviewParty;
  readonly rejections: RequestRejection[];
  readonly event?: ReviewLevel;
  readonly services: ReviewLevel[];
  /** TRN02 of the patient event: our trace number, echoed with TRN01 2 in a response. */
  readonly traceNumbers: string[];
  readonly diagnostics: X12Diagnostic[];
}
