export * from './errors.ts';
export { loadMasterKeyRing, type MasterKeyRing, masterKeyId, masterKeyRingOf } from './master-key.ts';
export { describeVault, openVault } from './open.ts';
export { isSealed, type PhiCipher, type PhiUse } from './phi.ts';
export * from './port.ts';
export { vaultRouter } from './routes.ts';
export { createVault, type SecretKind, type SecretMetadata, type Vault } from './vault.ts';
