"""Queues with pika: server-named, passive, exclusive, auto-delete, purge, delete, FIFO,
round-robin, prefetch, consumer cancel notification."""
import pika
import pytest

from harness.fixtures import drain, pika_params


def newq(ch, name="", **kw):
    return ch.queue_declare(name, **kw).method.queue


def test_server_named_queue_prefix(pch):
    q = newq(pch, exclusive=True)
    assert q.startswith("amq.gen-") and len(q) > len("amq.gen-") + 10


def test_server_named_queues_are_distinct(pch):
    assert len({newq(pch, exclusive=True) for _ in range(20)}) == 20


def test_declare_ok_counts(pch, uniq):
    q = uniq()
    r = pch.queue_declare(q)
    assert (r.method.message_count, r.method.consumer_count) == (0, 0)
    for i in range(3):
        pch.basic_publish("", q, b"x")
    assert drain(pch.connection,
                 lambda: pch.queue_declare(q, passive=True).method.message_count == 3)


def test_passive_declare_reports_messages_and_consumers(pconn, uniq):
    ch = pconn.channel()
    q = uniq()
    ch.queue_declare(q)
    for i in range(5):
        ch.basic_publish("", q, b"m")
    ch2 = pconn.channel()
    ch2.basic_consume(newq(ch2, exclusive=True), lambda *a: None)
    ok = drain(pconn, lambda: ch.queue_declare(q, passive=True).method.message_count == 5)
    assert ok
    ch3 = pconn.channel()
    ch3.basic_qos(prefetch_count=1)
    ch3.basic_consume(q, lambda *a: None)
    r = ch.queue_declare(q, passive=True)
    assert r.method.consumer_count == 1


def test_fifo_order(pch):
    q = newq(pch, exclusive=True)
    for i in range(200):
        pch.basic_publish("", q, b"%d" % i)
    out = []
    for i in range(200):
        m, p, b = pch.basic_get(q, auto_ack=True)
        out.append(int(b))
    assert out == list(range(200))


def test_fifo_order_with_consumer(pconn):
    ch = pconn.channel()
    q = newq(ch, exclusive=True)
    for i in range(300):
        ch.basic_publish("", q, b"%d" % i)
    got = []
    ch.basic_consume(q, lambda c, m, p, b: got.append(int(b)), auto_ack=True)
    assert drain(pconn, lambda: len(got) == 300)
    assert got == list(range(300))


def test_round_robin_across_consumers(pconn):
    ch = pconn.channel()
    q = newq(ch, exclusive=True)
    seen = {"a": [], "b": [], "c": []}
    for tag in seen:
        ch.basic_consume(q, lambda c, m, p, b, tag=tag: seen[tag].append(int(b)),
                         auto_ack=True, consumer_tag=tag)
    for i in range(30):
        ch.basic_publish("", q, b"%d" % i)
    assert drain(pconn, lambda: sum(len(v) for v in seen.values()) == 30)
    assert sorted(len(v) for v in seen.values()) == [10, 10, 10]
    # each consumer sees every third message
    for v in seen.values():
        assert all((b - a) == 3 for a, b in zip(v, v[1:]))


def test_prefetch_count_is_honoured_exactly(pconn):
    ch = pconn.channel()
    q = newq(ch, exclusive=True)
    for i in range(20):
        ch.basic_publish("", q, b"%d" % i)
    ch.basic_qos(prefetch_count=3)
    got = []
    ch.basic_consume(q, lambda c, m, p, b: got.append(m.delivery_tag))
    drain(pconn, lambda: len(got) >= 3)
    pconn.process_data_events(time_limit=0.3)
    assert len(got) == 3
    ch.basic_ack(got[0])
    drain(pconn, lambda: len(got) >= 4)
    pconn.process_data_events(time_limit=0.3)
    assert len(got) == 4
    ch.basic_ack(got[-1], multiple=True)
    drain(pconn, lambda: len(got) >= 7)
    pconn.process_data_events(time_limit=0.3)
    assert len(got) == 7


def test_prefetch_does_not_limit_no_ack_consumers(pconn):
    ch = pconn.channel()
    q = newq(ch, exclusive=True)
    ch.basic_qos(prefetch_count=1)
    got = []
    ch.basic_consume(q, lambda c, m, p, b: got.append(b), auto_ack=True)
    for i in range(10):
        ch.basic_publish("", q, b"x")
    assert drain(pconn, lambda: len(got) == 10)


def test_prefetch_per_consumer_not_global(pconn):
    ch = pconn.channel()
    q = newq(ch, exclusive=True)
    for i in range(20):
        ch.basic_publish("", q, b"x")
    ch.basic_qos(prefetch_count=2, global_qos=False)
    a, b = [], []
    ch.basic_consume(q, lambda c, m, p, body: a.append(m.delivery_tag))
    ch.basic_consume(q, lambda c, m, p, body: b.append(m.delivery_tag))
    drain(pconn, lambda: len(a) + len(b) >= 4)
    pconn.process_data_events(time_limit=0.3)
    assert (len(a), len(b)) == (2, 2)


def test_prefetch_global_shared_by_channel_consumers(pconn):
    ch = pconn.channel()
    q = newq(ch, exclusive=True)
    for i in range(20):
        ch.basic_publish("", q, b"x")
    ch.basic_qos(prefetch_count=3, global_qos=True)
    a, b = [], []
    ch.basic_consume(q, lambda c, m, p, body: a.append(m.delivery_tag))
    ch.basic_consume(q, lambda c, m, p, body: b.append(m.delivery_tag))
    drain(pconn, lambda: len(a) + len(b) >= 3)
    pconn.process_data_events(time_limit=0.3)
    assert len(a) + len(b) == 3


def test_qos_zero_means_unlimited(pconn):
    ch = pconn.channel()
    q = newq(ch, exclusive=True)
    ch.basic_qos(prefetch_count=0)
    for i in range(50):
        ch.basic_publish("", q, b"x")
    got = []
    ch.basic_consume(q, lambda c, m, p, body: got.append(m.delivery_tag))
    assert drain(pconn, lambda: len(got) == 50)


def test_purge_returns_count_and_empties(pch, uniq):
    q = uniq()
    pch.queue_declare(q)
    for i in range(7):
        pch.basic_publish("", q, b"x")
    assert pch.queue_purge(q).method.message_count == 7
    assert pch.basic_get(q)[0] is None


def test_purge_keeps_unacked(pconn, uniq):
    ch = pconn.channel()
    q = uniq()
    ch.queue_declare(q)
    for i in range(3):
        ch.basic_publish("", q, b"x")
    m, p, b = ch.basic_get(q)
    assert ch.queue_purge(q).method.message_count == 2
    ch.basic_reject(m.delivery_tag, requeue=True)
    m2, p2, b2 = ch.basic_get(q, auto_ack=True)
    assert m2 is not None and m2.redelivered


def test_delete_returns_message_count(pch, uniq):
    q = uniq()
    pch.queue_declare(q)
    for i in range(4):
        pch.basic_publish("", q, b"x")
    pch.basic_get(q, auto_ack=False)
    assert pch.queue_delete(q).method.message_count == 3


def test_delete_if_unused_ok_without_consumers(pch, uniq):
    q = uniq()
    pch.queue_declare(q)
    pch.basic_publish("", q, b"x")
    pch.basic_get(q, auto_ack=True)
    pch.queue_delete(q, if_unused=True)
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as ei:
        pch.queue_declare(q, passive=True)
    assert ei.value.reply_code == 404


def test_exclusive_queue_deleted_when_owner_closes(broker, uniq):
    c1 = pika.BlockingConnection(pika_params(broker))
    q = uniq()
    c1.channel().queue_declare(q, exclusive=True)
    c1.close()
    c2 = pika.BlockingConnection(pika_params(broker))
    ch = c2.channel()

    def gone():
        try:
            c2.channel().queue_declare(q, passive=True)
            return False
        except pika.exceptions.ChannelClosedByBroker as e:
            return e.reply_code == 404
    assert drain(c2, gone)
    c2.close()


def test_exclusive_queue_usable_from_other_channel_same_connection(pconn):
    ch1, ch2 = pconn.channel(), pconn.channel()
    q = newq(ch1, exclusive=True)
    ch2.basic_publish("", q, b"x")
    assert ch2.basic_get(q, auto_ack=True)[2] == b"x"


def test_exclusive_queue_other_connection_405(broker, pch, uniq):
    q = uniq()
    pch.queue_declare(q, exclusive=True)
    c2 = pika.BlockingConnection(pika_params(broker))
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as ei:
        c2.channel().queue_declare(q)
    assert ei.value.reply_code == 405
    c2.close()


def test_auto_delete_queue_deleted_after_last_consumer_cancels(pconn, uniq):
    ch = pconn.channel()
    q = uniq()
    ch.queue_declare(q, auto_delete=True)
    t1 = ch.basic_consume(q, lambda *a: None)
    t2 = ch.basic_consume(q, lambda *a: None)
    ch.basic_cancel(t1)
    ch.queue_declare(q, passive=True)
    ch.basic_cancel(t2)

    def gone():
        try:
            pconn.channel().queue_declare(q, passive=True)
            return False
        except pika.exceptions.ChannelClosedByBroker as e:
            return e.reply_code == 404
    assert drain(pconn, gone)


def test_auto_delete_queue_never_consumed_stays(pch, uniq):
    q = uniq()
    pch.queue_declare(q, auto_delete=True)
    pch.basic_publish("", q, b"x")
    assert pch.queue_declare(q, passive=True).method.queue == q


def test_auto_delete_queue_deleted_when_consumer_connection_closes(broker, pch, uniq):
    q = uniq()
    pch.queue_declare(q, auto_delete=True)
    c2 = pika.BlockingConnection(pika_params(broker))
    c2.channel().basic_consume(q, lambda *a: None)
    c2.close()

    def gone():
        try:
            pch.connection.channel().queue_declare(q, passive=True)
            return False
        except pika.exceptions.ChannelClosedByBroker:
            return True
    assert drain(pch.connection, gone)


def test_consumer_cancel_notification_on_queue_delete(pconn, uniq):
    ch = pconn.channel()
    q = uniq()
    ch.queue_declare(q)
    cancelled = []
    ch.add_on_cancel_callback(lambda frame: cancelled.append(frame.method.consumer_tag))
    tag = ch.basic_consume(q, lambda *a: None)
    other = pconn.channel()
    other.queue_delete(q)
    assert drain(pconn, lambda: cancelled == [tag])
    assert ch.is_open


def test_unacked_messages_requeued_when_channel_closes(pconn):
    ch = pconn.channel()
    q = newq(ch, exclusive=True)
    for i in range(3):
        ch.basic_publish("", q, b"%d" % i)
    ch2 = pconn.channel()
    got = []
    ch2.basic_consume(q, lambda c, m, p, b: got.append(b))
    drain(pconn, lambda: len(got) == 3)
    ch2.close()
    out = []
    for i in range(3):
        m, p, b = ch.basic_get(q, auto_ack=True)
        assert m.redelivered
        out.append(b)
    assert out == [b"0", b"1", b"2"]


def test_requeued_messages_keep_their_position(pch):
    q = newq(pch, exclusive=True)
    for i in range(4):
        pch.basic_publish("", q, b"%d" % i)
    m0 = pch.basic_get(q)[0]
    m1 = pch.basic_get(q)[0]
    pch.basic_nack(m1.delivery_tag, multiple=True, requeue=True)
    order = [pch.basic_get(q, auto_ack=True)[2] for _ in range(4)]
    assert order == [b"0", b"1", b"2", b"3"]


def test_durable_queue_declare(pch, uniq):
    q = uniq()
    pch.queue_declare(q, durable=True)
    pch.queue_declare(q, durable=True, passive=True)
    pch.queue_delete(q)


def test_queue_name_max_length_255(pch):
    name = "q" * 255
    assert pch.queue_declare(name, exclusive=True).method.queue == name
