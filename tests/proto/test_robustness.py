"""The broker survives abrupt and hostile clients and keeps serving others."""
import os
import socket
import struct
import time

from harness import wire


def still_serving(broker):
    c = wire.Conn(broker)
    c.open()
    c.channel(1)
    q = c.rpc(1, "queue.declare", queue="", exclusive=True).args["queue"]
    c.close()
    return q.startswith(b"amq.gen-")


def test_socket_closed_mid_handshake(broker):
    for cut in (3, 8, 20):
        s = socket.create_connection((broker.host, broker.port))
        s.sendall(wire.PROTOCOL_HEADER[:cut] if cut <= 8 else wire.PROTOCOL_HEADER)
        s.close()
    assert still_serving(broker)


def test_socket_closed_mid_frame(raw, broker):
    data = wire.method_frame(1, "queue.declare", queue="half-frame-q")
    raw.send(data[:len(data) // 2])
    raw.close_socket()
    assert still_serving(broker)


def test_socket_closed_mid_content(raw, broker):
    raw.send(wire.method_frame(1, "basic.publish", routing_key="x") +
             wire.header_frame(1, 100000) + wire.frame(3, 1, b"a" * 1000))
    raw.close_socket()
    assert still_serving(broker)


def test_abrupt_close_requeues_unacked(broker, raw, uniq):
    q = uniq()
    raw.rpc(1, "queue.declare", queue=q)
    other = wire.Conn(broker).open()
    other.channel(1)
    raw.publish(1, b"w", routing_key=q)
    other.rpc(1, "basic.consume", queue=q, consumer_tag="c")
    other.wait("basic.deliver", 1)
    other.read_content()
    other.close_socket()  # no connection.close
    deadline_ok = False
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        raw.send_method(1, "basic.get", queue=q, no_ack=True)
        f = raw.next_method()
        if f.name == "basic.get-ok":
            assert f.args["redelivered"] is True
            raw.read_content()
            deadline_ok = True
            break
    assert deadline_ok


def test_random_garbage_after_handshake(raw, broker):
    raw.send(os.urandom(64) + b"\xce")
    try:
        while True:
            f = raw.read_frame(timeout=3)
            if f.name == "connection.close":
                assert 500 <= f.args["reply-code"] < 600 or f.args["reply-code"] == 320
                break
    except (wire.Closed, TimeoutError):
        pass
    assert still_serving(broker)


def test_huge_declared_frame_size_is_refused(raw, broker):
    raw.send(struct.pack(">BHI", 1, 1, 0xFFFFFFF0))
    try:
        f = raw.next_method(timeout=3)
        assert f.name == "connection.close" and f.args["reply-code"] == 501, f
    except wire.Closed:
        pass
    assert still_serving(broker)


def test_huge_declared_body_size_does_not_allocate(raw, broker):
    raw.send(wire.method_frame(1, "basic.publish", routing_key="x") + wire.header_frame(1, 1 << 60))
    raw.close_socket()
    assert still_serving(broker)


def test_huge_table_length_is_refused(raw, broker):
    payload = wire.method_payload("queue.declare", queue="q")[:-4] + struct.pack(">I", 0x7FFFFFFF)
    raw.send(wire.frame(1, 1, payload))
    try:
        f = raw.next_method(timeout=3)
        assert f.name == "connection.close" and f.args["reply-code"] == 501, f
    except wire.Closed:
        pass
    assert still_serving(broker)


def test_many_concurrent_connections(broker):
    conns = []
    for i in range(100):
        c = wire.Conn(broker)
        c.open()
        conns.append(c)
    for i, c in enumerate(conns):
        c.rpc(1, "channel.open")
    for c in conns:
        c.close()
    assert still_serving(broker)


def test_pipelined_handshake(broker):
    c = wire.Conn(broker)
    resp = b"\x00" + broker.user.encode() + b"\x00" + broker.password.encode()
    c.send(wire.PROTOCOL_HEADER +
           wire.method_frame(0, "connection.start-ok", client_properties={}, mechanism="PLAIN",
                             response=resp, locale="en_US") +
           wire.method_frame(0, "connection.tune-ok", channel_max=2047, frame_max=131072,
                             heartbeat=0) +
           wire.method_frame(0, "connection.open", virtual_host="/") +
           wire.method_frame(1, "channel.open"))
    c.wait("connection.start", 0)
    c.wait("connection.tune", 0)
    c.wait("connection.open-ok", 0)
    c.wait("channel.open-ok", 1)
    c.close()


def test_many_consumers_and_channels_cleanup_on_abrupt_close(broker):
    c = wire.Conn(broker)
    c.open()
    q = None
    for ch in range(1, 51):
        c.rpc(ch, "channel.open")
        if q is None:
            q = c.rpc(ch, "queue.declare", queue="", auto_delete=True).args["queue"].decode()
        c.rpc(ch, "basic.consume", queue=q)
    c.close_socket()
    assert still_serving(broker)
