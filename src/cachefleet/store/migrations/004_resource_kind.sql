-- A group's spec names its resource kind instead of a standalone flag.
UPDATE groups
SET spec = json_set(
    json_remove(spec, '$.standalone'),
    '$.kind',
    CASE WHEN json_extract(spec, '$.standalone') THEN 'cache-cluster' ELSE 'replication-group' END
);
