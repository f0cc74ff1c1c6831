-- RBAC users and user groups (the built-in user "default" is never stored): each as JSON. A
-- user's passwords are kept only as SHA-256 digests.
CREATE TABLE users (
    region  TEXT NOT NULL,
    account TEXT NOT NULL,
    user_id TEXT NOT NULL,
    body    TEXT NOT NULL,
    PRIMARY KEY (region, account, user_id)
);

CREATE TABLE user_groups (
    region        TEXT NOT NULL,
    account       TEXT NOT NULL,
    user_group_id TEXT NOT NULL,
    body          TEXT NOT NULL,
    PRIMARY KEY (region, account, user_group_id)
);
