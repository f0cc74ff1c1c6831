-- Operations replace one-shot intents: a kind, its params and typed progress, attempts and
-- times, so multi-step work resumes after a restart. Existing intents (all TestFailover) move
-- over with their ids, pending ones as pending operations.
CREATE TABLE operations (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    region    TEXT NOT NULL,
    account   TEXT NOT NULL,
    group_key TEXT NOT NULL,
    kind      TEXT NOT NULL,
    params    TEXT NOT NULL,
    progress  TEXT NOT NULL,
    status    TEXT NOT NULL,
    attempts  INTEGER NOT NULL DEFAULT 0,
    error     TEXT NOT NULL DEFAULT '',
    requested TEXT NOT NULL,
    updated   TEXT NOT NULL,
    retry_at  TEXT
);
CREATE INDEX operations_by_group ON operations (region, account, group_key, status);
CREATE INDEX operations_by_time ON operations (region, account, kind, requested);

INSERT INTO operations (id, region, account, group_key, kind, params, progress, status,
                        requested, updated)
SELECT id, region, account, group_key, 'test-failover',
       json_object('from_primary', json_extract(body, '$.from_primary'),
                   'shard_id', json_extract(body, '$.shard_id')),
       '{}',
       CASE WHEN done IS NULL THEN 'pending' ELSE 'done' END,
       created, COALESCE(done, created)
FROM intents;

DROP TABLE intents;
