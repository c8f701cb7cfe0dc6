"""Delivery tags, qos changes while consuming, acks across get and consume."""
import pika
import pytest

from harness.fixtures import drain


def newq(ch):
    return ch.queue_declare("", exclusive=True).method.queue


def test_delivery_tags_shared_by_get_and_consume(pconn):
    ch = pconn.channel()
    q = newq(ch)
    for i in range(3):
        ch.basic_publish("", q, b"%d" % i)
    m = ch.basic_get(q)[0]
    assert m.delivery_tag == 1
    tags = []
    ch.basic_consume(q, lambda c, m, p, b: tags.append(m.delivery_tag))
    assert drain(pconn, lambda: len(tags) == 2)
    assert tags == [2, 3]
    ch.basic_ack(3, multiple=True)


def test_delivery_tags_independent_per_channel(pconn):
    ch1, ch2 = pconn.channel(), pconn.channel()
    q = newq(ch1)
    for i in range(2):
        ch1.basic_publish("", q, b"x")
    assert ch1.basic_get(q)[0].delivery_tag == 1
    assert ch2.basic_get(q)[0].delivery_tag == 1


def test_raising_prefetch_releases_more(pconn):
    ch = pconn.channel()
    q = newq(ch)
    for i in range(10):
        ch.basic_publish("", q, b"x")
    ch.basic_qos(prefetch_count=2)
    got = []
    ch.basic_consume(q, lambda c, m, p, b: got.append(m.delivery_tag))
    drain(pconn, lambda: len(got) >= 2)
    pconn.process_data_events(time_limit=0.2)
    assert len(got) == 2
    ch.basic_qos(prefetch_count=5)
    # new limit applies to new consumers; RabbitMQ also lets the existing one grow
    ch.basic_consume(q, lambda c, m, p, b: got.append(m.delivery_tag))
    assert drain(pconn, lambda: len(got) >= 7)


def test_reject_on_no_ack_delivery_is_unknown_tag_406(pconn):
    ch = pconn.channel()
    q = newq(ch)
    ch.basic_publish("", q, b"x")
    m = ch.basic_get(q, auto_ack=True)[0]
    ch.basic_reject(m.delivery_tag)
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as ei:
        ch.basic_get(q)
    assert ei.value.reply_code == 406


def test_ack_multiple_covers_only_lower_tags(pch):
    q = newq(pch)
    for i in range(4):
        pch.basic_publish("", q, b"%d" % i)
    tags = [pch.basic_get(q)[0].delivery_tag for _ in range(4)]
    pch.basic_ack(tags[1], multiple=True)
    pch.basic_ack(tags[3])
    pch.basic_recover(requeue=True)
    m, p, b = pch.basic_get(q, auto_ack=True)
    assert b == b"2" and m.redelivered
    assert pch.basic_get(q)[0] is None


def test_nack_multiple_without_requeue_drops_all(pch):
    q = newq(pch)
    for i in range(5):
        pch.basic_publish("", q, b"x")
    tags = [pch.basic_get(q)[0].delivery_tag for _ in range(5)]
    pch.basic_nack(tags[-1], multiple=True, requeue=False)
    pch.basic_recover(requeue=True)
    assert pch.basic_get(q)[0] is None


def test_prefetch_one_round_robin_with_acks(pconn):
    ch = pconn.channel()
    q = newq(ch)
    ch.basic_qos(prefetch_count=1)
    a, b = [], []

    def mk(lst):
        def cb(c, m, p, body):
            lst.append(body)
            c.basic_ack(m.delivery_tag)
        return cb
    ch.basic_consume(q, mk(a))
    ch.basic_consume(q, mk(b))
    for i in range(10):
        ch.basic_publish("", q, b"%d" % i)
    assert drain(pconn, lambda: len(a) + len(b) == 10)
    assert len(a) >= 3 and len(b) >= 3


def test_channel_close_requeues_in_original_order(pconn):
    ch = pconn.channel()
    q = newq(ch)
    for i in range(5):
        ch.basic_publish("", q, b"%d" % i)
    ch2 = pconn.channel()
    for _ in range(3):
        ch2.basic_get(q)
    ch2.close()
    order = [ch.basic_get(q, auto_ack=True)[2] for _ in range(5)]
    assert order == [b"0", b"1", b"2", b"3", b"4"]


def test_consumer_cancel_from_client_with_unacked_then_ack(pconn):
    ch = pconn.channel()
    q = newq(ch)
    ch.basic_publish("", q, b"x")
    got = []
    tag = ch.basic_consume(q, lambda c, m, p, b: got.append(m.delivery_tag))
    drain(pconn, lambda: got)
    ch.basic_cancel(tag)
    ch.basic_ack(got[0])
    assert ch.queue_declare(q, passive=True).method.message_count == 0
