-- Engine-log delivery: where each node's log file was read up to (the file's identity, the
-- offset after the last complete line read, and the file's modification time then).
CREATE TABLE engine_log_cursors (
    region   TEXT NOT NULL,
    account  TEXT NOT NULL,
    node_id  TEXT NOT NULL,
    file_id  TEXT NOT NULL,
    offset   INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    PRIMARY KEY (region, account, node_id)
);

-- Records read from the nodes and not delivered yet, in the order they were read; written in
-- the same transaction as the cursor that moved past them, removed once their destination
-- took them.
CREATE TABLE log_outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    region       TEXT NOT NULL,
    account      TEXT NOT NULL,
    group_key    TEXT NOT NULL,
    log_type     TEXT NOT NULL,
    node_id      TEXT NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    record       TEXT NOT NULL
);
CREATE INDEX log_outbox_delivery ON log_outbox (region, account, group_key, log_type, id);

-- The size each local log stream had after its last delivery was recorded: a stream found
-- longer holds a batch written just before a kill, whose records are still in the outbox.
CREATE TABLE log_stream_sizes (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL
);
