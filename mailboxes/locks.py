"""The per-mailbox sync lock: its name and the Redis it lives in.

The sync takes it (mailboxes.actions.syncing) and renews it every third of
WEBMAIL_SYNC_LOCK_SECONDS while it runs; a sync state is "running" only while it is held
(SyncState.running), so a worker killed mid-sync shows as stopped once its lock lapses.
Here, below the models, so that the models may ask without importing the sync.
"""

from __future__ import annotations

import functools

import redis
from django.conf import settings
from redis.exceptions import RedisError


@functools.cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=5)


def client() -> redis.Redis:
    """LOCKS_REDIS_URL: the broker's Redis when the broker is Redis (kept with the tasks,
    never evicted like a cache), else REDIS_URL."""
    return _client(settings.LOCKS_REDIS_URL)


SYNC_PREFIX = "webmail:lock:sync:"


def sync_key(mailbox_id: int) -> str:
    return f"{SYNC_PREFIX}{mailbox_id}"


def sync_held(mailbox_id: int) -> bool:
    """Some process syncs this mailbox now (holds and renews its lock). Unknown (Redis
    unreachable) counts as no: a page then shows the last result, never a frozen progress."""
    try:
        return bool(client().exists(sync_key(mailbox_id)))
    except RedisError:
        return False
