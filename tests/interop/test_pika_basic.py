"""basic.* with pika: consume/cancel, mandatory returns, get, ack/nack/reject, recover,
publisher confirms, transactions."""
from decimal import Decimal

import pika
import pytest

from harness.fixtures import drain, pika_params


def newq(ch, name="", **kw):
    return ch.queue_declare(name, exclusive=True, **kw).method.queue


def test_get_empty(pch):
    q = newq(pch)
    assert pch.basic_get(q) == (None, None, None)


def test_get_ok_fields(pch):
    q = newq(pch)
    pch.basic_publish("", q, b"a")
    pch.basic_publish("", q, b"b")
    m, p, b = pch.basic_get(q)
    assert b == b"a" and m.message_count == 1 and m.redelivered is False
    assert m.exchange == "" and m.routing_key == q and m.delivery_tag == 1


def test_delivery_tags_increase_per_channel(pch):
    q = newq(pch)
    for i in range(5):
        pch.basic_publish("", q, b"x")
    tags = [pch.basic_get(q)[0].delivery_tag for _ in range(5)]
    assert tags == [1, 2, 3, 4, 5]


def test_consume_deliver_fields(pconn):
    ch = pconn.channel()
    q = newq(ch)
    got = []
    tag = ch.basic_consume(q, lambda c, m, p, b: got.append((m, p, b)), consumer_tag="my-tag")
    assert tag == "my-tag"
    ch.basic_publish("", q, b"body", pika.BasicProperties(content_type="text/plain"))
    assert drain(pconn, lambda: got)
    m, p, b = got[0]
    assert (m.consumer_tag, m.delivery_tag, m.redelivered, m.exchange, m.routing_key) == \
        ("my-tag", 1, False, "", q)
    assert p.content_type == "text/plain" and b == b"body"


def test_server_generated_consumer_tag(pch):
    q = newq(pch)
    tag = pch.basic_consume(q, lambda *a: None)
    assert tag.startswith("ctag")


def test_server_generated_consumer_tag_raw(raw):
    q = raw.rpc(1, "queue.declare", queue="", exclusive=True).args["queue"]
    f = raw.rpc(1, "basic.consume", queue=q, consumer_tag="")
    assert f.args["consumer-tag"].startswith(b"amq.ctag-")


def test_cancel_stops_delivery(pconn):
    ch = pconn.channel()
    q = newq(ch)
    got = []
    tag = ch.basic_consume(q, lambda c, m, p, b: got.append(b), auto_ack=True)
    ch.basic_cancel(tag)
    ch.basic_publish("", q, b"later")
    pconn.process_data_events(time_limit=0.2)
    assert got == []
    assert ch.basic_get(q, auto_ack=True)[2] == b"later"


def test_cancel_requeues_nothing_but_unacked_stays_unacked(pconn):
    ch = pconn.channel()
    q = newq(ch)
    ch.basic_publish("", q, b"x")
    got = []
    tag = ch.basic_consume(q, lambda c, m, p, b: got.append(m.delivery_tag))
    drain(pconn, lambda: got)
    ch.basic_cancel(tag)
    assert ch.basic_get(q)[0] is None
    ch.basic_ack(got[0])
    assert ch.queue_declare(q, passive=True).method.message_count == 0


def test_mandatory_unroutable_returns_312(pconn):
    ch = pconn.channel()
    returned = []
    ch.add_on_return_callback(lambda c, m, p, b: returned.append((m, b)))
    ch.basic_publish("amq.direct", "nobody-bound-here", b"bounce", mandatory=True)
    assert drain(pconn, lambda: returned)
    m, b = returned[0]
    assert (m.reply_code, m.reply_text, m.exchange, m.routing_key, b) == \
        (312, "NO_ROUTE", "amq.direct", "nobody-bound-here", b"bounce")


def test_mandatory_routable_not_returned(pconn):
    ch = pconn.channel()
    q = newq(ch)
    returned = []
    ch.add_on_return_callback(lambda c, m, p, b: returned.append(b))
    ch.basic_publish("", q, b"ok", mandatory=True)
    assert ch.basic_get(q, auto_ack=True)[2] == b"ok"
    pconn.process_data_events(time_limit=0.2)
    assert returned == []


def test_non_mandatory_unroutable_dropped_silently(pconn):
    ch = pconn.channel()
    returned = []
    ch.add_on_return_callback(lambda c, m, p, b: returned.append(b))
    ch.basic_publish("amq.direct", "nobody-bound-here", b"x")
    pconn.process_data_events(time_limit=0.2)
    assert returned == [] and ch.is_open


def test_returned_message_keeps_properties(pconn):
    ch = pconn.channel()
    returned = []
    ch.add_on_return_callback(lambda c, m, p, b: returned.append(p))
    ch.basic_publish("", "no-such-queue-r", b"x", pika.BasicProperties(
        message_id="m1", headers={"k": "v"}), mandatory=True)
    assert drain(pconn, lambda: returned)
    assert returned[0].message_id == "m1" and returned[0].headers == {"k": "v"}


def test_ack_removes_message(pch):
    q = newq(pch)
    pch.basic_publish("", q, b"x")
    m = pch.basic_get(q)[0]
    pch.basic_ack(m.delivery_tag)
    pch.basic_recover(requeue=True)
    assert pch.basic_get(q)[0] is None


def test_ack_multiple(pch):
    q = newq(pch)
    for i in range(5):
        pch.basic_publish("", q, b"%d" % i)
    tags = [pch.basic_get(q)[0].delivery_tag for _ in range(5)]
    pch.basic_ack(tags[2], multiple=True)
    pch.basic_recover(requeue=True)
    left = [pch.basic_get(q, auto_ack=True)[2] for _ in range(2)]
    assert left == [b"3", b"4"] and pch.basic_get(q)[0] is None


def test_ack_zero_multiple_acks_all(pch):
    q = newq(pch)
    for i in range(4):
        pch.basic_publish("", q, b"x")
    for _ in range(4):
        pch.basic_get(q)
    pch.basic_ack(0, multiple=True)
    pch.basic_recover(requeue=True)
    assert pch.basic_get(q)[0] is None


def test_reject_requeue_sets_redelivered(pch):
    q = newq(pch)
    pch.basic_publish("", q, b"x")
    m = pch.basic_get(q)[0]
    pch.basic_reject(m.delivery_tag, requeue=True)
    m2, p, b = pch.basic_get(q, auto_ack=True)
    assert b == b"x" and m2.redelivered is True


def test_reject_without_requeue_discards(pch):
    q = newq(pch)
    pch.basic_publish("", q, b"x")
    m = pch.basic_get(q)[0]
    pch.basic_reject(m.delivery_tag, requeue=False)
    assert pch.basic_get(q)[0] is None


def test_nack_multiple_requeue(pch):
    q = newq(pch)
    for i in range(3):
        pch.basic_publish("", q, b"%d" % i)
    tags = [pch.basic_get(q)[0].delivery_tag for _ in range(3)]
    pch.basic_nack(tags[-1], multiple=True, requeue=True)
    got = [pch.basic_get(q, auto_ack=True) for _ in range(3)]
    assert [g[2] for g in got] == [b"0", b"1", b"2"] and all(g[0].redelivered for g in got)


def test_nack_single_no_requeue(pch):
    q = newq(pch)
    pch.basic_publish("", q, b"a")
    pch.basic_publish("", q, b"b")
    t1 = pch.basic_get(q)[0].delivery_tag
    t2 = pch.basic_get(q)[0].delivery_tag
    pch.basic_nack(t1, multiple=False, requeue=False)
    pch.basic_nack(t2, multiple=False, requeue=True)
    assert pch.basic_get(q, auto_ack=True)[2] == b"b"
    assert pch.basic_get(q)[0] is None


def test_redelivery_to_consumer_after_reject(pconn):
    ch = pconn.channel()
    q = newq(ch)
    seen = []

    def cb(c, m, p, b):
        seen.append(m.redelivered)
        if len(seen) == 1:
            c.basic_reject(m.delivery_tag, requeue=True)
        else:
            c.basic_ack(m.delivery_tag)
    ch.basic_consume(q, cb)
    ch.basic_publish("", q, b"x")
    assert drain(pconn, lambda: len(seen) == 2)
    assert seen == [False, True]


def test_recover_requeue_redelivers_unacked(pconn):
    ch = pconn.channel()
    q = newq(ch)
    got = []
    ch.basic_consume(q, lambda c, m, p, b: got.append(m.redelivered))
    ch.basic_publish("", q, b"x")
    drain(pconn, lambda: len(got) == 1)
    ch.basic_recover(requeue=True)
    assert drain(pconn, lambda: len(got) == 2)
    assert got == [False, True]


def test_recover_async(raw):
    q = raw.rpc(1, "queue.declare", queue="", exclusive=True).args["queue"].decode()
    raw.publish(1, b"x", routing_key=q)
    raw.send_method(1, "basic.get", queue=q)
    raw.wait("basic.get-ok", 1)
    raw.read_content()
    raw.send_method(1, "basic.recover-async", requeue=True)
    raw.send_method(1, "basic.get", queue=q, no_ack=True)
    f = raw.wait("basic.get-ok", 1)
    assert f.args["redelivered"] is True


def test_no_ack_consumer_messages_not_requeued(pconn):
    ch = pconn.channel()
    q = newq(ch)
    got = []
    tag = ch.basic_consume(q, lambda c, m, p, b: got.append(b), auto_ack=True)
    ch.basic_publish("", q, b"x")
    drain(pconn, lambda: got)
    ch.basic_cancel(tag)
    ch.basic_recover(requeue=True)
    assert ch.basic_get(q)[0] is None


def test_consumer_on_one_channel_ack_on_another_fails(pconn):
    ch1, ch2 = pconn.channel(), pconn.channel()
    q = newq(ch1)
    ch1.basic_publish("", q, b"x")
    m = ch1.basic_get(q)[0]
    ch2.basic_ack(m.delivery_tag)
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as ei:
        ch2.basic_get(q)
    assert ei.value.reply_code == 406


def test_exclusive_consume_same_connection_other_channel_403(pconn):
    ch1, ch2 = pconn.channel(), pconn.channel()
    q = newq(ch1)
    ch1.basic_consume(q, lambda *a: None, exclusive=True)
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as ei:
        ch2.basic_consume(q, lambda *a: None)
    assert ei.value.reply_code == 403


def test_basic_get_with_consumer_present(pconn):
    ch = pconn.channel()
    q = newq(ch)
    ch.basic_qos(prefetch_count=1)
    got = []
    ch.basic_consume(q, lambda c, m, p, b: got.append(b))
    for i in range(3):
        ch.basic_publish("", q, b"%d" % i)
    drain(pconn, lambda: got)
    m, p, b = ch.basic_get(q, auto_ack=True)
    assert b == b"1"


# ---------------------------------------------------------------- confirms
def test_confirm_select_then_publish_acked(pconn):
    ch = pconn.channel()
    ch.confirm_delivery()
    q = newq(ch)
    for i in range(10):
        ch.basic_publish("", q, b"%d" % i)  # raises if nacked
    assert ch.queue_declare(q, passive=True).method.message_count == 10


def test_confirm_sequence_numbers_raw(raw):
    raw.rpc(1, "confirm.select")
    q = raw.rpc(1, "queue.declare", queue="", exclusive=True).args["queue"].decode()
    for i in range(5):
        raw.publish(1, b"x", routing_key=q)
    acked = set()
    while len(acked) < 5:
        f = raw.wait("basic.ack", 1)
        tag = f.args["delivery-tag"]
        if f.args["multiple"]:
            acked.update(range(1, tag + 1))
        else:
            acked.add(tag)
    assert acked == {1, 2, 3, 4, 5}


def test_confirm_select_nowait_raw(raw):
    raw.send_method(1, "confirm.select", nowait=True)
    raw.publish(1, b"x", routing_key="nowhere-at-all")
    f = raw.wait("basic.ack", 1)
    assert f.args["delivery-tag"] == 1


def test_confirm_unroutable_acked(raw):
    raw.rpc(1, "confirm.select")
    raw.publish(1, b"x", exchange="amq.direct", routing_key="no-binding")
    f = raw.wait("basic.ack", 1)
    assert f.args["delivery-tag"] == 1 and f.args["multiple"] is False


def test_confirm_mandatory_unroutable_return_then_ack(raw):
    raw.rpc(1, "confirm.select")
    raw.publish(1, b"x", exchange="amq.direct", routing_key="no-binding", mandatory=True)
    r = raw.wait("basic.return", 1)
    assert r.args["reply-code"] == 312 and r.args["reply-text"] == b"NO_ROUTE"
    raw.read_content()
    f = raw.wait("basic.ack", 1)
    assert f.args["delivery-tag"] == 1


def test_pika_confirm_mandatory_unroutable_raises(pconn):
    ch = pconn.channel()
    ch.confirm_delivery()
    with pytest.raises(pika.exceptions.UnroutableError):
        ch.basic_publish("amq.direct", "no-binding", b"x", mandatory=True)


def test_confirm_select_idempotent_raw(raw):
    raw.rpc(1, "confirm.select")
    raw.rpc(1, "confirm.select")


# ---------------------------------------------------------------- transactions
def test_tx_commit_publishes(pch):
    q = newq(pch)
    pch.tx_select()
    pch.basic_publish("", q, b"a")
    pch.basic_publish("", q, b"b")
    assert pch.queue_declare(q, passive=True).method.message_count == 0
    pch.tx_commit()
    assert [pch.basic_get(q, auto_ack=True)[2] for _ in range(2)] == [b"a", b"b"]


def test_tx_rollback_discards_publishes(pch):
    q = newq(pch)
    pch.tx_select()
    pch.basic_publish("", q, b"a")
    pch.tx_rollback()
    pch.tx_commit()
    assert pch.queue_declare(q, passive=True).method.message_count == 0


def test_tx_acks_applied_on_commit(pconn):
    ch = pconn.channel()
    q = newq(ch)
    ch.basic_publish("", q, b"a")
    ch.tx_select()
    m = ch.basic_get(q)[0]
    ch.basic_ack(m.delivery_tag)
    ch.tx_rollback()
    # rolled-back ack: message still unacked; recover puts it back
    ch.basic_recover(requeue=True)
    m2 = ch.basic_get(q)[0]
    assert m2 is not None and m2.redelivered
    ch.basic_ack(m2.delivery_tag)
    ch.tx_commit()
    ch.basic_recover(requeue=True)
    assert ch.basic_get(q)[0] is None


def test_tx_mandatory_return_on_commit(raw):
    raw.rpc(1, "tx.select")
    raw.publish(1, b"x", exchange="amq.direct", routing_key="no-binding", mandatory=True)
    raw.send_method(1, "tx.commit")
    f = raw.next_method()
    assert f.name == "basic.return", f
    raw.read_content()
    raw.wait("tx.commit-ok", 1)


def test_tx_select_twice_ok(raw):
    raw.rpc(1, "tx.select")
    raw.rpc(1, "tx.select")
    raw.rpc(1, "tx.commit")


def test_channel_close_discards_uncommitted(broker, pch):
    q = newq(pch)
    ch2 = pch.connection.channel()
    ch2.tx_select()
    ch2.basic_publish("", q, b"x")
    ch2.close()
    assert pch.queue_declare(q, passive=True).method.message_count == 0


# ---------------------------------------------------------------- connections
def test_many_channels_pika(pconn):
    chans = [pconn.channel() for _ in range(50)]
    q = newq(chans[0])
    for c in chans:
        c.basic_publish("", q, b"x")
    assert drain(pconn, lambda: chans[0].queue_declare(q, passive=True).method.message_count == 50)


def test_channel_error_keeps_connection(pconn):
    ch = pconn.channel()
    with pytest.raises(pika.exceptions.ChannelClosedByBroker):
        ch.queue_declare("no-such-q-pk", passive=True)
    assert pconn.is_open
    pconn.channel().queue_declare("", exclusive=True)


def test_connection_error_reported_to_pika(pconn):
    ch = pconn.channel()
    with pytest.raises((pika.exceptions.ConnectionClosedByBroker,
                        pika.exceptions.ChannelClosedByBroker,
                        pika.exceptions.StreamLostError)) as ei:
        ch.exchange_declare("x-bad-type-conn", exchange_type="bogus")
    assert not pconn.is_open or isinstance(ei.value, pika.exceptions.ConnectionClosedByBroker)


def test_pika_bad_password(broker):
    with pytest.raises(pika.exceptions.ProbableAuthenticationError):
        pika.BlockingConnection(pika_params(broker, password="wrong"))


def test_pika_unknown_vhost(broker):
    with pytest.raises(pika.exceptions.ProbableAccessDeniedError):
        pika.BlockingConnection(pika_params(broker, vhost="missing-vhost"))


def test_pika_heartbeat_negotiation(broker):
    c = pika.BlockingConnection(pika_params(broker, heartbeat=5))
    assert c._impl.params.heartbeat == 5
    c.close()


def test_pika_frame_max_negotiation(broker):
    c = pika.BlockingConnection(pika_params(broker, frame_max=8192))
    ch = c.channel()
    q = newq(ch)
    body = b"y" * 50000
    ch.basic_publish("", q, body)
    assert ch.basic_get(q, auto_ack=True)[2] == body
    c.close()


def test_pika_large_message_10mb(pch):
    q = newq(pch)
    body = bytes(range(256)) * (10 * 4096)
    pch.basic_publish("", q, body)
    assert pch.basic_get(q, auto_ack=True)[2] == body


def test_pika_empty_body(pch):
    q = newq(pch)
    pch.basic_publish("", q, b"")
    m, p, b = pch.basic_get(q, auto_ack=True)
    assert m is not None and b == b""


def test_pika_properties_round_trip(pch):
    q = newq(pch)
    props = pika.BasicProperties(content_type="a/b", content_encoding="utf-8",
                                 headers={"s": "str", "i": 42, "neg": -7, "d": Decimal("1.25"), "b": True,
                                          "l": [1, "two"], "t": {"n": 1}, "big": 2 ** 40},
                                 delivery_mode=2, priority=5, correlation_id="c",
                                 reply_to="r", expiration="60000", message_id="m",
                                 timestamp=1234567890, type="t", user_id="admin",
                                 app_id="a", cluster_id="cl")
    pch.basic_publish("", q, b"x", props)
    m, p, b = pch.basic_get(q, auto_ack=True)
    for k in ("content_type", "content_encoding", "headers", "delivery_mode", "priority",
              "correlation_id", "reply_to", "expiration", "message_id", "timestamp", "type",
              "user_id", "app_id", "cluster_id"):
        assert getattr(p, k) == getattr(props, k), k
