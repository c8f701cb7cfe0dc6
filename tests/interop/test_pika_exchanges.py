"""Exchanges with pika: every type, amq.* predeclared, internal, e2e bindings, alternate-exchange."""
import pika
import pytest


def newq(ch):
    return ch.queue_declare("", exclusive=True).method.queue


def got(ch, q):
    m, p, body = ch.basic_get(q, auto_ack=True)
    return body


def bodies(ch, q):
    out = []
    while True:
        m, p, body = ch.basic_get(q, auto_ack=True)
        if m is None:
            return out
        out.append(body)


@pytest.mark.parametrize("name,etype", [("amq.direct", "direct"), ("amq.fanout", "fanout"),
                                        ("amq.topic", "topic"), ("amq.headers", "headers"),
                                        ("amq.match", "headers")])
def test_predeclared_amq_exchanges_exist_durable(pch, name, etype):
    pch.exchange_declare(name, exchange_type=etype, durable=True)
    pch.exchange_declare(name, passive=True)


def test_amq_rabbitmq_trace_exists(pch):
    pch.exchange_declare("amq.rabbitmq.trace", passive=True)


def test_default_exchange_routes_by_queue_name(pch):
    q = newq(pch)
    pch.basic_publish("", q, b"hi")
    assert got(pch, q) == b"hi"


def test_default_exchange_unknown_queue_is_dropped(pch):
    q = newq(pch)
    pch.basic_publish("", "no-such-queue-xyz", b"lost")
    assert got(pch, q) is None


def test_direct_exchange_exact_key(pch, uniq):
    e = uniq("e")
    pch.exchange_declare(e, "direct")
    q1, q2 = newq(pch), newq(pch)
    pch.queue_bind(q1, e, "a")
    pch.queue_bind(q2, e, "b")
    pch.basic_publish(e, "a", b"to-a")
    pch.basic_publish(e, "b", b"to-b")
    pch.basic_publish(e, "c", b"to-none")
    assert bodies(pch, q1) == [b"to-a"] and bodies(pch, q2) == [b"to-b"]


def test_direct_exchange_multiple_bindings_deliver_once(pch, uniq):
    e = uniq("e")
    pch.exchange_declare(e, "direct")
    q = newq(pch)
    pch.queue_bind(q, e, "a")
    pch.queue_bind(q, e, "a")
    pch.queue_bind(q, e, "b")
    pch.basic_publish(e, "a", b"x")
    assert bodies(pch, q) == [b"x"]


def test_fanout_ignores_routing_key(pch, uniq):
    e = uniq("e")
    pch.exchange_declare(e, "fanout")
    qs = [newq(pch) for _ in range(3)]
    for q in qs:
        pch.queue_bind(q, e, "whatever-%s" % q)
    pch.basic_publish(e, "any", b"all")
    assert [bodies(pch, q) for q in qs] == [[b"all"]] * 3


@pytest.mark.parametrize("pattern,key,match", [
    ("a.b.c", "a.b.c", True),
    ("a.*.c", "a.b.c", True),
    ("a.*.c", "a.b.b.c", False),
    ("a.#", "a", True),
    ("a.#", "a.b.c.d", True),
    ("#", "", True),
    ("#", "x.y", True),
    ("*", "", False),
    ("*", "x", True),
    ("*.*", "x", False),
    ("#.c", "c", True),
    ("#.c", "a.b.c", True),
    ("a.#.c", "a.c", True),
    ("a.#.c", "a.x.y.c", True),
    ("a.#.c", "a.x.y.d", False),
    ("*.b.#", "a.b", True),
    ("a.*", "a..", False),
    ("a.*.*", "a..", True),
    ("#.#", "a.b", True),
    ("a.b", "a.b.c", False),
])
def test_topic_patterns(pch, uniq, pattern, key, match):
    e = uniq("e")
    pch.exchange_declare(e, "topic")
    q = newq(pch)
    pch.queue_bind(q, e, pattern)
    pch.basic_publish(e, key, b"m")
    assert (got(pch, q) == b"m") == match


def test_topic_multiple_matching_bindings_deliver_once(pch, uniq):
    e = uniq("e")
    pch.exchange_declare(e, "topic")
    q = newq(pch)
    for pat in ("a.*", "#", "a.b"):
        pch.queue_bind(q, e, pat)
    pch.basic_publish(e, "a.b", b"once")
    assert bodies(pch, q) == [b"once"]


@pytest.mark.parametrize("xmatch,headers,match", [
    ("all", {"a": 1, "b": "x"}, True),
    ("all", {"a": 1}, False),
    ("all", {"a": 1, "b": "x", "c": 3}, True),
    ("any", {"a": 1}, True),
    ("any", {"b": "y"}, False),
    ("any", {}, False),
    ("all", {"a": 2, "b": "x"}, False),
])
def test_headers_exchange_match(pch, uniq, xmatch, headers, match):
    e = uniq("e")
    pch.exchange_declare(e, "headers")
    q = newq(pch)
    pch.queue_bind(q, e, "", arguments={"x-match": xmatch, "a": 1, "b": "x"})
    pch.basic_publish(e, "", b"h", pika.BasicProperties(headers=headers))
    assert (got(pch, q) == b"h") == match


def test_headers_exchange_empty_binding_matches_all(pch, uniq):
    e = uniq("e")
    pch.exchange_declare(e, "headers")
    q = newq(pch)
    pch.queue_bind(q, e, "", arguments={})
    pch.basic_publish(e, "", b"h", pika.BasicProperties(headers={"z": 1}))
    assert got(pch, q) == b"h"


def test_headers_exchange_key_presence_with_void(pch, uniq):
    e = uniq("e")
    pch.exchange_declare(e, "headers")
    q = newq(pch)
    pch.queue_bind(q, e, "", arguments={"x-match": "any", "flag": None})
    pch.basic_publish(e, "", b"h", pika.BasicProperties(headers={"flag": None}))
    assert got(pch, q) == b"h"


def test_exchange_to_exchange_binding(pch, uniq):
    src, dst = uniq("e"), uniq("e")
    pch.exchange_declare(src, "direct")
    pch.exchange_declare(dst, "fanout")
    pch.exchange_bind(dst, src, "k")
    q = newq(pch)
    pch.queue_bind(q, dst, "")
    pch.basic_publish(src, "k", b"via-e2e")
    pch.basic_publish(src, "other", b"not")
    assert bodies(pch, q) == [b"via-e2e"]


def test_exchange_unbind_stops_routing(pch, uniq):
    src, dst = uniq("e"), uniq("e")
    pch.exchange_declare(src, "direct")
    pch.exchange_declare(dst, "fanout")
    pch.exchange_bind(dst, src, "k")
    q = newq(pch)
    pch.queue_bind(q, dst, "")
    pch.exchange_unbind(dst, src, "k")
    pch.basic_publish(src, "k", b"x")
    assert got(pch, q) is None


def test_e2e_cycle_delivers_once(pch, uniq):
    a, b = uniq("e"), uniq("e")
    pch.exchange_declare(a, "fanout")
    pch.exchange_declare(b, "fanout")
    pch.exchange_bind(b, a, "")
    pch.exchange_bind(a, b, "")
    q = newq(pch)
    pch.queue_bind(q, a, "")
    pch.queue_bind(q, b, "")
    pch.basic_publish(a, "", b"loop")
    assert bodies(pch, q) == [b"loop"]


def test_internal_exchange_reachable_via_e2e(pch, uniq):
    src, internal = uniq("e"), uniq("e")
    pch.exchange_declare(src, "fanout")
    pch.exchange_declare(internal, "fanout", internal=True)
    pch.exchange_bind(internal, src, "")
    q = newq(pch)
    pch.queue_bind(q, internal, "")
    pch.basic_publish(src, "", b"through")
    assert got(pch, q) == b"through"


def test_alternate_exchange_gets_unroutable(pch, uniq):
    ae, e = uniq("e"), uniq("e")
    pch.exchange_declare(ae, "fanout")
    pch.exchange_declare(e, "direct", arguments={"alternate-exchange": ae})
    qa, qm = newq(pch), newq(pch)
    pch.queue_bind(qa, ae, "")
    pch.queue_bind(qm, e, "known")
    pch.basic_publish(e, "known", b"routed")
    pch.basic_publish(e, "unknown", b"alt")
    assert bodies(pch, qm) == [b"routed"] and bodies(pch, qa) == [b"alt"]


def test_alternate_exchange_missing_drops_silently(pch, uniq):
    e = uniq("e")
    pch.exchange_declare(e, "direct", arguments={"alternate-exchange": "no-such-ae"})
    pch.basic_publish(e, "x", b"lost")
    q = newq(pch)
    assert got(pch, q) is None


def test_mandatory_with_alternate_exchange_is_not_returned(pconn, uniq):
    ch = pconn.channel()
    returned = []
    ch.add_on_return_callback(lambda c, m, p, b: returned.append(b))
    ae, e = uniq("e"), uniq("e")
    ch.exchange_declare(ae, "fanout")
    ch.exchange_declare(e, "direct", arguments={"alternate-exchange": ae})
    qa = newq(ch)
    ch.queue_bind(qa, ae, "")
    ch.basic_publish(e, "nokey", b"m", mandatory=True)
    assert got(ch, qa) == b"m"
    pconn.process_data_events(time_limit=0.2)
    assert returned == []


def test_exchange_delete_removes_bindings(pch, uniq):
    e = uniq("e")
    pch.exchange_declare(e, "fanout")
    q = newq(pch)
    pch.queue_bind(q, e, "")
    pch.exchange_delete(e)
    pch.exchange_declare(e, "fanout")
    pch.basic_publish(e, "", b"x")
    assert got(pch, q) is None


def test_exchange_delete_if_unused_with_bindings_406(pconn, uniq):
    ch = pconn.channel()
    e = uniq("e")
    ch.exchange_declare(e, "fanout")
    q = newq(ch)
    ch.queue_bind(q, e, "")
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as ei:
        ch.exchange_delete(e, if_unused=True)
    assert ei.value.reply_code == 406


def test_exchange_delete_if_unused_without_bindings_ok(pch, uniq):
    e = uniq("e")
    pch.exchange_declare(e, "fanout")
    pch.exchange_delete(e, if_unused=True)
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as ei:
        pch.exchange_declare(e, passive=True)
    assert ei.value.reply_code == 404


def test_auto_delete_exchange_goes_when_last_binding_removed(pconn, uniq):
    ch = pconn.channel()
    e = uniq("e")
    ch.exchange_declare(e, "fanout", auto_delete=True)
    q = newq(ch)
    ch.queue_bind(q, e, "")
    ch.exchange_declare(e, passive=True)
    ch.queue_unbind(q, e, "")
    ch2 = pconn.channel()
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as ei:
        ch2.exchange_declare(e, passive=True)
    assert ei.value.reply_code == 404


def test_auto_delete_exchange_without_bindings_stays(pch, uniq):
    e = uniq("e")
    pch.exchange_declare(e, "fanout", auto_delete=True)
    pch.exchange_declare(e, passive=True)


def test_queue_unbind_stops_routing(pch, uniq):
    e = uniq("e")
    pch.exchange_declare(e, "direct")
    q = newq(pch)
    pch.queue_bind(q, e, "k")
    pch.queue_unbind(q, e, "k")
    pch.basic_publish(e, "k", b"x")
    assert got(pch, q) is None


def test_binding_arguments_distinguish_bindings(pch, uniq):
    e = uniq("e")
    pch.exchange_declare(e, "headers")
    q = newq(pch)
    pch.queue_bind(q, e, "", arguments={"x-match": "all", "a": 1})
    pch.queue_bind(q, e, "", arguments={"x-match": "all", "b": 2})
    pch.queue_unbind(q, e, "", arguments={"x-match": "all", "a": 1})
    pch.basic_publish(e, "", b"a", pika.BasicProperties(headers={"a": 1}))
    pch.basic_publish(e, "", b"b", pika.BasicProperties(headers={"b": 2}))
    assert bodies(pch, q) == [b"b"]
