-- Observability: the topic registry and event notifications as persisted delivery work.
CREATE TABLE topics (
    arn         TEXT PRIMARY KEY,
    subscribers TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE notifications (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    region       TEXT NOT NULL,
    account      TEXT NOT NULL,
    topic_arn    TEXT NOT NULL,
    name         TEXT NOT NULL,
    source_type  TEXT NOT NULL,
    source_id    TEXT NOT NULL,
    message      TEXT NOT NULL,
    message_id   TEXT NOT NULL,
    event_date   TEXT NOT NULL,
    status       TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      TEXT NOT NULL,
    error        TEXT NOT NULL DEFAULT '',
    delivered_to TEXT NOT NULL DEFAULT '[]',
    delivered_at TEXT
);
CREATE INDEX notifications_due ON notifications (status, next_at);

-- Slow-log delivery: the last entry delivered from each node, per run of its process.
CREATE TABLE log_cursors (
    region  TEXT NOT NULL,
    account TEXT NOT NULL,
    node_id TEXT NOT NULL,
    run_id  TEXT NOT NULL,
    last_id INTEGER,
    PRIMARY KEY (region, account, node_id)
);
