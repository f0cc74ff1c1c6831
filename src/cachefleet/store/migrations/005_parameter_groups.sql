-- User cache parameter groups (the families' default groups are built in, never stored): the
-- group as JSON (family, description, every value, which ones the user set).
CREATE TABLE parameter_groups (
    region  TEXT NOT NULL,
    account TEXT NOT NULL,
    name    TEXT NOT NULL,
    body    TEXT NOT NULL,
    PRIMARY KEY (region, account, name)
);
