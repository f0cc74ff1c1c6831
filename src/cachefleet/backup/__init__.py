"""The snapshot store: where snapshot files live, and the file work on them (copies, deletes,
checksums). Knows files, not the store, the loop or the service layer."""
