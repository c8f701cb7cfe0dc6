"""nowait variants: the server sends no reply, and the next method still gets its answer."""
from harness import wire


def fence(raw):
    """A synchronous round trip: everything sent before it has been processed."""
    raw.rpc(1, "basic.qos", prefetch_count=0)


def test_queue_declare_nowait(raw, uniq):
    q = uniq()
    raw.send_method(1, "queue.declare", queue=q, nowait=True)
    f = raw.rpc(1, "queue.declare", queue=q, passive=True)
    assert f.args["queue"] == q.encode()


def test_exchange_declare_and_bind_nowait(raw, uniq):
    e, q = uniq("e"), uniq()
    raw.send_method(1, "exchange.declare", exchange=e, type="fanout", nowait=True)
    raw.send_method(1, "queue.declare", queue=q, nowait=True)
    raw.send_method(1, "queue.bind", queue=q, exchange=e, nowait=True)
    raw.publish(1, b"n", exchange=e)
    raw.send_method(1, "basic.get", queue=q, no_ack=True)
    raw.wait("basic.get-ok", 1)
    assert raw.read_content()[1] == b"n"


def test_exchange_bind_unbind_delete_nowait(raw, uniq):
    a, b = uniq("e"), uniq("e")
    raw.rpc(1, "exchange.declare", exchange=a, type="fanout")
    raw.rpc(1, "exchange.declare", exchange=b, type="fanout")
    raw.send_method(1, "exchange.bind", destination=b, source=a, nowait=True)
    raw.send_method(1, "exchange.unbind", destination=b, source=a, nowait=True)
    raw.send_method(1, "exchange.delete", exchange=b, nowait=True)
    fence(raw)
    raw.send_method(1, "exchange.declare", exchange=b, passive=True)
    raw.expect_chan_close(1, 404)


def test_queue_purge_and_delete_nowait(raw, uniq):
    q = uniq()
    raw.rpc(1, "queue.declare", queue=q)
    raw.publish(1, b"x", routing_key=q)
    raw.send_method(1, "queue.purge", queue=q, nowait=True)
    fence(raw)
    assert raw.rpc(1, "queue.declare", queue=q, passive=True).args["message-count"] == 0
    raw.send_method(1, "queue.delete", queue=q, nowait=True)
    fence(raw)
    raw.send_method(1, "queue.declare", queue=q, passive=True)
    raw.expect_chan_close(1, 404)


def test_consume_and_cancel_nowait(raw, uniq):
    q = uniq()
    raw.rpc(1, "queue.declare", queue=q)
    raw.send_method(1, "basic.consume", queue=q, consumer_tag="nw", no_ack=True, nowait=True)
    raw.publish(1, b"d", routing_key=q)
    f = raw.wait("basic.deliver", 1)
    assert f.args["consumer-tag"] == b"nw"
    raw.read_content()
    raw.send_method(1, "basic.cancel", consumer_tag="nw", nowait=True)
    fence(raw)
    raw.publish(1, b"stays", routing_key=q)
    raw.send_method(1, "basic.get", queue=q, no_ack=True)
    raw.wait("basic.get-ok", 1)
    assert raw.read_content()[1] == b"stays"


def test_nowait_error_still_closes_channel(raw):
    raw.send_method(1, "queue.declare", queue="no-such-q-nw", passive=True, nowait=True)
    raw.expect_chan_close(1, 404, (50, 10))


def test_consume_nowait_without_tag_is_allowed(raw, uniq):
    q = uniq()
    raw.rpc(1, "queue.declare", queue=q)
    raw.send_method(1, "basic.consume", queue=q, consumer_tag="", no_ack=True, nowait=True)
    raw.publish(1, b"d", routing_key=q)
    f = raw.wait("basic.deliver", 1)
    assert f.args["consumer-tag"].startswith(b"amq.ctag-")
