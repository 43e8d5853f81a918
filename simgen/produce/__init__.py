"""Production: runs, shards, worker processes, backends, the physics helper."""
