import pytest

from tests.faults.postgres_server import PostgresServer
from tests.faults.redis_server import RedisServer


@pytest.fixture
def own_redis(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_postgres(tmp_path):
    """A PostgreSQL of the test's own (tests/faults/postgres_server.py), its database migrated and seeded."""
    server = PostgresServer(tmp_path)
    server.start()
    server.create_database()
    yield server
    server.remove()
