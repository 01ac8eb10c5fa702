-- Inbound messages: a fingerprint of the normalized content, so the same id (MSH-10, FHIR id + versionId)
-- on a DIFFERENT message is told apart from a redelivery and refused instead of swallowed as a duplicate.
ALTER TABLE inbound_messages ADD COLUMN fingerprint text;
