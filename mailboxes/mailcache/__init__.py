"""The metadata cache: sync with the operator, indexing, search, page queries, the body cache, live changes and the IDLE watcher."""
