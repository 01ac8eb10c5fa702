/**
 * X12 code lists the readers translate, as tables (data, not if-chains). Texts follow the ASC X12 code list
 * names; where a list is external (e.g. 886 decision reasons) only the code is kept.
 * Canonical URIs follow https://codesystem.x12.org/005010/<element number>, as the canonical model does.
 */

/**
 * A code table as a frozen null-prototype object: a code read from the wire such as `toString` or `constructor`
 * finds nothing, where a plain object literal would hand back an Object.prototype function (fuzz finding: HCR01
 * `toString` gave a decision whose outcome was a function).
 */
export function codeTable<T>(entries: Record<string, T>): Readonly<Record<string, T>> {
  return Object.freeze(Object.assign(Object.create(null) as Record<string, T>, entries));
}

export const x12CodeSystem = {
  reviewAction: 'https://codesystem.x12.org/005010/306',
  rejectReason: 'https://codesystem.x12.org/005010/901',
  followUpAction: 'https://codesystem.x12.org/005010/889',
  decisionReason: 'https://codesystem.x12.org/external/886',
  serviceType: 'https://codesystem.x12.org/005010/1365',
  segmentSyntaxError: 'https://codesystem.x12.org/005010/620',
  elementSyntaxError: 'https://codesystem.x12.org/005010/621',
  transactionSetSyntaxError: 'https://codesystem.x12.org/005010/718',
  interchangeNote: 'https://codesystem.x12.org/005010/I18',
  reportType: 'https://codesystem.x12.org/005010/755',
} as const;

/** PWK01, element 755: report type codes a payer asks for in a 278 (the common ones; others keep their code). */
export const reportTypeCodes: Readonly<Record<string, string>> = codeTable({
  '03': 'Report justifying treatment beyond utilization guidelines',
  '04': 'Drugs administered',
  '05': 'Treatment diagnosis',
  '06': 'Initial assessment',
  '07': 'Functional goals',
  '08': 'Plan of treatment',
  '09': 'Progress report',
  '10': 'Continued treatment',
  '11': 'Chemical analysis',
  '13': 'Certified test report',
  '15': 'Justification for admission',
  '48': 'Referral form',
  '55': 'Rental agreement',
  '59': 'Benefit letter',
  '77': 'Support data for verification',
  AS: 'Admission summary',
  B2: 'Prescription',
  B3: 'Physician order',
  BR: 'Benchmark testing results',
  CT: 'Certification',
  DA: 'Dental models',
  DG: 'Diagnostic report',
  DS: 'Discharge summary',
  EB: 'Explanation of benefits',
  MT: 'Models',
  NN: 'Nursing notes',
  OB: 'Operative note',
  OC: 'Oxygen content averaging report',
  OD: 'Orders and treatments document',
  OE: 'Objective physical examination',
  OX: 'Oxygen therapy certification',
  OZ: 'Support data for claim',
  P4: 'Pathology report',
  P5: 'Patient medical history document',
  PE: 'Parenteral or enteral certification',
  PN: 'Physical therapy notes',
  PO: 'Prosthetics or orthotic certification',
  PQ: 'Paramedical results',
  PY: "Physician's report",
  PZ: 'Physical therapy certification',
  RB: 'Radiology films',
  RR: 'Radiology reports',
  RT: 'Report of tests and analysis report',
  RX: 'Renewable oxygen content averaging report',
  SG: 'Symptoms document',
  V5: 'Death notification',
  XP: 'Photographs',
});

/** HCR01, element 306: health care services review action. */
export const reviewActionCodes: Readonly<Record<string, string>> = codeTable({
  A1: 'Certified in total',
  A2: 'Certified - partial',
  A3: 'Not certified',
  A4: 'Pended',
  A6: 'Modified',
  C: 'Cancelled',
  CT: 'Contact payer',
  NA: 'No action required',
});

/** AAA03, element 901: reject reason (the codes 270/271 and 278 use). */
export const rejectReasonCodes: Readonly<Record<string, string>> = codeTable({
  '04': 'Authorized quantity exceeded',
  '15': 'Required application data missing',
  '33': 'Input errors',
  '35': 'Out of network',
  '41': 'Authorization/access restrictions',
  '42': 'Unable to respond at current time',
  '43': 'Invalid/missing provider identification',
  '44': 'Invalid/missing provider name',
  '45': 'Invalid/missing provider specialty',
  '46': 'Invalid/missing provider phone number',
  '47': 'Invalid/missing provider state',
  '49': 'Provider is not primary care physician',
  '50': 'Provider ineligible for inquiries',
  '51': 'Provider not on file',
  '52': 'Service dates not within provider plan enrollment',
  '53': 'Inquired benefit inconsistent with provider type',
  '54': 'Inappropriate product/service ID qualifier',
  '55': 'Inappropriate product/service ID',
  '56': 'Inappropriate date',
  '57': 'Invalid/missing date(s) of service',
  '58': 'Invalid/missing date-of-birth',
  '60': 'Date of birth follows date(s) of service',
  '61': 'Date of death precedes date(s) of service',
  '62': 'Date of service not within allowable inquiry period',
  '63': 'Date of service in future',
  '64': 'Invalid/missing patient ID',
  '65': 'Invalid/missing patient name',
  '66': 'Invalid/missing patient gender code',
  '67': 'Patient not found',
  '68': 'Duplicate patient ID number',
  '69': 'Inconsistent with patient’s age',
  '70': 'Inconsistent with patient’s gender',
  '71': 'Patient birth date does not match that for the patient on the database',
  '72': 'Invalid/missing subscriber/insured ID',
  '73': 'Invalid/missing subscriber/insured name',
  '74': 'Invalid/missing subscriber/insured gender code',
  '75': 'Subscriber/insured not found',
  '76': 'Duplicate subscriber/insured ID number',
  '77': 'Subscriber found, patient not found',
  '78': 'Subscriber/insured not in group/plan identified',
  '79': 'Invalid participant identification',
  '80': 'No response received - transaction terminated',
  '97': 'Invalid or missing provider address',
  AA: 'Authorization number not found',
  AE: 'Requires primary care physician authorization',
  AF: 'Invalid/missing diagnosis code(s)',
  AG: 'Invalid/missing procedure code(s)',
  AO: 'Additional patient condition information required',
  CI: 'Certification information does not match patient',
  E8: 'Requires medical review',
  IA: 'Invalid authorization number format',
  MA: 'Missing authorization number',
  T4: 'Payer name or identifier missing',
  T5: 'Certification information missing',
});

/** AAA04, element 889: follow-up action. */
export const followUpActionCodes: Readonly<Record<string, string>> = codeTable({
  C: 'Please correct and resubmit',
  N: 'Resubmission not allowed',
  P: 'Please resubmit original transaction',
  R: 'Resubmission allowed',
  S: 'Do not resubmit; inquiry initiated to a third party',
  W: 'Please wait 30 days and resubmit',
  X: 'Please wait 10 days and resubmit',
  Y: 'Do not resubmit; we will hand deliver/respond',
});

/** EB01, element 1390: eligibility or benefit information. */
export const benefitCodes: Readonly<Record<string, string>> = codeTable({
  '1': 'Active coverage',
  '2': 'Active - full risk capitation',
  '3': 'Active - services capitated',
  '4': 'Active - services capitated to primary care physician',
  '5': 'Active - pending investigation',
  '6': 'Inactive',
  '7': 'Inactive - pending eligibility update',
  '8': 'Inactive - pending investigation',
  A: 'Co-insurance',
  B: 'Co-payment',
  C: 'Deductible',
  CB: 'Coverage basis',
  D: 'Benefit description',
  E: 'Exclusions',
  F: 'Limitations',
  G: 'Out of pocket (stop loss)',
  H: 'Unlimited',
  I: 'Non-covered',
  J: 'Cost containment',
  K: 'Reserve',
  L: 'Primary care provider',
  M: 'Pre-existing condition',
  MC: 'Managed care coordinator',
  N: 'Services restricted to following provider',
  O: 'Not deemed a medical necessity',
  P: 'Benefit disclaimer',
  Q: 'Second surgical opinion required',
  R: 'Other or additional payor',
  S: 'Prior year(s) history',
  T: 'Card(s) reported lost/stolen',
  U: 'Contact following entity for eligibility or benefit information',
  V: 'Cannot process',
  W: 'Other source of data',
  X: 'Health care facility',
  Y: 'Spend down',
});
export const activeBenefitCodes: ReadonlySet<string> = new Set(['1', '2', '3', '4', '5']);
export const inactiveBenefitCodes: ReadonlySet<string> = new Set(['6', '7', '8']);

/** IK304, element 620: implementation segment syntax error. */
export const segmentSyntaxErrors: Readonly<Record<string, string>> = codeTable({
  '1': 'Unrecognized segment ID',
  '2': 'Unexpected segment',
  '3': 'Required segment missing',
  '4': 'Loop occurs over maximum times',
  '5': 'Segment exceeds maximum use',
  '6': 'Segment not in defined transaction set',
  '7': 'Segment not in proper sequence',
  '8': 'Segment has data element errors',
  I4: 'Implementation "not used" segment present',
  I6: 'Implementation dependent segment missing',
  I7: 'Implementation loop occurs under minimum times',
  I8: 'Implementation segment below minimum use',
  I9: 'Implementation dependent "not used" segment present',
});

/** IK403, element 621: implementation data element syntax error. */
export const elementSyntaxErrors: Readonly<Record<string, string>> = codeTable({
  '1': 'Required data element missing',
  '2': 'Conditional required data element missing',
  '3': 'Too many data elements',
  '4': 'Data element too short',
  '5': 'Data element too long',
  '6': 'Invalid character in data element',
  '7': 'Invalid code value',
  '8': 'Invalid date',
  '9': 'Invalid time',
  '10': 'Exclusion condition violated',
  '12': 'Too many repetitions',
  '13': 'Too many components',
  I10: 'Implementation "not used" data element present',
  I11: 'Implementation too few repetitions',
  I12: 'Implementation pattern match failure',
  I13: 'Implementation dependent "not used" data element present',
  I6: 'Code value not used in implementation',
  I9: 'Implementation dependent data element missing',
});

/** IK502…IK506, element 718: transaction set syntax error. */
export const transactionSetSyntaxErrors: Readonly<Record<string, string>> = codeTable({
  '1': 'Transaction set not supported',
  '2': 'Transaction set trailer missing',
  '3': 'Transaction set control number in header and trailer do not match',
  '4': 'Number of included segments does not match actual count',
  '5': 'One or more segments in error',
  '6': 'Missing or invalid transaction set identifier',
  '7': 'Missing or invalid transaction set control number',
  '18': 'Transaction set not in functional group',
  '19': 'Invalid transaction set implementation convention reference',
  '23': 'Transaction set control number not unique within the functional group',
  I5: 'Implementation one or more segments in error',
  I6: 'Implementation convention not supported',
});

/** IK501 / AK901: acknowledgment code. */
export const acknowledgmentCodes: Readonly<Record<string, string>> = codeTable({
  A: 'Accepted',
  E: 'Accepted but errors were noted',
  M: 'Rejected, message authentication code (MAC) failed',
  P: 'Partially accepted, at least one transaction set was rejected',
  R: 'Rejected',
  W: 'Rejected, assurance failed validity tests',
  X: 'Rejected, content after decryption could not be analyzed',
});
export const acceptedAcknowledgmentCodes: ReadonlySet<string> = new Set(['A', 'E']);

/** TA105, element I18: interchange note. */
export const interchangeNoteCodes: Readonly<Record<string, string>> = codeTable({
  '000': 'No error',
  '001': 'The interchange control number in the header and trailer do not match',
  '002': 'This standard as noted in the control standards identifier is not supported',
  '003': 'This version of the controls is not supported',
  '004': 'The segment terminator is invalid',
  '005': 'Invalid interchange ID qualifier for sender',
  '006': 'Invalid interchange sender ID',
  '007': 'Invalid interchange ID qualifier for receiver',
  '008': 'Invalid interchange receiver ID',
  '009': 'Unknown interchange receiver ID',
  '010': 'Invalid authorization information qualifier value',
  '011': 'Invalid authorization information value',
  '012': 'Invalid security information qualifier value',
  '013': 'Invalid security information value',
  '014': 'Invalid interchange date value',
  '015': 'Invalid interchange time value',
  '016': 'Invalid interchange standards identifier value',
  '017': 'Invalid interchange version ID value',
  '018': 'Invalid interchange control number value',
  '019': 'Invalid acknowledgment requested value',
  '020': 'Invalid test indicator value',
  '021': 'Invalid number of included groups value',
  '022': 'Invalid control structure',
  '023': 'Improper (premature) end-of-file (transmission)',
  '024': 'Invalid interchange content (e.g., invalid GS segment)',
  '025': 'Duplicate interchange control number',
  '026': 'Invalid data element separator',
  '027': 'Invalid component element separator',
});

/** Entity identifier qualifiers (NM108) the gateway meets; used to spot an NM1 shifted by one element. */
export const idQualifiers: ReadonlySet<string> = new Set([
  '24',
  '34',
  '46',
  'FI',
  'II',
  'MI',
  'MR',
  'NI',
  'PI',
  'SV',
  'XV',
  'XX',
  'ZZ',
]);
