"""Persistent messages in durable queues survive a clean stop and a kill -9 issued right after
their confirms: in order, every property and header byte for byte, exact bodies (empty,
multi-frame 1 MiB). Transient messages and persistent ones in non-durable queues do not.
Delivered-but-unacked messages come back redelivered, never-delivered ones not (after a clean
stop; after a kill -9 RabbitMQ marks every recovered message redelivered, which is allowed), acked
ones not at all."""
import hashlib

import pytest

from dur import HOWS, barrier, declare_code, get, get_all, publish_confirmed, queue_count, raw

P = {"delivery_mode": 2}

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

ALL_PROPS = {
    "content_type": "application/json",
    "content_encoding": "gzip",
    "headers": FIELD_VALUES,
    "delivery_mode": 2,
    "priority": 7,
    "correlation_id": "corr-1",
    "reply_to": "reply-q",
    "expiration": "3600000",
    "message_id": "msg-1",
    "timestamp": 1700000000,
    "type": "event.created",
    "user_id": "admin",
    "app_id": "durability-test",
    "cluster_id": "cluster-x",
}


def body_of(size, seed):
    out = bytearray()
    i = 0
    while len(out) < size:
        out += hashlib.sha256(b"%d-%d" % (seed, i)).digest()
        i += 1
    return bytes(out[:size])


def messages():
    """(body, props) cases: every property alone and all together, every header type, empty and
    multi-frame bodies (1 MiB spans 9 frames of 128 KiB), frame-boundary sizes."""
    out = [(b"", dict(P)), (b"", dict(ALL_PROPS)), (body_of(1 << 20, 1), dict(ALL_PROPS)),
           (body_of(1 << 20, 2), dict(P))]
    for name, v in ALL_PROPS.items():
        if name != "delivery_mode":
            out.append((b"prop-" + name.encode(), {"delivery_mode": 2, name: v}))
    for key, v in FIELD_VALUES.items():
        out.append((b"hdr-" + key.encode(), {"delivery_mode": 2, "headers": {key: v}}))
    for size in (1, 131071 - 8, 131072 - 8, 131072 - 7, 131072, 300000):
        out.append((body_of(size, size), dict(P)))
    return out


def expected(props):
    return {k: (v.encode() if isinstance(v, str) else v) for k, v in props.items()}


@pytest.mark.parametrize("how", HOWS)
def test_persistent_messages_survive_in_order_with_every_property(node, how):
    msgs = messages()
    c = raw(node, confirm=True)
    c.rpc(1, "queue.declare", queue="pm", durable=True)
    assert publish_confirmed(c, [("pm", b, p) for b, p in msgs]) == len(msgs)
    node.restart(how)
    c = raw(node, confirm=True)
    assert queue_count(c, "pm") == len(msgs)
    got = get_all(c, "pm")
    assert len(got) == len(msgs)
    # the same messages published into a fresh queue of the restarted broker: what a live
    # delivery looks like, to compare the encoded properties byte for byte
    c.rpc(1, "queue.declare", queue="ref", durable=True)
    publish_confirmed(c, [("ref", b, p) for b, p in msgs])
    ref = get_all(c, "ref")
    for i, ((body, props), (args, gprops, gbody, graw), (_, _, _, rraw)) in \
            enumerate(zip(msgs, got, ref)):
        assert gbody == body, "message %d: body differs (%d vs %d bytes)" % (i, len(gbody), len(body))
        assert gprops == expected(props), "message %d: properties differ" % i
        assert graw == rraw, "message %d: encoded properties differ from a live delivery" % i
        if how == "term":
            assert args["redelivered"] is False, "message %d came back redelivered" % i
        assert args["exchange"] == b"" and args["routing-key"] == b"pm"
    c.close()


@pytest.mark.parametrize("how", HOWS)
def test_many_confirmed_messages_survive_in_order(node, how):
    c = raw(node, confirm=True)
    c.rpc(1, "queue.declare", queue="many", durable=True)
    n = 5000
    for start in range(0, n, 500):
        publish_confirmed(c, [("many", b"%06d" % i + b"." * 1000, P)
                              for i in range(start, start + 500)])
    node.restart(how)
    c = raw(node)
    assert queue_count(c, "many") == n
    got = [m[2][:6] for m in get_all(c, "many")]
    assert got == [b"%06d" % i for i in range(n)]
    c.close()


@pytest.mark.parametrize("how", HOWS)
def test_transient_messages_do_not_survive(node, how):
    c = raw(node, confirm=True)
    c.rpc(1, "queue.declare", queue="mixed", durable=True)
    items = []
    for i in range(20):
        # persistent / delivery_mode 1 / no delivery_mode at all (transient too)
        props = [{"delivery_mode": 2}, {"delivery_mode": 1}, {}][i % 3]
        items.append(("mixed", b"%d" % i, props))
    publish_confirmed(c, items)
    node.restart(how)
    c = raw(node)
    assert [m[2] for m in get_all(c, "mixed")] == [b"%d" % i for i in range(0, 20, 3)]
    c.close()


@pytest.mark.parametrize("how", HOWS)
def test_persistent_messages_in_non_durable_queues_do_not_survive(node, how):
    c = raw(node, confirm=True)
    c.rpc(1, "exchange.declare", exchange="fan", type="fanout", durable=True)
    c.rpc(1, "queue.declare", queue="nd", durable=False)
    c.rpc(1, "queue.declare", queue="d1", durable=True)
    c.rpc(1, "queue.declare", queue="d2", durable=True)
    for q in ("nd", "d1", "d2"):
        c.rpc(1, "queue.bind", queue=q, exchange="fan", routing_key="")
    publish_confirmed(c, [("", b"m%d" % i, P) for i in range(10)], exchange="fan")
    publish_confirmed(c, [("nd", b"only-nd", P)])
    # one copy acked in d1: the copy in d2 is independent of it
    m = get(c, "d1", no_ack=False)
    assert m[2] == b"m0"
    c.send_method(1, "basic.ack", delivery_tag=m[0]["delivery-tag"], multiple=False)
    publish_confirmed(c, [("d2", b"sync", P)])  # the ack was handled before this confirm
    node.restart(how)
    c = raw(node)
    assert queue_count(c, "nd") is None
    c.rpc(1, "queue.declare", queue="nd", durable=False)
    assert queue_count(c, "nd") == 0
    d1 = get_all(c, "d1")
    check_acked_gone(how, d1, [b"m0"], [b"m%d" % i for i in range(1, 10)])
    assert [m[2] for m in get_all(c, "d2")] == [b"m%d" % i for i in range(10)] + [b"sync"]
    c.close()


def check_acked_gone(how, got, acked, rest):
    """After a clean stop the acked messages are gone and the rest are there in order. After a
    kill -9 an ack may be lost (RabbitMQ does not sync acks: they come back), but then only in
    place and flagged redelivered, never as a fresh message."""
    bodies = [m[2] for m in got]
    if how == "term":
        assert bodies == rest, bodies
        return
    back = [m for m in got if m[2] in acked]
    assert all(m[0]["redelivered"] for m in back), "an acked message came back not redelivered"
    assert [b for b in bodies if b not in acked] == rest, bodies
    assert bodies == [b for b in acked + rest if b in bodies], "order changed: %r" % bodies


@pytest.mark.parametrize("how", HOWS)
def test_unacked_come_back_redelivered_acked_do_not_come_back(node, how):
    c = raw(node, confirm=True)
    c.rpc(1, "queue.declare", queue="rd", durable=True)
    publish_confirmed(c, [("rd", b"m%d" % i, P) for i in range(10)])
    # m0, m1 acked; m2, m3 delivered and left unacked; m4..m9 never delivered
    tags = []
    for i in range(4):
        m = get(c, "rd", no_ack=False)
        assert m[2] == b"m%d" % i and m[0]["redelivered"] is False
        tags.append(m[0]["delivery-tag"])
    c.send_method(1, "basic.ack", delivery_tag=tags[1], multiple=True)
    # a consumer gets m4 and m5 and does not ack them either
    c.rpc(1, "basic.qos", prefetch_size=0, prefetch_count=2, **{"global": False})
    c.rpc(1, "basic.consume", queue="rd", consumer_tag="ctag", no_ack=False)
    for i in (4, 5):
        c.wait("basic.deliver", 1, timeout=30)
        _, body, _ = c.read_content()
        assert body == b"m%d" % i
    # the ack and the deliveries were handled before this later confirm
    c.rpc(1, "queue.declare", queue="rd-sync", durable=True)
    c2 = raw(node, confirm=True)
    publish_confirmed(c2, [("rd-sync", b"s", P)])
    node.restart(how)
    c = raw(node)
    got = get_all(c, "rd")
    check_acked_gone(how, got, [b"m0", b"m1"], [b"m%d" % i for i in range(2, 10)])
    flags = {m[2]: m[0]["redelivered"] for m in got}
    for i in (2, 3, 4, 5):
        assert flags[b"m%d" % i] is True, "m%d was delivered before the stop" % i
    if how == "term":
        for i in (6, 7, 8, 9):
            assert flags[b"m%d" % i] is False, "m%d was never delivered" % i
    c.close()


@pytest.mark.parametrize("how", HOWS)
def test_acked_by_consumer_do_not_come_back(node, how):
    c = raw(node, confirm=True)
    c.rpc(1, "queue.declare", queue="ack", durable=True)
    publish_confirmed(c, [("ack", b"m%d" % i, P) for i in range(100)])
    c.rpc(1, "basic.qos", prefetch_size=0, prefetch_count=60, **{"global": False})
    c.rpc(1, "basic.consume", queue="ack", consumer_tag="ctag", no_ack=False)
    last = None
    for i in range(60):
        f = c.wait("basic.deliver", 1, timeout=30)
        _, body, _ = c.read_content()
        assert body == b"m%d" % i
        last = f.args["delivery-tag"]
    c.send_method(1, "basic.cancel", consumer_tag="ctag")
    while True:  # deliveries freed by nothing: the window is full until the ack below
        f = c.next_method(timeout=30)
        if f.name == "basic.cancel-ok":
            break
        assert f.name == "basic.deliver", f
        c.read_content()
    c.send_method(1, "basic.ack", delivery_tag=last, multiple=True)
    c2 = raw(node, confirm=True)
    c2.rpc(1, "queue.declare", queue="ack-sync", durable=True)
    barrier(c)
    publish_confirmed(c2, [("ack-sync", b"s", P)])
    node.restart(how)
    c = raw(node)
    got = get_all(c, "ack")
    check_acked_gone(how, got, [b"m%d" % i for i in range(60)], [b"m%d" % i for i in range(60, 100)])
    c.close()


@pytest.mark.parametrize("how", HOWS)
def test_persistent_messages_survive_two_restarts(node, how):
    c = raw(node, confirm=True)
    c.rpc(1, "queue.declare", queue="twice", durable=True)
    publish_confirmed(c, [("twice", b"a%d" % i, P) for i in range(50)])
    node.restart(how)
    c = raw(node, confirm=True)
    publish_confirmed(c, [("twice", b"b%d" % i, P) for i in range(50)])
    node.restart(how)
    c = raw(node)
    got = get_all(c, "twice")
    assert [m[2] for m in got] == [b"a%d" % i for i in range(50)] + [b"b%d" % i for i in range(50)]
    if how == "term":
        assert not any(m[0]["redelivered"] for m in got)
    c.close()


@pytest.mark.parametrize("how", HOWS)
def test_lazy_queue_backlog_survives(node, how):
    """x-queue-mode=lazy (bodies may live only on disk) changes nothing for the client."""
    c = raw(node, confirm=True)
    args = {"x-queue-mode": ("S", b"lazy")}
    c.rpc(1, "queue.declare", queue="lazy", durable=True, arguments=args)
    publish_confirmed(c, [("lazy", body_of(4096, i), P) for i in range(300)])
    m = get(c, "lazy", no_ack=False)  # one delivered and left unacked
    assert m[2] == body_of(4096, 0)
    c2 = raw(node, confirm=True)
    publish_confirmed(c2, [("lazy", b"last", P)])
    node.restart(how)
    c = raw(node)
    assert queue_count(c, "lazy") == 301
    assert declare_code(c, "queue.declare", queue="lazy", durable=True, arguments=args) == 0
    got = get_all(c, "lazy")
    assert [g[2] for g in got] == [body_of(4096, i) for i in range(300)] + [b"last"]
    assert got[0][0]["redelivered"] is True
    c.close()


def test_delivered_then_killed_come_back_only_redelivered(node):
    """kill -9 right after deliveries and acks, with no later confirm to flush them: a message
    the client received (acked or not) may come back only flagged redelivered; the ones it
    never received come back, in order (RabbitMQ flags every message after a crash)."""
    c = raw(node, confirm=True)
    c.rpc(1, "queue.declare", queue="kd", durable=True)
    publish_confirmed(c, [("kd", b"m%03d" % i, P) for i in range(300)])
    c.rpc(1, "basic.qos", prefetch_size=0, prefetch_count=100, **{"global": False})
    c.rpc(1, "basic.consume", queue="kd", consumer_tag="k", no_ack=False)
    seen = []
    while len(seen) < 250:
        f = c.wait("basic.deliver", 1, timeout=30)
        _, body, _ = c.read_content()
        seen.append(body)
        if len(seen) % 10 == 0 and len(seen) <= 200:
            c.send_method(1, "basic.ack", delivery_tag=f.args["delivery-tag"], multiple=True)
    assert seen == [b"m%03d" % i for i in range(250)]
    node.kill()
    node.start()
    c = raw(node)
    got = get_all(c, "kd")
    bodies = [m[2] for m in got]
    # m000..m199 acked (may come back), m200..m249 delivered unacked, m250..m299 never delivered
    assert [b for b in bodies if b >= b"m200"] == [b"m%03d" % i for i in range(200, 300)], bodies
    assert bodies == sorted(bodies), "order changed"
    for m in got:
        if m[2] < b"m250":
            assert m[0]["redelivered"] is True, "%r was delivered before the kill" % m[2]
    c.close()
