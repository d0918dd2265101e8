"""State changes: each do_* owns its transaction, the operator call, the cache correction, the audit event and the work enqueued on commit."""
