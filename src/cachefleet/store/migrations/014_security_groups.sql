-- Security groups by id (the built-in default group is stored only once edited): the group as
-- JSON (name, description, inbound rules, creation time).
CREATE TABLE security_groups (
    region   TEXT NOT NULL,
    account  TEXT NOT NULL,
    group_id TEXT NOT NULL,
    body     TEXT NOT NULL,
    PRIMARY KEY (region, account, group_id)
);
