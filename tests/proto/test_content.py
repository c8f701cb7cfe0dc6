"""Message content on the wire: bodies split across frames, empty bodies, properties and
every field-table type round-tripping byte for byte."""
import struct

import pytest

from harness import wire


def get_one(raw, q, no_ack=True):
    raw.send_method(1, "basic.get", queue=q, no_ack=no_ack)
    f = raw.next_method()
    assert f.name == "basic.get-ok", f
    props, body, h = raw.read_content()
    return f, props, body, h


def new_queue(raw):
    return raw.rpc(1, "queue.declare", queue="", exclusive=True).args["queue"].decode()


def test_empty_body_has_no_body_frames(raw):
    q = new_queue(raw)
    raw.send(wire.method_frame(1, "basic.publish", routing_key=q) + wire.header_frame(1, 0))
    raw.send_method(1, "basic.get", queue=q, no_ack=True)
    raw.wait("basic.get-ok", 1)
    h = raw.read_frame()
    assert h.type == wire.FRAME_HEADER and h.body_size == 0
    # next frame is the reply to a new method, not a body frame
    raw.send_method(1, "queue.declare", queue=q, passive=True)
    assert raw.read_frame().name == "queue.declare-ok"


@pytest.mark.parametrize("size", [1, 131064, 131065, 131072 * 3 + 17, 1 << 20])
def test_body_sizes_round_trip(raw, size):
    q = new_queue(raw)
    body = bytes((i * 7) & 0xFF for i in range(size))
    raw.publish(1, body, routing_key=q)
    f, props, got, h = get_one(raw, q)
    assert h.body_size == size
    assert got == body


def test_body_split_into_many_small_client_frames(raw):
    q = new_queue(raw)
    body = b"0123456789" * 100
    data = wire.method_frame(1, "basic.publish", routing_key=q) + wire.header_frame(1, len(body))
    for i in range(0, len(body), 7):
        data += wire.frame(3, 1, body[i:i + 7])
    raw.send(data)
    assert get_one(raw, q)[2] == body


def test_server_body_frames_respect_frame_max(raw):
    q = new_queue(raw)
    body = b"z" * (131072 * 2 + 5)
    raw.publish(1, body, routing_key=q)
    raw.send_method(1, "basic.get", queue=q, no_ack=True)
    raw.wait("basic.get-ok", 1)
    h = raw.read_frame()
    total = 0
    while total < h.body_size:
        f = raw.read_frame()
        assert f.type == wire.FRAME_BODY and len(f.payload) <= 131072 - 8
        total += len(f.payload)
    assert total == len(body)


def test_interleaved_content_on_two_channels(raw):
    raw.rpc(2, "channel.open")
    q = new_queue(raw)
    b1 = b"a" * 300000
    b2 = b"b" * 300000
    d1 = wire.method_frame(1, "basic.publish", routing_key=q) + wire.header_frame(1, len(b1))
    d2 = wire.method_frame(2, "basic.publish", routing_key=q) + wire.header_frame(2, len(b2))
    chunk = 100000
    for i in range(0, len(b1), chunk):
        d1 += wire.frame(3, 1, b1[i:i + chunk])
        d2 += wire.frame(3, 2, b2[i:i + chunk])
    # interleave whole frames of the two channels
    raw.send(d1[:0])
    frames1 = split_frames(d1)
    frames2 = split_frames(d2)
    out = b""
    for a, b in zip(frames1, frames2):
        out += a + b
    raw.send(out)
    bodies = sorted([get_one(raw, q)[2], get_one(raw, q)[2]])
    assert bodies == [b1, b2]


def split_frames(data):
    out = []
    i = 0
    while i < len(data):
        size = struct.unpack(">I", data[i + 3:i + 7])[0]
        out.append(data[i:i + 8 + size])
        i += 8 + size
    return out


ALL_PROPS = {
    "content_type": "application/json",
    "content_encoding": "gzip",
    "headers": {"h": ("S", b"v")},
    "delivery_mode": 2,
    "priority": 7,
    "correlation_id": "corr-1",
    "reply_to": "reply-q",
    "expiration": "600000",
    "message_id": "msg-1",
    "timestamp": 1700000000,
    "type": "event.created",
    "user_id": "admin",
    "app_id": "proto-test",
    "cluster_id": "cluster-x",
}


def test_all_basic_properties_round_trip(raw):
    q = new_queue(raw)
    raw.publish(1, b"p", routing_key=q, props=ALL_PROPS)
    _, props, _, h = get_one(raw, q)
    expect = dict(ALL_PROPS)
    for k, v in expect.items():
        if isinstance(v, str):
            v = v.encode()
        assert props[k] == v, k


@pytest.mark.parametrize("name", [n for n, _ in wire.PROP_ORDER if n != "user_id"])
def test_single_property_round_trips_alone(raw, name):
    q = new_queue(raw)
    raw.publish(1, b"p", routing_key=q, props={name: ALL_PROPS[name]})
    _, props, _, h = get_one(raw, q)
    assert set(props) == {name}
    v = ALL_PROPS[name]
    assert props[name] == (v.encode() if isinstance(v, str) else v)


def test_no_properties_round_trip(raw):
    q = new_queue(raw)
    raw.publish(1, b"p", routing_key=q, props={})
    _, props, _, h = get_one(raw, q)
    assert props == {} and h.props_raw == b"\x00\x00"


FIELD_VALUES = {
    "bool-t": ("t", True),
    "bool-f": ("t", False),
    "int8": ("b", -5),
    "uint8": ("B", 250),
    "int16": ("s", -30000),
    "uint16": ("u", 60000),
    "int32": ("I", -2000000000),
    "uint32": ("i", 4000000000),
    "int64": ("l", -(2 ** 62)),
    "float": ("f", 1.5),
    "double": ("d", 2.25),
    "decimal": ("D", (2, 12345)),
    "longstr": ("S", b"hello \x00 world"),
    "bytes": ("x", b"\x01\x02\xff"),
    "timestamp": ("T", 1700000000),
    "void": ("V", None),
    "array": ("A", [("I", 1), ("S", b"two"), ("t", True), ("A", [("l", 3)])]),
    "table": ("F", {"inner": ("S", b"x"), "n": ("I", 42), "deeper": ("F", {"z": ("V", None)})}),
    "empty-array": ("A", []),
    "empty-table": ("F", {}),
}


def test_every_field_table_type_round_trips_in_headers(raw):
    q = new_queue(raw)
    raw.publish(1, b"t", routing_key=q, props={"headers": FIELD_VALUES})
    _, props, _, h = get_one(raw, q)
    assert props["headers"] == FIELD_VALUES


@pytest.mark.parametrize("key", sorted(FIELD_VALUES))
def test_field_type_round_trips_alone(raw, key):
    q = new_queue(raw)
    raw.publish(1, b"t", routing_key=q, props={"headers": {key: FIELD_VALUES[key]}})
    _, props, _, h = get_one(raw, q)
    assert props["headers"] == {key: FIELD_VALUES[key]}
    # the encoded properties come back byte for byte
    assert h.props_raw == wire.encode_props({"headers": {key: FIELD_VALUES[key]}})


def test_field_types_round_trip_through_consume(raw):
    q = new_queue(raw)
    raw.rpc(1, "basic.consume", queue=q, consumer_tag="c", no_ack=True)
    raw.publish(1, b"t", routing_key=q, props={"headers": FIELD_VALUES, "priority": 3})
    raw.wait("basic.deliver", 1)
    props, body, h = raw.read_content()
    assert props["headers"] == FIELD_VALUES and props["priority"] == 3


def test_declare_arguments_echoed_in_queue_redeclare(raw):
    # arguments of every type are accepted by exchange.declare (unknown keys are kept)
    raw.rpc(1, "exchange.declare", exchange="", passive=True) if False else None
    q = raw.rpc(1, "queue.declare", queue="", exclusive=True,
                arguments={"x-custom": ("A", [("S", b"a"), ("I", 1)]), "y": ("D", (1, 5))})
    assert q.args["queue"].startswith(b"amq.gen-")


def test_headers_exchange_with_typed_values(raw, uniq):
    q = new_queue(raw)
    raw.rpc(1, "queue.bind", queue=q, exchange="amq.headers",
            arguments={"x-match": ("S", b"all"), "n": ("I", 5), "s": ("S", b"v")})
    raw.publish(1, b"yes", exchange="amq.headers", props={"headers": {"n": ("I", 5), "s": ("S", b"v")}})
    raw.publish(1, b"no", exchange="amq.headers", props={"headers": {"n": ("I", 6), "s": ("S", b"v")}})
    _, _, body, _ = get_one(raw, q)
    assert body == b"yes"
    raw.send_method(1, "basic.get", queue=q, no_ack=True)
    assert raw.next_method().name == "basic.get-empty"


def test_heartbeat_between_content_frames_is_allowed(raw):
    q = new_queue(raw)
    raw.send(wire.method_frame(1, "basic.publish", routing_key=q) + wire.header_frame(1, 6) +
             wire.frame(wire.FRAME_HEARTBEAT, 0, b"") + wire.frame(3, 1, b"abc") +
             wire.frame(wire.FRAME_HEARTBEAT, 0, b"") + wire.frame(3, 1, b"def"))
    assert get_one(raw, q)[2] == b"abcdef"


def test_method_on_other_channel_between_content_frames_is_allowed(raw):
    raw.rpc(2, "channel.open")
    q = new_queue(raw)
    raw.send(wire.method_frame(1, "basic.publish", routing_key=q) + wire.header_frame(1, 6) +
             wire.frame(3, 1, b"abc") +
             wire.method_frame(2, "queue.declare", queue=q, passive=True) +
             wire.frame(3, 1, b"def"))
    f = raw.wait("queue.declare-ok", 2)
    assert f.args["queue"] == q.encode()
    assert get_one(raw, q)[2] == b"abcdef"


def test_zero_length_body_frame_is_accepted(raw):
    q = new_queue(raw)
    raw.send(wire.method_frame(1, "basic.publish", routing_key=q) + wire.header_frame(1, 3) +
             wire.frame(3, 1, b"") + wire.frame(3, 1, b"xyz"))
    assert get_one(raw, q)[2] == b"xyz"
