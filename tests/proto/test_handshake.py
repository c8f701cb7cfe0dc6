"""Connection handshake, authentication, tune negotiation, heartbeats, connection.close (raw frames)."""
import socket
import struct
import time

import pytest

from harness import wire


def test_wrong_protocol_header_gets_supported_header_and_close(rawconn):
    rawconn.send(b"AMQP\x00\x00\x08\x00")
    assert rawconn.recv_raw(8) == b"AMQP\x00\x00\x09\x01"
    rawconn.expect_socket_closed()


def test_garbage_header_gets_supported_header_and_close(rawconn):
    rawconn.send(b"GET / HTTP/1.1\r\n\r\n")
    assert rawconn.recv_raw(8) == b"AMQP\x00\x00\x09\x01"
    rawconn.expect_socket_closed()


def test_amqp_0_9_1_header_gets_connection_start(rawconn):
    rawconn.send(wire.PROTOCOL_HEADER)
    f = rawconn.wait("connection.start", 0)
    assert f.args["version-major"] == 0 and f.args["version-minor"] == 9
    mechs = f.args["mechanisms"].split()
    assert b"PLAIN" in mechs and b"AMQPLAIN" in mechs
    assert f.args["locales"] == b"en_US"


def test_server_properties_and_capabilities(rawconn):
    rawconn.send(wire.PROTOCOL_HEADER)
    f = rawconn.wait("connection.start", 0)
    props = wire.plain(f.args["server-properties"])
    assert props["product"] == b"RabbitMQ"
    for key in ("version", "platform", "copyright", "information", "cluster_name"):
        assert key in props, key
    caps = props["capabilities"]
    for cap in ("publisher_confirms", "exchange_exchange_bindings", "basic.nack",
                "consumer_cancel_notify", "connection.blocked", "consumer_priorities",
                "authentication_failure_close", "per_consumer_qos", "direct_reply_to"):
        assert caps.get(cap) is True, cap
    # capabilities are booleans on the wire ('t')
    assert all(v[0] == "t" for v in f.args["server-properties"]["capabilities"][1].values())


def test_tune_defaults(rawconn):
    rawconn.handshake(open_vhost=False)
    t = rawconn.tune.args
    assert (t["channel-max"], t["frame-max"], t["heartbeat"]) == (2047, 131072, 60)


def test_plain_login_opens_vhost(rawconn):
    f = rawconn.handshake(mechanism="PLAIN")
    assert f.name == "connection.open-ok"


def test_amqplain_login_opens_vhost(rawconn):
    f = rawconn.handshake(mechanism="AMQPLAIN")
    assert f.name == "connection.open-ok"


def test_bad_password_with_auth_failure_close_gets_403(rawconn):
    f = rawconn.handshake(password="wrong")
    assert f.name == "connection.close"
    assert f.args["reply-code"] == 403
    assert f.args["reply-text"] == (b"ACCESS_REFUSED - Login was refused using authentication "
                                    b"mechanism PLAIN. For details see the broker logfile.")
    assert (f.args["class-id"], f.args["method-id"]) == (0, 0)


def test_unknown_user_gets_403(rawconn):
    f = rawconn.handshake(user="nobody-here", password="x")
    assert f.name == "connection.close" and f.args["reply-code"] == 403


def test_amqplain_bad_password_names_mechanism(rawconn):
    f = rawconn.handshake(password="wrong", mechanism="AMQPLAIN")
    assert f.args["reply-code"] == 403
    assert b"AMQPLAIN" in f.args["reply-text"]


def test_bad_password_without_capability_closes_socket_silently(rawconn):
    rawconn.send(wire.PROTOCOL_HEADER)
    rawconn.wait("connection.start", 0)
    rawconn.send_method(0, "connection.start-ok", client_properties={}, mechanism="PLAIN",
                        response=b"\x00admin\x00wrong", locale="en_US")
    # no connection.close method is sent; the socket is just closed
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            f = rawconn.read_frame(timeout=max(0.01, deadline - time.monotonic()))
        except wire.Closed:
            return
        assert f.name != "connection.open-ok"
        assert f.type == wire.FRAME_HEARTBEAT or f.name != "connection.close", f
    pytest.fail("socket not closed after failed login")


def test_unknown_mechanism_closes_connection(rawconn):
    rawconn.send(wire.PROTOCOL_HEADER)
    rawconn.wait("connection.start", 0)
    rawconn.send_method(0, "connection.start-ok", client_properties={}, mechanism="FOO",
                        response=b"", locale="en_US")
    with pytest.raises(wire.Closed):
        while True:
            f = rawconn.read_frame()
            assert f.name in (None, "connection.close"), f


def test_unknown_vhost_gets_530(rawconn):
    f = rawconn.handshake(vhost="no-such-vhost")
    assert f.name == "connection.close"
    assert f.args["reply-code"] == 530
    assert f.args["reply-text"] == b"NOT_ALLOWED - vhost no-such-vhost not found"
    assert (f.args["class-id"], f.args["method-id"]) == (10, 40)


def assert_silent_close(conn, **tune):
    """RabbitMQ treats a bad tune-ok as a handshake error: no connection.close is sent, the
    socket is closed (after a deliberate delay of about 3 s)."""
    with pytest.raises(wire.Closed):
        f = conn.handshake(open_vhost=False, **tune)
        assert f.name == "connection.tune", f
        while True:
            f = conn.read_frame(timeout=10)
            assert f.name != "connection.close", "server sent %r; RabbitMQ closes silently" % f


def test_frame_max_below_minimum_closes_silently(rawconn):
    assert_silent_close(rawconn, frame_max=1000)


def test_frame_max_above_server_closes_silently(rawconn):
    assert_silent_close(rawconn, frame_max=200000)


def test_frame_max_zero_closes_silently(rawconn):
    assert_silent_close(rawconn, frame_max=0)


def test_channel_max_above_server_closes_silently(rawconn):
    assert_silent_close(rawconn, channel_max=3000)


def test_client_can_negotiate_smaller_frame_max(broker):
    c = wire.Conn(broker)
    c.open(frame_max=4096)
    c.channel(1)
    q = c.rpc(1, "queue.declare", queue="", exclusive=True).args["queue"]
    body = bytes(range(256)) * 40  # 10240 bytes -> must arrive split into frames of <= 4096
    c.publish(1, body, routing_key=q)
    c.send_method(1, "basic.get", queue=q, no_ack=True)
    c.wait("basic.get-ok", 1)
    h = c.read_frame()
    sizes = []
    got = b""
    while len(got) < h.body_size:
        f = c.read_frame()
        assert f.type == wire.FRAME_BODY
        assert len(f.payload) + 8 <= 4096
        sizes.append(len(f.payload))
        got += f.payload
    assert got == body and len(sizes) >= 3
    c.close()


def test_frame_larger_than_negotiated_frame_max_is_501(broker):
    c = wire.Conn(broker)
    c.open(frame_max=4096)
    c.channel(1)
    c.send(wire.frame(1, 1, wire.method_payload("queue.declare", queue="x" * 200,
                                                arguments={"pad": "y" * 5000})))
    f = c.expect_conn_close(501)
    assert b"frame_too_large" in f.args["reply-text"]


def test_zero_heartbeat_disables_heartbeats(broker):
    c = wire.Conn(broker)
    c.open(heartbeat=0)
    with pytest.raises(TimeoutError):
        c.read_frame(timeout=2.5)
    c.close()


def test_server_sends_heartbeats_at_negotiated_interval(broker):
    c = wire.Conn(broker)
    c.open(heartbeat=1)
    seen = 0
    deadline = time.monotonic() + 6
    while seen < 2 and time.monotonic() < deadline:
        c.send(wire.frame(wire.FRAME_HEARTBEAT, 0, b""))
        f = c.read_frame(timeout=max(0.01, deadline - time.monotonic()))
        if f.type == wire.FRAME_HEARTBEAT:
            assert f.channel == 0 and f.payload == b""
            seen += 1
    assert seen >= 2
    c.close()


def test_missed_client_heartbeats_close_connection(broker):
    c = wire.Conn(broker)
    c.open(heartbeat=1)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            c.read_frame(timeout=max(0.01, deadline - time.monotonic()))
        except wire.Closed:
            return
        except TimeoutError:
            break
    pytest.fail("server kept a connection whose client sent no heartbeats")


def test_client_heartbeats_keep_connection_alive(broker):
    c = wire.Conn(broker)
    c.open(heartbeat=1)
    c.channel(1)
    end = time.monotonic() + 3.5
    while time.monotonic() < end:
        c.send(wire.frame(wire.FRAME_HEARTBEAT, 0, b""))
        try:
            f = c.read_frame(timeout=0.4)
            assert f.type == wire.FRAME_HEARTBEAT, f
        except TimeoutError:
            pass
    c.rpc(1, "queue.declare", queue="", exclusive=True)
    c.close()


def test_client_connection_close_gets_close_ok(raw):
    raw.send_method(0, "connection.close", reply_code=200, reply_text="bye", class_id=0,
                    method_id=0)
    raw.wait("connection.close-ok", 0)


def test_server_close_then_client_close_ok_closes_socket(raw):
    raw.send_method(1, "basic.qos", prefetch_size=10)
    raw.expect_conn_close(540)
    raw.expect_socket_closed()


def test_methods_after_server_close_are_ignored_until_close_ok(raw):
    raw.send_method(1, "basic.qos", prefetch_size=10)
    f = raw.next_method()
    assert f.name == "connection.close"
    raw.send_method(1, "queue.declare", queue="", exclusive=True)
    raw.send_method(0, "connection.close-ok")
    raw.expect_socket_closed()


def test_connection_open_twice_is_504(raw):
    raw.send_method(0, "connection.open", virtual_host="/")
    raw.expect_conn_close(504, (10, 40))


def test_open_connection_can_use_many_channels(raw):
    for ch in range(2, 40):
        raw.rpc(ch, "channel.open")
    for ch in range(2, 40):
        raw.rpc(ch, "channel.close", reply_code=200)
    raw.rpc(1, "queue.declare", queue="", exclusive=True)


def test_channel_open_ok(rawconn):
    rawconn.open()
    f = rawconn.rpc(7, "channel.open")
    assert f.channel == 7


def test_second_channel_open_on_same_channel_is_504(raw):
    raw.send_method(1, "channel.open")
    f = raw.expect_conn_close(504, (20, 10))
    assert f.args["reply-text"] == b"CHANNEL_ERROR - second 'channel.open' seen"


def test_method_on_unopened_channel_is_504(raw):
    raw.send_method(5, "queue.declare", queue="x")
    f = raw.expect_conn_close(504, (50, 10))
    assert f.args["reply-text"] == b"CHANNEL_ERROR - expected 'channel.open'"


def test_channel_close_and_reopen_same_number(raw):
    raw.rpc(1, "channel.close", reply_code=200, reply_text="done")
    raw.rpc(1, "channel.open")
    raw.rpc(1, "queue.declare", queue="", exclusive=True)


def test_channel_flow_active_true_is_acknowledged(raw):
    f = raw.rpc(1, "channel.flow", active=True)
    assert f.args["active"] is True


def test_channel_flow_active_false_is_not_implemented(raw):
    raw.send_method(1, "channel.flow", active=False)
    f = raw.expect_conn_close(540, (20, 20))
    assert f.args["reply-text"] == b"NOT_IMPLEMENTED - active=false"


def test_server_closed_channel_ignores_methods_until_close_ok(raw):
    raw.send_method(1, "queue.declare", queue="no-such-queue-zz", passive=True)
    raw.next_method()  # channel.close 404
    # methods other than close/close-ok on a closing channel are dropped
    raw.send_method(1, "queue.declare", queue="", exclusive=True)
    raw.send_method(1, "channel.close-ok")
    raw.rpc(1, "channel.open")
    raw.rpc(1, "queue.declare", queue="", exclusive=True)


def test_other_channels_survive_a_channel_error(raw):
    raw.rpc(2, "channel.open")
    raw.send_method(1, "queue.declare", queue="no-such-queue-zz", passive=True)
    raw.expect_chan_close(1, 404)
    q = raw.rpc(2, "queue.declare", queue="", exclusive=True).args["queue"]
    assert q.startswith(b"amq.gen-")


def test_access_request_is_accepted(raw):
    f = raw.rpc(1, "access.request", realm="/data")
    assert f.name == "access.request-ok"


def test_connection_close_before_open_is_504(rawconn):
    """After tune-ok but before connection.open the server is in state 'opening'; a
    connection.close there is answered with a 504 connection.close (RabbitMQ 3.10.8)."""
    rawconn.handshake(open_vhost=False)
    rawconn.send_method(0, "connection.close", reply_code=200, reply_text="bye")
    f = rawconn.expect_conn_close(504, (10, 50))
    assert f.args["reply-text"] == b"CHANNEL_ERROR - unexpected method in connection state opening"


def test_channel_close_on_never_opened_channel_is_504(raw):
    raw.send_method(5, "channel.close", reply_code=200)
    f = raw.expect_conn_close(504, (20, 40))
    assert f.args["reply-text"] == b"CHANNEL_ERROR - expected 'channel.open'"
