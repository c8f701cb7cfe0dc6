"""Soft (channel) and hard (connection) errors: exact reply codes, class/method ids, texts."""
import pytest

from harness import wire


def declare_q(raw, name, **kw):
    return raw.rpc(1, "queue.declare", queue=name, **kw)


def test_passive_exchange_missing_404(raw):
    raw.send_method(1, "exchange.declare", exchange="no-such-ex-1", passive=True)
    f = raw.expect_chan_close(1, 404, (40, 10))
    assert f.args["reply-text"] == b"NOT_FOUND - no exchange 'no-such-ex-1' in vhost '/'"


def test_unknown_exchange_type_is_connection_503(raw, uniq):
    raw.send_method(1, "exchange.declare", exchange=uniq("e"), type="bogus")
    f = raw.expect_conn_close(503, (40, 10))
    assert f.args["reply-text"] == b"COMMAND_INVALID - unknown exchange type 'bogus'"


def test_exchange_amq_prefix_403(raw):
    raw.send_method(1, "exchange.declare", exchange="amq.custom-x", type="direct")
    f = raw.expect_chan_close(1, 403, (40, 10))
    assert f.args["reply-text"] == (b"ACCESS_REFUSED - exchange name 'amq.custom-x' contains "
                                    b"reserved prefix 'amq.*'")


def test_redeclare_amq_direct_same_properties_ok(raw):
    raw.rpc(1, "exchange.declare", exchange="amq.direct", type="direct", durable=True)


def test_redeclare_amq_direct_nondurable_406(raw):
    raw.send_method(1, "exchange.declare", exchange="amq.direct", type="direct")
    raw.expect_chan_close(1, 406, (40, 10), "PRECONDITION_FAILED - inequivalent arg 'durable'")


def test_exchange_redeclare_other_type_406(raw, uniq):
    e = uniq("e")
    raw.rpc(1, "exchange.declare", exchange=e, type="direct")
    raw.send_method(1, "exchange.declare", exchange=e, type="fanout")
    f = raw.expect_chan_close(1, 406, (40, 10))
    assert f.args["reply-text"] == (
        "PRECONDITION_FAILED - inequivalent arg 'type' for exchange '%s' in vhost '/': "
        "received 'fanout' but current is 'direct'" % e).encode()


def test_exchange_redeclare_other_durability_406(raw, uniq):
    e = uniq("e")
    raw.rpc(1, "exchange.declare", exchange=e, type="direct")
    raw.send_method(1, "exchange.declare", exchange=e, type="direct", durable=True)
    raw.expect_chan_close(1, 406, (40, 10), "PRECONDITION_FAILED - inequivalent arg 'durable'")


def test_exchange_passive_ignores_type(raw):
    raw.rpc(1, "exchange.declare", exchange="amq.topic", type="fanout", passive=True)


def test_exchange_delete_missing_is_ok(raw):
    raw.rpc(1, "exchange.delete", exchange="no-such-ex-2")


def test_exchange_delete_default_403(raw):
    raw.send_method(1, "exchange.delete", exchange="")
    f = raw.expect_chan_close(1, 403, (40, 20))
    assert f.args["reply-text"] == b"ACCESS_REFUSED - operation not permitted on the default exchange"


def test_exchange_declare_default_403(raw):
    raw.send_method(1, "exchange.declare", exchange="", type="direct")
    raw.expect_chan_close(1, 403, (40, 10))


def test_exchange_delete_amq_direct_403(raw):
    raw.send_method(1, "exchange.delete", exchange="amq.direct")
    raw.expect_chan_close(1, 403, (40, 20), "ACCESS_REFUSED")


def test_publish_to_missing_exchange_404(raw):
    raw.publish(1, b"x", exchange="no-such-ex-3")
    f = raw.expect_chan_close(1, 404, (60, 40))
    assert f.args["reply-text"] == b"NOT_FOUND - no exchange 'no-such-ex-3' in vhost '/'"


def test_publish_to_internal_exchange_403(raw, uniq):
    e = uniq("e")
    raw.rpc(1, "exchange.declare", exchange=e, type="fanout", internal=True)
    raw.publish(1, b"x", exchange=e)
    f = raw.expect_chan_close(1, 403, (60, 40))
    assert f.args["reply-text"] == (
        "ACCESS_REFUSED - cannot publish to internal exchange '%s' in vhost '/'" % e).encode()


def test_passive_queue_missing_404(raw):
    raw.send_method(1, "queue.declare", queue="no-such-q-1", passive=True)
    f = raw.expect_chan_close(1, 404, (50, 10))
    assert f.args["reply-text"] == b"NOT_FOUND - no queue 'no-such-q-1' in vhost '/'"


def test_queue_amq_prefix_403(raw):
    raw.send_method(1, "queue.declare", queue="amq.custom-q")
    f = raw.expect_chan_close(1, 403, (50, 10))
    assert f.args["reply-text"] == (b"ACCESS_REFUSED - queue name 'amq.custom-q' contains "
                                    b"reserved prefix 'amq.*'")


def test_queue_redeclare_other_durability_406(raw, uniq):
    q = uniq()
    declare_q(raw, q)
    raw.send_method(1, "queue.declare", queue=q, durable=True)
    f = raw.expect_chan_close(1, 406, (50, 10))
    assert f.args["reply-text"] == (
        "PRECONDITION_FAILED - inequivalent arg 'durable' for queue '%s' in vhost '/': "
        "received 'true' but current is 'false'" % q).encode()


def test_queue_redeclare_other_arguments_406(raw, uniq):
    q = uniq()
    declare_q(raw, q, arguments={"x-message-ttl": 1000})
    raw.send_method(1, "queue.declare", queue=q, arguments={"x-message-ttl": 2000})
    raw.expect_chan_close(1, 406, (50, 10),
                          "PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue '%s'" % q)


def test_queue_redeclare_same_arguments_ok(raw, uniq):
    q = uniq()
    declare_q(raw, q, arguments={"x-message-ttl": 1000})
    declare_q(raw, q, arguments={"x-message-ttl": 1000})


def test_queue_passive_ignores_arguments(raw, uniq):
    q = uniq()
    declare_q(raw, q, arguments={"x-message-ttl": 1000})
    declare_q(raw, q, passive=True, durable=True)


def test_queue_bind_missing_queue_404(raw):
    raw.send_method(1, "queue.bind", queue="no-such-q-2", exchange="amq.direct")
    raw.expect_chan_close(1, 404, (50, 20), "NOT_FOUND - no queue 'no-such-q-2'")


def test_queue_bind_missing_exchange_404(raw, uniq):
    q = uniq()
    declare_q(raw, q)
    raw.send_method(1, "queue.bind", queue=q, exchange="no-such-ex-4")
    raw.expect_chan_close(1, 404, (50, 20), "NOT_FOUND - no exchange 'no-such-ex-4'")


def test_queue_bind_default_exchange_403(raw, uniq):
    q = uniq()
    declare_q(raw, q)
    raw.send_method(1, "queue.bind", queue=q, exchange="")
    f = raw.expect_chan_close(1, 403, (50, 20))
    assert f.args["reply-text"] == b"ACCESS_REFUSED - operation not permitted on the default exchange"


def test_queue_unbind_missing_binding_is_ok(raw, uniq):
    q = uniq()
    declare_q(raw, q)
    raw.rpc(1, "queue.unbind", queue=q, exchange="amq.direct", routing_key="never-bound")


def test_queue_purge_missing_404(raw):
    raw.send_method(1, "queue.purge", queue="no-such-q-3")
    raw.expect_chan_close(1, 404, (50, 30))


def test_queue_delete_missing_is_ok(raw):
    f = raw.rpc(1, "queue.delete", queue="no-such-q-4")
    assert f.args["message-count"] == 0


def test_queue_delete_if_empty_on_nonempty_406(raw, uniq):
    q = uniq()
    declare_q(raw, q)
    raw.publish(1, b"x", routing_key=q)
    raw.send_method(1, "queue.delete", queue=q, if_empty=True)
    f = raw.expect_chan_close(1, 406, (50, 40))
    assert f.args["reply-text"] == (
        "PRECONDITION_FAILED - queue '%s' in vhost '/' not empty" % q).encode()


def test_queue_delete_if_unused_with_consumer_406(raw, uniq):
    q = uniq()
    declare_q(raw, q)
    raw.rpc(1, "basic.consume", queue=q)
    raw.send_method(1, "queue.delete", queue=q, if_unused=True)
    f = raw.expect_chan_close(1, 406, (50, 40))
    assert f.args["reply-text"] == (
        "PRECONDITION_FAILED - queue '%s' in vhost '/' in use" % q).encode()


def test_queue_delete_if_empty_on_empty_queue_ok(raw, uniq):
    q = uniq()
    declare_q(raw, q)
    assert raw.rpc(1, "queue.delete", queue=q, if_empty=True).args["message-count"] == 0


def test_consume_missing_queue_404(raw):
    raw.send_method(1, "basic.consume", queue="no-such-q-5")
    raw.expect_chan_close(1, 404, (60, 20))


def test_get_missing_queue_404(raw):
    raw.send_method(1, "basic.get", queue="no-such-q-6")
    raw.expect_chan_close(1, 404, (60, 70))


@pytest.mark.parametrize("method,cm", [("queue.bind", (50, 20)), ("basic.consume", (60, 20)),
                                       ("basic.get", (60, 70))])
def test_empty_queue_name_without_previous_declare_404(raw, method, cm):
    kw = {"exchange": "amq.direct"} if method == "queue.bind" else {}
    raw.send_method(1, method, queue="", **kw)
    f = raw.expect_chan_close(1, 404, cm)
    assert f.args["reply-text"] == b"NOT_FOUND - no previously declared queue"


def test_empty_queue_name_means_last_declared(raw):
    q = raw.rpc(1, "queue.declare", queue="", exclusive=True).args["queue"]
    raw.rpc(1, "queue.bind", queue="", exchange="amq.direct", routing_key="lastq")
    raw.publish(1, b"hello", exchange="amq.direct", routing_key="lastq")
    raw.send_method(1, "basic.get", queue="", no_ack=True)
    f = raw.wait("basic.get-ok", 1)
    _, body, _ = raw.read_content()
    assert body == b"hello" and f.args["routing-key"] == b"lastq"
    assert raw.rpc(1, "queue.delete", queue="").args["message-count"] == 0
    raw.send_method(1, "queue.declare", queue=q, passive=True)
    raw.expect_chan_close(1, 404)


def test_reused_consumer_tag_is_connection_530(raw, uniq):
    q = uniq()
    declare_q(raw, q)
    raw.rpc(1, "basic.consume", queue=q, consumer_tag="t1")
    raw.send_method(1, "basic.consume", queue=q, consumer_tag="t1")
    f = raw.expect_conn_close(530, (60, 20))
    assert f.args["reply-text"] == b"NOT_ALLOWED - attempt to reuse consumer tag 't1'"


def test_exclusive_consumer_blocks_others_403(raw, uniq):
    q = uniq()
    declare_q(raw, q)
    raw.rpc(1, "basic.consume", queue=q, exclusive=True)
    raw.rpc(2, "channel.open")
    raw.send_method(2, "basic.consume", queue=q)
    f = raw.expect_chan_close(2, 403, (60, 20))
    assert f.args["reply-text"] == (
        "ACCESS_REFUSED - queue '%s' in vhost '/' in exclusive use" % q).encode()


def test_exclusive_consume_on_queue_with_consumers_403(raw, uniq):
    q = uniq()
    declare_q(raw, q)
    raw.rpc(1, "basic.consume", queue=q)
    raw.rpc(2, "channel.open")
    raw.send_method(2, "basic.consume", queue=q, exclusive=True)
    raw.expect_chan_close(2, 403, (60, 20))


def test_cancel_unknown_consumer_tag_is_ok(raw):
    f = raw.rpc(1, "basic.cancel", consumer_tag="never-existed")
    assert f.args["consumer-tag"] == b"never-existed"


def test_exchange_bind_missing_destination_404(raw):
    raw.send_method(1, "exchange.bind", destination="no-such-ex-5", source="amq.direct")
    raw.expect_chan_close(1, 404, (40, 30))


def test_exchange_bind_missing_source_404(raw):
    raw.send_method(1, "exchange.bind", destination="amq.fanout", source="no-such-ex-6")
    raw.expect_chan_close(1, 404, (40, 30))


def test_exchange_unbind_missing_binding_is_ok_with_id_51(raw):
    raw.send_method(1, "exchange.unbind", destination="amq.fanout", source="amq.direct",
                    routing_key="zz")
    f = raw.next_method()
    assert (f.class_id, f.method_id) == (40, 51)


def test_user_id_mismatch_406(raw, uniq):
    q = uniq()
    declare_q(raw, q)
    raw.publish(1, b"x", routing_key=q, props={"user_id": "bob"})
    f = raw.expect_chan_close(1, 406, (60, 40))
    assert f.args["reply-text"] == (b"PRECONDITION_FAILED - user_id property set to 'bob' but "
                                    b"authenticated user was 'admin'")


def test_user_id_matching_is_accepted(raw, uniq):
    q = uniq()
    declare_q(raw, q)
    raw.publish(1, b"x", routing_key=q, props={"user_id": "admin"})
    raw.send_method(1, "basic.get", queue=q, no_ack=True)
    raw.wait("basic.get-ok", 1)
    props, body, _ = raw.read_content()
    assert props["user_id"] == b"admin"


def test_unknown_delivery_tag_ack_406(raw):
    raw.send_method(1, "basic.ack", delivery_tag=5)
    f = raw.expect_chan_close(1, 406, (60, 80))
    assert f.args["reply-text"] == b"PRECONDITION_FAILED - unknown delivery tag 5"


def test_unknown_delivery_tag_reject_406(raw):
    raw.send_method(1, "basic.reject", delivery_tag=7)
    raw.expect_chan_close(1, 406, (60, 90), "PRECONDITION_FAILED - unknown delivery tag 7")


def test_unknown_delivery_tag_nack_406(raw):
    raw.send_method(1, "basic.nack", delivery_tag=9)
    raw.expect_chan_close(1, 406, (60, 120), "PRECONDITION_FAILED - unknown delivery tag 9")


def test_double_ack_406(raw, uniq):
    q = uniq()
    declare_q(raw, q)
    raw.publish(1, b"x", routing_key=q)
    raw.send_method(1, "basic.get", queue=q)
    tag = raw.wait("basic.get-ok", 1).args["delivery-tag"]
    raw.read_content()
    raw.send_method(1, "basic.ack", delivery_tag=tag)
    raw.send_method(1, "basic.ack", delivery_tag=tag)
    raw.expect_chan_close(1, 406, (60, 80))


def test_qos_prefetch_size_not_implemented_540(raw):
    raw.send_method(1, "basic.qos", prefetch_size=10)
    f = raw.expect_conn_close(540, (60, 10))
    assert f.args["reply-text"] == b"NOT_IMPLEMENTED - prefetch_size!=0 (10)"


def test_recover_requeue_false_not_implemented_540(raw):
    raw.send_method(1, "basic.recover", requeue=False)
    raw.expect_conn_close(540, (60, 110), "NOT_IMPLEMENTED - requeue=false")


def test_recover_async_requeue_false_not_implemented_540(raw):
    raw.send_method(1, "basic.recover-async", requeue=False)
    raw.expect_conn_close(540, (60, 100))


def test_immediate_publish_540(raw):
    raw.publish(1, b"x", routing_key="whatever", immediate=True)
    f = raw.expect_conn_close(540, (60, 40))
    assert f.args["reply-text"] == b"NOT_IMPLEMENTED - immediate=true"


def test_tx_commit_without_select_406(raw):
    raw.send_method(1, "tx.commit")
    f = raw.expect_chan_close(1, 406, (90, 20))
    assert f.args["reply-text"] == b"PRECONDITION_FAILED - channel is not transactional"


def test_tx_rollback_without_select_406(raw):
    raw.send_method(1, "tx.rollback")
    raw.expect_chan_close(1, 406, (90, 30))


def test_tx_select_after_confirm_406(raw):
    raw.rpc(1, "confirm.select")
    raw.send_method(1, "tx.select")
    f = raw.expect_chan_close(1, 406, (90, 10))
    assert f.args["reply-text"] == b"PRECONDITION_FAILED - cannot switch from confirm to tx mode"


def test_confirm_select_after_tx_406(raw):
    raw.rpc(1, "tx.select")
    raw.send_method(1, "confirm.select")
    f = raw.expect_chan_close(1, 406, (85, 10))
    assert f.args["reply-text"] == b"PRECONDITION_FAILED - cannot switch from tx to confirm mode"


@pytest.mark.parametrize("args,prefix", [
    ({"x-message-ttl": "abc"}, "PRECONDITION_FAILED - invalid arg 'x-message-ttl'"),
    ({"x-max-priority": 300}, "PRECONDITION_FAILED - invalid arg 'x-max-priority'"),
    ({"x-expires": 0}, "PRECONDITION_FAILED - invalid arg 'x-expires'"),
    ({"x-overflow": "bogus"}, "PRECONDITION_FAILED - invalid arg 'x-overflow'"),
    ({"x-max-length": -1}, "PRECONDITION_FAILED - invalid arg 'x-max-length'"),
])
def test_invalid_queue_arguments_406(raw, uniq, args, prefix):
    raw.send_method(1, "queue.declare", queue=uniq(), arguments=args)
    raw.expect_chan_close(1, 406, (50, 10), prefix)


def test_exclusive_queue_from_other_connection_405(broker, raw, uniq):
    q = uniq()
    declare_q(raw, q, exclusive=True)
    other = wire.Conn(broker).open()
    other.channel(1)
    other.send_method(1, "queue.declare", queue=q)
    f = other.expect_chan_close(1, 405, (50, 10))
    assert f.args["reply-text"].startswith(b"RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '%s'" % q.encode())
    for method, kw, cm in (("basic.consume", {}, (60, 20)), ("queue.purge", {}, (50, 30)),
                           ("basic.get", {}, (60, 70)), ("queue.delete", {}, (50, 40))):
        other.rpc(1, "channel.open")
        other.send_method(1, method, queue=q, **kw)
        other.expect_chan_close(1, 405, cm)
    other.close()
    # the owner still has it
    assert declare_q(raw, q, passive=True).args["queue"] == q.encode()


def test_exclusive_queue_passive_from_other_connection_405(broker, raw, uniq):
    q = uniq()
    declare_q(raw, q, exclusive=True)
    other = wire.Conn(broker).open()
    other.channel(1)
    other.send_method(1, "queue.declare", queue=q, passive=True)
    other.expect_chan_close(1, 405, (50, 10))
    other.close()
