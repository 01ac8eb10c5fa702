-- The vault (src/vault): secrets per tenant under envelope encryption, and the tenant data keys that seal PHI at
-- rest. Values never appear in clear: each secret version has its own data key, wrapped (AES-256-GCM) by the
-- master key named in master_key_id, which lives outside the database. Plain SQL, valid on PostgreSQL 15+ and PGlite.

-- One row per secret version. The ciphertext's associated data is (tenant, name, version), the wrapped key's too:
-- a row copied to another name, version or tenant does not open.
CREATE TABLE vault_secrets (
  tenant_id     text        NOT NULL,
  name          text        NOT NULL,
  version       integer     NOT NULL CHECK (version >= 1),
  -- value: read by connectors; totp: an RFC 6238 seed that only yields codes, never itself.
  kind          text        NOT NULL CHECK (kind IN ('value', 'totp')),
  master_key_id text        NOT NULL,
  wrapped_key   bytea       NOT NULL,
  ciphertext    bytea       NOT NULL,
  created_at    timestamptz NOT NULL,
  created_by    text        NOT NULL,
  rewrapped_at  timestamptz,
  PRIMARY KEY (tenant_id, name, version)
);

-- Tenant data keys for PHI at rest (inbound message bytes, payer payloads, portal evidence): a sealed value
-- names the key version that sealed it, so a newer key can be added without re-encrypting old rows.
CREATE TABLE vault_data_keys (
  tenant_id     text        NOT NULL,
  version       integer     NOT NULL CHECK (version >= 1),
  master_key_id text        NOT NULL,
  wrapped_key   bytea       NOT NULL,
  created_at    timestamptz NOT NULL,
  rewrapped_at  timestamptz,
  PRIMARY KEY (tenant_id, version)
);
