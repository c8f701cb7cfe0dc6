"""frame_max, channel_max and heartbeat from rabbitmq.conf: advertised in tune and enforced."""
import pytest

from harness import wire
from harness.broker import IS_RABBIT, Broker
from test_handshake import assert_silent_close


def _scope(fixture_name, config):
    return "module" if IS_RABBIT else "function"


@pytest.fixture(scope=_scope)
def lbroker():
    b = Broker(extra_conf=["frame_max = 8192", "channel_max = 10", "heartbeat = 7"]).start()
    yield b
    b.stop()
    problem = b.problems()
    if problem:
        pytest.fail("broker stopped badly: %s" % problem)


def test_tune_advertises_configured_limits(lbroker):
    c = wire.Conn(lbroker)
    c.handshake(open_vhost=False)
    t = c.tune.args
    assert (t["channel-max"], t["frame-max"], t["heartbeat"]) == (10, 8192, 7)
    c.close_socket()


def test_channel_max_enforced_530(lbroker):
    c = wire.Conn(lbroker)
    c.open()
    for ch in range(1, 11):
        c.rpc(ch, "channel.open")
    c.send_method(11, "channel.open")
    f = c.expect_conn_close(530)
    assert f.args["reply-text"].startswith(b"NOT_ALLOWED - number of channels opened (10) has "
                                           b"reached the negotiated channel_max (10)")
    c.close_socket()


def test_channel_max_counts_open_channels_not_numbers(lbroker):
    c = wire.Conn(lbroker)
    c.open()
    for ch in range(1, 11):
        c.rpc(ch, "channel.open")
    c.rpc(3, "channel.close", reply_code=200)
    c.rpc(3, "channel.open")
    c.close()


def test_configured_frame_max_enforced_501(lbroker):
    c = wire.Conn(lbroker)
    c.open()
    c.channel(1)
    c.send(wire.frame(1, 1, b"\x00" * 9000))
    f = c.expect_conn_close(501, (0, 0))
    assert f.args["reply-text"].startswith(b"FRAME_ERROR")
    c.close_socket()


def test_client_frame_max_above_server_closes_silently(lbroker):
    c = wire.Conn(lbroker)
    assert_silent_close(c, frame_max=16384)
    c.close_socket()


def test_client_channel_max_above_server_closes_silently(lbroker):
    c = wire.Conn(lbroker)
    assert_silent_close(c, channel_max=20)
    c.close_socket()


def test_large_body_split_by_configured_frame_max(lbroker):
    c = wire.Conn(lbroker)
    c.open()
    c.channel(1)
    q = c.rpc(1, "queue.declare", queue="", exclusive=True).args["queue"].decode()
    body = bytes(range(256)) * 200
    c.publish(1, body, routing_key=q)
    c.send_method(1, "basic.get", queue=q, no_ack=True)
    c.wait("basic.get-ok", 1)
    h = c.read_frame()
    got = b""
    while len(got) < h.body_size:
        f = c.read_frame()
        assert f.type == wire.FRAME_BODY and len(f.payload) <= 8192 - 8
        got += f.payload
    assert got == body
    c.close()
