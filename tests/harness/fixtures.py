"""pytest fixtures shared by tests/proto and tests/interop (imported by their conftest.py)."""
import itertools
import os
import time
import uuid

import pytest

from harness import wire
from harness.broker import IS_RABBIT, Broker

_counter = itertools.count()

skip_on_rabbit310 = pytest.mark.skipif(
    IS_RABBIT, reason="RabbitMQ 3.10 differs from 3.8 here (see the test's docstring)")


@pytest.fixture
def broker(request):
    """A broker for this test: a fresh warren, or the session's RabbitMQ."""
    b = Broker().start()
    yield b
    crashed = not b.alive()
    b.stop()
    problem = b.problems()
    if crashed:
        pytest.fail("broker process died during the test: %s" % problem)
    if problem:
        pytest.fail("broker stopped badly: %s (log kept in %s)" % (problem, b.tmp))


@pytest.fixture
def uniq(request, broker):
    """uniq('q') -> a name unique to this test; on RabbitMQ those names are deleted afterwards."""
    made = []
    base = request.node.name.replace("[", "-").replace("]", "")[:60]

    def make(kind="q"):
        n = "%s-%s-%d-%s" % (base, kind, next(_counter), uuid.uuid4().hex[:6])
        made.append(n)
        return n
    yield make
    if IS_RABBIT and made:
        try:
            c = wire.Conn(broker)
            c.open()
            c.channel(1)
            for n in made:
                c.rpc(1, "queue.delete", queue=n)
                c.rpc(1, "exchange.delete", exchange=n)
            c.close()
        except Exception:
            pass


@pytest.fixture
def raw(broker):
    """An opened raw connection (admin, vhost /) with channel 1 open."""
    c = wire.Conn(broker)
    c.open()
    c.channel(1)
    yield c
    c.close_socket()


@pytest.fixture
def rawconn(broker):
    """A connected but not yet handshaken raw socket."""
    c = wire.Conn(broker)
    yield c
    c.close_socket()


def until(cond, deadline_s=5.0, pump=None):
    """Wait until cond() is true; pump(remaining) is called to make progress (e.g. pika I/O)."""
    deadline = time.monotonic() + deadline_s
    while True:
        v = cond()
        if v:
            return v
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return v
        if pump is not None:
            pump(min(0.05, remaining))


def pika_params(broker, vhost="/", user=None, password=None, **kw):
    import pika
    return pika.ConnectionParameters(host=broker.host, port=broker.port, virtual_host=vhost,
                                     credentials=pika.PlainCredentials(user or broker.user,
                                                                       password or broker.password),
                                     **kw)


@pytest.fixture
def pconn(broker):
    """A pika BlockingConnection to the broker (admin, vhost /)."""
    import pika
    c = pika.BlockingConnection(pika_params(broker))
    yield c
    if c.is_open:
        try:
            c.close()
        except Exception:
            pass


@pytest.fixture
def pch(pconn):
    """A pika channel on pconn."""
    return pconn.channel()


def drain(conn, cond, deadline_s=5.0):
    """Pump pika I/O until cond() is true or the deadline passes; returns cond()."""
    return until(cond, deadline_s, lambda t: conn.process_data_events(time_limit=t))
