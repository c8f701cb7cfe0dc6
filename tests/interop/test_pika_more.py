"""More routing and delivery corner cases a RabbitMQ user notices."""
import pika
import pytest

from harness.fixtures import drain, pika_params


def newq(ch, name="", **kw):
    if not name:
        kw.setdefault("exclusive", True)
    return ch.queue_declare(name, **kw).method.queue


def got(ch, q):
    return ch.basic_get(q, auto_ack=True)[2]


def test_headers_binding_ignores_x_prefixed_arguments(pch, uniq):
    e = uniq("e")
    pch.exchange_declare(e, "headers")
    q = newq(pch)
    pch.queue_bind(q, e, "", arguments={"x-match": "all", "a": 1, "x-extra": "ignored"})
    pch.basic_publish(e, "", b"h", pika.BasicProperties(headers={"a": 1}))
    assert got(pch, q) == b"h"


def test_headers_exchange_default_match_is_all(pch, uniq):
    e = uniq("e")
    pch.exchange_declare(e, "headers")
    q = newq(pch)
    pch.queue_bind(q, e, "", arguments={"a": 1, "b": 2})
    pch.basic_publish(e, "", b"one", pika.BasicProperties(headers={"a": 1}))
    pch.basic_publish(e, "", b"both", pika.BasicProperties(headers={"a": 1, "b": 2}))
    assert got(pch, q) == b"both" and got(pch, q) is None


def test_headers_exchange_no_headers_property(pch, uniq):
    e = uniq("e")
    pch.exchange_declare(e, "headers")
    q = newq(pch)
    pch.queue_bind(q, e, "", arguments={"x-match": "any", "a": 1})
    pch.basic_publish(e, "", b"nohdr")
    assert got(pch, q) is None


def test_topic_routing_key_with_empty_words(pch, uniq):
    e = uniq("e")
    pch.exchange_declare(e, "topic")
    q = newq(pch)
    pch.queue_bind(q, e, "a..b")
    pch.basic_publish(e, "a..b", b"yes")
    pch.basic_publish(e, "a.x.b", b"no")
    assert got(pch, q) == b"yes" and got(pch, q) is None


def test_direct_empty_routing_key(pch, uniq):
    e = uniq("e")
    pch.exchange_declare(e, "direct")
    q = newq(pch)
    pch.queue_bind(q, e, "")
    pch.basic_publish(e, "", b"empty-key")
    assert got(pch, q) == b"empty-key"


def test_e2e_destination_alternate_exchange_is_used(pch, uniq):
    # RabbitMQ consults the AE of every exchange on the route that matched nothing
    src, dst, ae = uniq("e"), uniq("e"), uniq("e")
    pch.exchange_declare(ae, "fanout")
    pch.exchange_declare(dst, "direct", arguments={"alternate-exchange": ae})
    pch.exchange_declare(src, "fanout")
    pch.exchange_bind(dst, src, "")
    qa = newq(pch)
    pch.queue_bind(qa, ae, "")
    pch.basic_publish(src, "nokey", b"m")
    assert got(pch, qa) == b"m"


def test_alternate_exchange_chain(pch, uniq):
    ae2, ae1, e = uniq("e"), uniq("e"), uniq("e")
    pch.exchange_declare(ae2, "fanout")
    pch.exchange_declare(ae1, "direct", arguments={"alternate-exchange": ae2})
    pch.exchange_declare(e, "direct", arguments={"alternate-exchange": ae1})
    q = newq(pch)
    pch.queue_bind(q, ae2, "")
    pch.basic_publish(e, "nokey", b"chained")
    assert got(pch, q) == b"chained"


def test_alternate_exchange_that_routes_nowhere_returns_mandatory(pconn, uniq):
    ch = pconn.channel()
    returned = []
    ch.add_on_return_callback(lambda c, m, p, b: returned.append(m.reply_code))
    ae, e = uniq("e"), uniq("e")
    ch.exchange_declare(ae, "direct")
    ch.exchange_declare(e, "direct", arguments={"alternate-exchange": ae})
    ch.basic_publish(e, "nokey", b"m", mandatory=True)
    assert drain(pconn, lambda: returned == [312])


def test_mandatory_default_exchange_missing_queue_returned(pconn):
    ch = pconn.channel()
    returned = []
    ch.add_on_return_callback(lambda c, m, p, b: returned.append((m.exchange, m.routing_key)))
    ch.basic_publish("", "no-such-queue-mand", b"m", mandatory=True)
    assert drain(pconn, lambda: returned == [("", "no-such-queue-mand")])


def test_get_ok_message_count_decrements(pch):
    q = newq(pch)
    for i in range(4):
        pch.basic_publish("", q, b"x")
    counts = [pch.basic_get(q, auto_ack=True)[0].message_count for _ in range(4)]
    assert counts == [3, 2, 1, 0]


def test_consumer_count_after_cancel(pch, uniq):
    q = newq(pch, uniq())
    t1 = pch.basic_consume(q, lambda *a: None)
    pch.basic_consume(q, lambda *a: None)
    assert pch.queue_declare(q, passive=True).method.consumer_count == 2
    pch.basic_cancel(t1)
    assert pch.queue_declare(q, passive=True).method.consumer_count == 1


def test_unacked_redelivered_after_consumer_connection_drops(broker, pch, uniq):
    q = newq(pch, uniq())
    pch.basic_publish("", q, b"work")
    c2 = pika.BlockingConnection(pika_params(broker))
    ch2 = c2.channel()
    seen = []
    ch2.basic_consume(q, lambda c, m, p, b: seen.append(b))
    drain(c2, lambda: seen)
    c2.close()
    assert drain(pch.connection, lambda: pch.queue_declare(q, passive=True).method.message_count == 1)
    m, p, b = pch.basic_get(q, auto_ack=True)
    assert b == b"work" and m.redelivered is True


def test_exclusive_queue_with_messages_deleted_on_close(broker, pch, uniq):
    q = uniq()
    c2 = pika.BlockingConnection(pika_params(broker))
    ch2 = c2.channel()
    ch2.queue_declare(q, exclusive=True)
    ch2.basic_publish("", q, b"x")
    c2.close()
    probe = pch.connection.channel()
    probe.confirm_delivery()

    def gone():
        try:
            probe.basic_publish("", q, b"probe", mandatory=True)
            return False
        except pika.exceptions.UnroutableError:
            return True
    assert drain(pch.connection, gone)


def test_deleted_queue_loses_messages(pch, uniq):
    q = uniq()
    pch.queue_declare(q)
    pch.basic_publish("", q, b"x")
    pch.queue_delete(q)
    pch.queue_declare(q)
    assert pch.basic_get(q)[0] is None


def test_queue_delete_does_not_dead_letter(pch, uniq):
    dead = newq(pch)
    q = uniq()
    pch.queue_declare(q, arguments={"x-dead-letter-exchange": "",
                                    "x-dead-letter-routing-key": dead})
    pch.basic_publish("", q, b"x")
    pch.queue_delete(q)
    assert pch.basic_get(dead)[0] is None


def test_reject_publish_without_confirms_drops_silently(pch, uniq):
    q = uniq()
    pch.queue_declare(q, arguments={"x-max-length": 1, "x-overflow": "reject-publish"})
    pch.basic_publish("", q, b"1")
    pch.basic_publish("", q, b"2")
    assert got(pch, q) == b"1" and got(pch, q) is None


def test_purge_does_not_dead_letter(pch, uniq):
    dead = newq(pch)
    q = uniq()
    pch.queue_declare(q, arguments={"x-dead-letter-exchange": "",
                                    "x-dead-letter-routing-key": dead})
    pch.basic_publish("", q, b"x")
    pch.queue_purge(q)
    assert pch.basic_get(dead)[0] is None


def test_priority_queue_with_consumer_prefetch_one(pconn, uniq):
    ch = pconn.channel()
    q = uniq()
    ch.queue_declare(q, arguments={"x-max-priority": 5})
    for p in (1, 2, 3, 4, 5):
        ch.basic_publish("", q, b"%d" % p, pika.BasicProperties(priority=p))
    ch.basic_qos(prefetch_count=1)
    order = []

    def cb(c, m, p, b):
        order.append(int(b))
        c.basic_ack(m.delivery_tag)
    ch.basic_consume(q, cb)
    assert drain(pconn, lambda: len(order) == 5)
    assert order == [5, 4, 3, 2, 1]


def test_ttl_message_delivered_if_consumed_in_time(pconn, uniq):
    ch = pconn.channel()
    q = uniq()
    ch.queue_declare(q, arguments={"x-message-ttl": 60000})
    ch.basic_publish("", q, b"fresh")
    assert got(ch, q) == b"fresh"


def test_large_batch_publish_and_consume(pconn):
    ch = pconn.channel()
    q = newq(ch)
    n = 5000
    for i in range(n):
        ch.basic_publish("", q, b"%d" % i)
    seen = []
    ch.basic_qos(prefetch_count=100)

    def cb(c, m, p, b):
        seen.append(int(b))
        c.basic_ack(m.delivery_tag)
    ch.basic_consume(q, cb)
    assert drain(pconn, lambda: len(seen) == n, 30)
    assert seen == list(range(n))


def test_multiple_connections_share_queue(broker, pch, uniq):
    q = newq(pch, uniq())
    conns = [pika.BlockingConnection(pika_params(broker)) for _ in range(5)]
    for i, c in enumerate(conns):
        c.channel().basic_publish("", q, b"%d" % i)
    for c in conns:
        c.close()
    assert drain(pch.connection,
                 lambda: pch.queue_declare(q, passive=True).method.message_count == 5)


def test_cc_and_bcc_headers_route_extra_copies(pch):
    """Sender-selected distribution: CC/BCC header routing keys are routed too; BCC is
    removed from the delivered message."""
    q1, q2, q3 = newq(pch), newq(pch), newq(pch)
    pch.basic_publish("", q1, b"cc", pika.BasicProperties(headers={"CC": [q2], "BCC": [q3]}))
    got = [pch.basic_get(q, auto_ack=True) for q in (q1, q2, q3)]
    assert [g[2] for g in got] == [b"cc", b"cc", b"cc"]
    for m, p, b in got:
        assert p.headers == {"CC": [q2]}


def test_cc_header_with_direct_exchange(pch, uniq):
    e = uniq("e")
    pch.exchange_declare(e, "direct")
    qa, qb = newq(pch), newq(pch)
    pch.queue_bind(qa, e, "a")
    pch.queue_bind(qb, e, "b")
    pch.basic_publish(e, "a", b"m", pika.BasicProperties(headers={"CC": ["b"]}))
    assert got(pch, qa) == b"m" and got(pch, qb) == b"m"
