"""Per-client sessions: the registry, the store interface with its memory and Redis stores, the codec and the sync."""
