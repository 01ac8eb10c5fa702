import type { TransactionSet } from './reader.ts';

/** Where a parsed transaction came from: envelope control numbers and version, for storage and replies. */
export interface TransactionRef {
  readonly transactionSet: string;
  readonly version: string;
  readonly controlNumber: string;
  readonly groupControlNumber: string;
  readonly interchangeControlNumber: string;
  readonly senderId: string;
  readonly receiverId: string;
}

export function transactionRef(set: TransactionSet): TransactionRef {
  return {
    transactionSet: set.id,
    version: set.version,
    controlNumber: set.controlNumber,
    groupControlNumber: set.group.controlNumber,
    interchangeControlNumber: set.interchange.isa.controlNumber,
    senderId: set.interchange.isa.senderId,
    receiverId: set.interchange.isa.receiverId,
  };
}
