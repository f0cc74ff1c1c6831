-- A group's AUTH tokens, sealed (AES-GCM, cachefleet.secrets); never in the groups table.
CREATE TABLE auth_tokens (
    region    TEXT NOT NULL,
    account   TEXT NOT NULL,
    group_key TEXT NOT NULL,
    sealed    BLOB NOT NULL,
    PRIMARY KEY (region, account, group_key)
);
