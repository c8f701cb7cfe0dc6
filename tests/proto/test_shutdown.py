"""Broker shutdown (SIGTERM for warren, rabbitmqctl stop for RabbitMQ): connected clients get
connection.close 320 CONNECTION_FORCED, and warren exits cleanly within a second."""
import time

import pytest

from harness import wire
from harness.broker import IS_RABBIT, Broker


def test_shutdown_sends_connection_forced_320():
    b = Broker(dedicated=True).start()
    try:
        c = wire.Conn(b, timeout=30)
        c.open()
        c.channel(1)
        c.rpc(1, "queue.declare", queue="", exclusive=True)
        t0 = time.monotonic()
        b.stop()
        elapsed = time.monotonic() - t0
        f = c.next_method(timeout=30)
        assert f.name == "connection.close", f
        assert f.args["reply-code"] == 320
        assert f.args["reply-text"].startswith(b"CONNECTION_FORCED")
        assert (f.args["class-id"], f.args["method-id"]) == (0, 0)
        if not IS_RABBIT:
            assert elapsed < 1.5, "SIGTERM took %.2f s" % elapsed
            assert b.exit_code == 0
        c.close_socket()
    finally:
        b.stop()
        problem = b.problems()
        if problem and "exit status" not in problem:
            pytest.fail(problem)
