"""Django's Redis cache, failing soft: while Redis is away, each process answers from its own memory.

What lives in this cache can be lost or split per process without harm: throttle counts (an outage
makes limits per process for a while) and django-q2's cluster statistics. So a Redis outage costs
no request a 5xx; one WARNING line says it began and one INFO line that it ended (redis_state.py).
"""

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache

from core.redis_state import SOCKET_TIMEOUT_SECONDS, breaker, is_redis_error


class FailSoftRedisCache(RedisCache):
    def __init__(self, server, params):
        options = params.setdefault("OPTIONS", {})
        options.setdefault("socket_timeout", SOCKET_TIMEOUT_SECONDS)
        options.setdefault("socket_connect_timeout", SOCKET_TIMEOUT_SECONDS)
        super().__init__(server, params)
        self._fallback = LocMemCache("fail-soft-fallback", {"TIMEOUT": params.get("TIMEOUT", 300)})
        self._breaker = breaker("cache")


def _fail_soft(name: str):
    redis_method = getattr(RedisCache, name)

    def method(self, *args, **kwargs):
        if self._breaker.allows():
            try:
                result = redis_method(self, *args, **kwargs)
            except Exception as exc:
                if not is_redis_error(exc):
                    raise
                self._breaker.failed(exc)
            else:
                self._breaker.succeeded()
                return result
        return getattr(self._fallback, name)(*args, **kwargs)

    method.__name__ = name
    return method


# Every operation RedisCache implements; the rest of BaseCache (and the async variants) call these.
for _name in (
    "add",
    "get",
    "set",
    "touch",
    "delete",
    "get_many",
    "has_key",
    "incr",
    "set_many",
    "delete_many",
    "clear",
):
    setattr(FailSoftRedisCache, _name, _fail_soft(_name))
