-- Snapshots (backups): one row per snapshot, its files' sizes and checksums in the body; the
-- RDB files themselves live in the data directory's snapshot store.
CREATE TABLE snapshots (
    region    TEXT NOT NULL,
    account   TEXT NOT NULL,
    name      TEXT NOT NULL,
    source_id TEXT NOT NULL,
    source    TEXT NOT NULL,
    status    TEXT NOT NULL,
    created   TEXT NOT NULL,
    body      TEXT NOT NULL,
    PRIMARY KEY (region, account, name)
);
CREATE INDEX snapshots_by_source ON snapshots (region, account, source_id, created);
