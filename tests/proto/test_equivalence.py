"""Redeclare equivalence rules (406 / 405) and exclusive-queue access from other connections."""
from harness import wire


def test_exchange_internal_mismatch_406(raw, uniq):
    e = uniq("e")
    raw.rpc(1, "exchange.declare", exchange=e, type="fanout", internal=True)
    raw.send_method(1, "exchange.declare", exchange=e, type="fanout")
    f = raw.expect_chan_close(1, 406, (40, 10))
    assert f.args["reply-text"] == (
        "PRECONDITION_FAILED - inequivalent arg 'internal' for exchange '%s' in vhost '/': "
        "received 'false' but current is 'true'" % e).encode()


def test_exchange_auto_delete_mismatch_406(raw, uniq):
    e = uniq("e")
    raw.rpc(1, "exchange.declare", exchange=e, type="fanout", auto_delete=True)
    raw.send_method(1, "exchange.declare", exchange=e, type="fanout")
    raw.expect_chan_close(1, 406, (40, 10), "PRECONDITION_FAILED - inequivalent arg 'auto_delete'")


def test_exchange_alternate_exchange_mismatch_406(raw, uniq):
    e = uniq("e")
    raw.rpc(1, "exchange.declare", exchange=e, type="fanout", arguments={"alternate-exchange": "a"})
    raw.send_method(1, "exchange.declare", exchange=e, type="fanout")
    raw.expect_chan_close(1, 406, (40, 10),
                          "PRECONDITION_FAILED - inequivalent arg 'alternate-exchange'")


def test_exchange_identical_redeclare_ok(raw, uniq):
    e = uniq("e")
    for _ in range(2):
        raw.rpc(1, "exchange.declare", exchange=e, type="topic", durable=True,
                arguments={"alternate-exchange": "a"})


def test_queue_auto_delete_mismatch_406(raw, uniq):
    q = uniq()
    raw.rpc(1, "queue.declare", queue=q, auto_delete=True)
    raw.send_method(1, "queue.declare", queue=q)
    f = raw.expect_chan_close(1, 406, (50, 10))
    assert f.args["reply-text"] == (
        "PRECONDITION_FAILED - inequivalent arg 'auto_delete' for queue '%s' in vhost '/': "
        "received 'false' but current is 'true'" % q).encode()


def test_queue_exclusive_mismatch_405(raw, uniq):
    q = uniq()
    raw.rpc(1, "queue.declare", queue=q)
    raw.send_method(1, "queue.declare", queue=q, exclusive=True)
    raw.expect_chan_close(1, 405, (50, 10), "RESOURCE_LOCKED - cannot obtain exclusive access "
                                            "to locked queue '%s'" % q)


def test_queue_exclusive_redeclared_non_exclusive_same_connection_405(raw, uniq):
    q = uniq()
    raw.rpc(1, "queue.declare", queue=q, exclusive=True)
    raw.send_method(1, "queue.declare", queue=q)
    raw.expect_chan_close(1, 405, (50, 10))


def test_queue_argument_removed_on_redeclare_406(raw, uniq):
    q = uniq()
    raw.rpc(1, "queue.declare", queue=q, arguments={"x-max-length": 5})
    raw.send_method(1, "queue.declare", queue=q)
    raw.expect_chan_close(1, 406, (50, 10), "PRECONDITION_FAILED - inequivalent arg 'x-max-length'")


def test_queue_argument_added_on_redeclare_406(raw, uniq):
    q = uniq()
    raw.rpc(1, "queue.declare", queue=q)
    raw.send_method(1, "queue.declare", queue=q, arguments={"x-max-length": 5})
    raw.expect_chan_close(1, 406, (50, 10), "PRECONDITION_FAILED - inequivalent arg 'x-max-length'")


def test_queue_unknown_argument_not_compared(raw, uniq):
    q = uniq()
    raw.rpc(1, "queue.declare", queue=q)
    f = raw.rpc(1, "queue.declare", queue=q, arguments={"x-custom": 5})
    assert f.args["queue"] == q.encode()


def test_queue_redeclare_returns_counts(raw, uniq):
    q = uniq()
    raw.rpc(1, "queue.declare", queue=q)
    raw.rpc(1, "confirm.select")
    raw.publish(1, b"a", routing_key=q)
    raw.publish(1, b"b", routing_key=q)
    acked = 0
    while acked < 2:  # confirmed = enqueued
        f = raw.wait("basic.ack", 1)
        acked = f.args["delivery-tag"] if f.args["multiple"] else acked + 1
    f = raw.rpc(1, "queue.declare", queue=q)
    assert f.args["message-count"] == 2 and f.args["consumer-count"] == 0


def test_publish_into_other_connections_exclusive_queue_allowed(broker, raw, uniq):
    q = uniq()
    raw.rpc(1, "queue.declare", queue=q, exclusive=True)
    other = wire.Conn(broker).open()
    other.channel(1)
    other.publish(1, b"from-other", routing_key=q)
    other.rpc(1, "basic.qos", prefetch_count=0)
    other.close()
    raw.send_method(1, "basic.get", queue=q, no_ack=True)
    raw.wait("basic.get-ok", 1)
    assert raw.read_content()[1] == b"from-other"


def test_bind_other_connections_exclusive_queue_405(broker, raw, uniq):
    q = uniq()
    raw.rpc(1, "queue.declare", queue=q, exclusive=True)
    other = wire.Conn(broker).open()
    other.channel(1)
    other.send_method(1, "queue.bind", queue=q, exchange="amq.fanout")
    other.expect_chan_close(1, 405, (50, 20), "RESOURCE_LOCKED")
    other.close()


def test_passive_declare_of_default_exchange_403(raw):
    raw.send_method(1, "exchange.declare", exchange="", type="direct", passive=True)
    raw.expect_chan_close(1, 403, (40, 10),
                          "ACCESS_REFUSED - operation not permitted on the default exchange")


def test_passive_declare_missing_amq_gen_queue_404(raw):
    raw.send_method(1, "queue.declare", queue="amq.gen-foo", passive=True)
    f = raw.expect_chan_close(1, 404, (50, 10))
    assert f.args["reply-text"] == b"NOT_FOUND - no queue 'amq.gen-foo' in vhost '/'"


def test_passive_declare_amq_exchange_ok(raw):
    raw.rpc(1, "exchange.declare", exchange="amq.fanout", passive=True)


def test_exchange_type_case_sensitive_503(raw, uniq):
    raw.send_method(1, "exchange.declare", exchange=uniq("e"), type="Direct")
    raw.expect_conn_close(503, (40, 10), "COMMAND_INVALID - unknown exchange type 'Direct'")
