-- An operation may wait for its group's maintenance window (ApplyImmediately false).
ALTER TABLE operations ADD COLUMN not_before TEXT;
