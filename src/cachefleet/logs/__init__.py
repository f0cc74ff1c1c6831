"""Log delivery: the shipper that reads every node's slow log and appends ElastiCache's records
to the cache's local log group (`files`). Reaches only the model, the store and the settings;
the nodes through the read it is given."""
