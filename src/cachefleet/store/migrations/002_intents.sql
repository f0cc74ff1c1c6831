CREATE TABLE intents (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    region    TEXT NOT NULL,
    account   TEXT NOT NULL,
    group_key TEXT NOT NULL,
    body      TEXT NOT NULL,
    created   TEXT NOT NULL,
    done      TEXT
);
CREATE INDEX intents_pending ON intents (region, account, group_key, done);
