/** Builds realistic HL7 v2.5.1 ORM^O01 orders for end-to-end tests and the demo (CR segment ends). */
export interface OrmOrderOptions {
  messageId: string;
  memberId: string;
  /** Service code in OBR-4: CPT (system C4) unless `codingSystem` says otherwise. */
  cpt: string;
  /** HL7 table 0396 coding system of OBR-4 (default C4 = CPT; HCPCS for a J code). */
  codingSystem?: string;
  /** Units asked for: a TQ1 segment with TQ1-2 quantity (default: none, i.e. unspecified). */
  quantity?: number;
  cptText?: string;
  payerId?: string;
  payerName?: string;
  placerOrderNumber?: string;
  mrn?: string;
  patient?: { family: string; given: string; birthDate: string; sex: 'F' | 'M' };
  diagnosis?: { code: string; text: string };
  priority?: 'R' | 'S';
  sendingApplication?: string;
  /** ORC-1 order control (default NW, a new order; CA cancels it). */
  orderControl?: string;
}

function segment(name: string, fields: Record<number, string>): string {
  const last = Math.max(...Object.keys(fields).map(Number));
  return [name, ...Array.from({ length: last }, (_, i) => fields[i + 1] ?? '')].join('|');
}

export function buildOrmOrder(o: OrmOrderOptions): string {
  const placer = o.placerOrderNumber ?? `ORD-${o.messageId}`;
  const patient = o.patient ?? { family: 'TESTPATIENT', given: 'ALEX', birthDate: '19800412', sex: 'F' };
  const provider = '1234567893^WELBY^MARCUS^^^^^^^^^^NPI';
  return [
    `MSH|^~\\&|${o.sendingApplication ?? 'EPIC'}|GOODHEALTH|PAGW|PAGW|20261123101500||ORM^O01^ORM_O01|${o.messageId}|P|2.5.1`,
    segment('PID', {
      1: '1',
      3: `${o.mrn ?? 'MRN-100234'}^^^GOODHEALTH^MR`,
      5: `${patient.family}^${patient.given}`,
      7: patient.birthDate,
      8: patient.sex,
    }),
    segment('IN1', {
      1: '1',
      2: 'GOLD-PPO',
      3: o.payerId ?? '87726',
      4: o.payerName ?? 'Example Health Plan',
      8: 'GRP-77',
      17: 'SEL',
      36: o.memberId,
    }),
    segment('ORC', {
      1: o.orderControl ?? 'NW',
      2: placer,
      7: `^^^20261201^^${o.priority ?? 'R'}`,
      9: '20261123101500',
      12: provider,
    }),
    ...(o.quantity === undefined ? [] : [segment('TQ1', { 1: '1', 2: `${o.quantity}^UN` })]),
    segment('OBR', {
      1: '1',
      2: placer,
      4: `${o.cpt}^${o.cptText ?? 'Procedure'}^${o.codingSystem ?? 'C4'}`,
      16: provider,
    }),
    segment('DG1', {
      1: '1',
      3: `${o.diagnosis?.code ?? 'G43.909'}^${o.diagnosis?.text ?? 'Migraine, unspecified'}^I10`,
    }),
  ].join('\r');
}
