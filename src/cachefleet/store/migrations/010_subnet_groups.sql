-- User cache subnet groups (the default group is built in, never stored): the group as JSON
-- (description, subnet ids, creation time).
CREATE TABLE subnet_groups (
    region  TEXT NOT NULL,
    account TEXT NOT NULL,
    name    TEXT NOT NULL,
    body    TEXT NOT NULL,
    PRIMARY KEY (region, account, name)
);
