-- The key store (encryption at rest): master keys by scope; the material sealed (AES-GCM,
-- cachefleet.secrets) and never in any other table.
CREATE TABLE master_keys (
    region      TEXT NOT NULL,
    account     TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    alias       TEXT NOT NULL,
    description TEXT NOT NULL,
    state       TEXT NOT NULL,
    created     TEXT NOT NULL,
    sealed      BLOB NOT NULL,
    PRIMARY KEY (region, account, key_id)
);
CREATE UNIQUE INDEX master_keys_by_alias ON master_keys (region, account, alias);
