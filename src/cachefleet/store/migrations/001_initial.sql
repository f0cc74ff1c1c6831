CREATE TABLE groups (
    region   TEXT NOT NULL,
    account  TEXT NOT NULL,
    group_key TEXT NOT NULL,
    spec     TEXT NOT NULL,
    state    TEXT NOT NULL,
    deleting INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (region, account, group_key)
);

CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    region      TEXT NOT NULL,
    account     TEXT NOT NULL,
    source_type TEXT NOT NULL,
    source_id   TEXT NOT NULL,
    message     TEXT NOT NULL,
    date        TEXT NOT NULL
);
CREATE INDEX events_by_date ON events (region, account, date);

CREATE TABLE tags (
    arn   TEXT NOT NULL,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (arn, key)
);
