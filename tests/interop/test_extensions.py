"""RabbitMQ extensions a 3.8 user relies on: per-queue and per-message TTL, dead-lettering with
x-death, max-length (drop-head, reject-publish), priority queues, x-expires, consumer priority,
direct reply-to."""
import pika
import pytest

from harness.fixtures import drain, pika_params


def newq(ch, name="", **kw):
    return ch.queue_declare(name, **kw).method.queue


def msg_count(ch, q):
    return ch.queue_declare(q, passive=True).method.message_count


def test_queue_ttl_expires_messages(pch, uniq):
    q = uniq()
    newq(pch, q, arguments={"x-message-ttl": 100})
    pch.basic_publish("", q, b"x")
    assert drain(pch.connection, lambda: msg_count(pch, q) == 0, 5)


def test_queue_ttl_zero_without_consumer_drops(pch, uniq):
    q = uniq()
    newq(pch, q, arguments={"x-message-ttl": 0})
    pch.basic_publish("", q, b"x")
    assert pch.basic_get(q)[0] is None


def test_queue_ttl_zero_delivers_to_waiting_consumer(pconn, uniq):
    ch = pconn.channel()
    q = uniq()
    newq(ch, q, arguments={"x-message-ttl": 0})
    got = []
    ch.basic_consume(q, lambda c, m, p, b: got.append(b), auto_ack=True)
    ch.basic_publish("", q, b"now")
    assert drain(pconn, lambda: got == [b"now"])


def test_per_message_ttl_expires(pch, uniq):
    q = uniq()
    newq(pch, q)
    pch.basic_publish("", q, b"x", pika.BasicProperties(expiration="100"))
    pch.basic_publish("", q, b"keep")

    def head_is_keep():
        m, p, b = pch.basic_get(q)
        if b == b"keep":
            return True
        pch.basic_nack(m.delivery_tag, requeue=True)
        return False
    assert drain(pch.connection, head_is_keep, 5)


def test_lower_of_queue_and_message_ttl_wins(pch, uniq):
    q = uniq()
    newq(pch, q, arguments={"x-message-ttl": 60000})
    pch.basic_publish("", q, b"x", pika.BasicProperties(expiration="50"))
    assert drain(pch.connection, lambda: msg_count(pch, q) == 0, 5)


def test_invalid_expiration_property_406(pconn, uniq):
    ch = pconn.channel()
    q = uniq()
    newq(ch, q)
    ch.basic_publish("", q, b"x", pika.BasicProperties(expiration="soon"))
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as ei:
        ch.basic_get(q)
    assert ei.value.reply_code == 406


def test_expiration_property_kept_on_delivery(pch, uniq):
    q = uniq()
    newq(pch, q)
    pch.basic_publish("", q, b"x", pika.BasicProperties(expiration="60000"))
    assert pch.basic_get(q, auto_ack=True)[1].expiration == "60000"


def dlx_setup(ch, uniq, qargs):
    dlx = uniq("e")
    ch.exchange_declare(dlx, "fanout")
    dead = newq(ch, uniq())
    ch.queue_bind(dead, dlx, "")
    q = uniq()
    args = {"x-dead-letter-exchange": dlx}
    args.update(qargs)
    newq(ch, q, arguments=args)
    return q, dead, dlx


def test_dlx_on_reject(pch, uniq):
    q, dead, dlx = dlx_setup(pch, uniq, {})
    pch.basic_publish("", q, b"bad")
    m = pch.basic_get(q)[0]
    pch.basic_reject(m.delivery_tag, requeue=False)
    assert drain(pch.connection, lambda: msg_count(pch, dead) == 1)
    m, p, b = pch.basic_get(dead, auto_ack=True)
    assert b == b"bad"
    death = p.headers["x-death"][0]
    assert death["reason"] == "rejected" and death["queue"] == q and death["count"] == 1
    assert death["exchange"] == "" and death["routing-keys"] == [q]
    assert p.headers["x-first-death-reason"] == "rejected"
    assert p.headers["x-first-death-queue"] == q
    assert p.headers["x-first-death-exchange"] == ""


def test_dlx_on_nack(pch, uniq):
    q, dead, dlx = dlx_setup(pch, uniq, {})
    pch.basic_publish("", q, b"n")
    m = pch.basic_get(q)[0]
    pch.basic_nack(m.delivery_tag, requeue=False)
    assert drain(pch.connection, lambda: msg_count(pch, dead) == 1)


def test_dlx_on_expiry(pch, uniq):
    q, dead, dlx = dlx_setup(pch, uniq, {"x-message-ttl": 50})
    pch.basic_publish("", q, b"old", pika.BasicProperties(message_id="m1"))
    assert drain(pch.connection, lambda: msg_count(pch, dead) == 1)
    m, p, b = pch.basic_get(dead, auto_ack=True)
    death = p.headers["x-death"][0]
    assert death["reason"] == "expired" and p.message_id == "m1"


def test_dlx_per_message_expiry_records_original_expiration(pch, uniq):
    q, dead, dlx = dlx_setup(pch, uniq, {})
    pch.basic_publish("", q, b"old", pika.BasicProperties(expiration="50"))
    assert drain(pch.connection, lambda: msg_count(pch, dead) == 1)
    m, p, b = pch.basic_get(dead, auto_ack=True)
    assert p.headers["x-death"][0]["original-expiration"] == "50"
    assert p.expiration is None


def test_dlx_on_maxlen(pch, uniq):
    q, dead, dlx = dlx_setup(pch, uniq, {"x-max-length": 1})
    pch.basic_publish("", q, b"first")
    pch.basic_publish("", q, b"second")
    assert drain(pch.connection, lambda: msg_count(pch, dead) == 1)
    m, p, b = pch.basic_get(dead, auto_ack=True)
    assert b == b"first" and p.headers["x-death"][0]["reason"] == "maxlen"
    assert pch.basic_get(q, auto_ack=True)[2] == b"second"


def test_dlx_routing_key_override(pch, uniq):
    dlx = uniq("e")
    pch.exchange_declare(dlx, "direct")
    dead = newq(pch, uniq())
    pch.queue_bind(dead, dlx, "dead-key")
    q = uniq()
    newq(pch, q, arguments={"x-dead-letter-exchange": dlx,
                            "x-dead-letter-routing-key": "dead-key"})
    pch.basic_publish("", q, b"x")
    m = pch.basic_get(q)[0]
    pch.basic_reject(m.delivery_tag, requeue=False)
    assert drain(pch.connection, lambda: msg_count(pch, dead) == 1)
    m, p, b = pch.basic_get(dead, auto_ack=True)
    assert m.routing_key == "dead-key" and m.exchange == dlx


def test_dlx_to_default_exchange_uses_original_key_counts_twice(pch, uniq):
    # dead-letter twice through the same queue: x-death count increments
    q2 = uniq()
    q1 = uniq()
    newq(pch, q2, arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": q1})
    newq(pch, q1, arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": q2})
    pch.basic_publish("", q1, b"x")
    m = pch.basic_get(q1)[0]
    pch.basic_reject(m.delivery_tag, requeue=False)
    assert drain(pch.connection, lambda: msg_count(pch, q2) == 1)
    m = pch.basic_get(q2)[0]
    pch.basic_reject(m.delivery_tag, requeue=False)
    assert drain(pch.connection, lambda: msg_count(pch, q1) == 1)
    m = pch.basic_get(q1)[0]
    pch.basic_reject(m.delivery_tag, requeue=False)
    assert drain(pch.connection, lambda: msg_count(pch, q2) == 1)
    m, p, b = pch.basic_get(q2, auto_ack=True)
    deaths = {(d["queue"], d["reason"]): d["count"] for d in p.headers["x-death"]}
    assert deaths == {(q1, "rejected"): 2, (q2, "rejected"): 1}
    # most recent death first
    assert p.headers["x-death"][0]["queue"] == q1


def test_requeue_does_not_dead_letter(pch, uniq):
    q, dead, dlx = dlx_setup(pch, uniq, {})
    pch.basic_publish("", q, b"x")
    m = pch.basic_get(q)[0]
    pch.basic_reject(m.delivery_tag, requeue=True)
    m2, p, b = pch.basic_get(q, auto_ack=True)
    assert b == b"x" and m2.redelivered
    assert pch.basic_get(dead)[0] is None


def test_max_length_drop_head(pch, uniq):
    q = uniq()
    newq(pch, q, arguments={"x-max-length": 3})
    for i in range(6):
        pch.basic_publish("", q, b"%d" % i)
    assert drain(pch.connection, lambda: msg_count(pch, q) == 3)
    assert [pch.basic_get(q, auto_ack=True)[2] for _ in range(3)] == [b"3", b"4", b"5"]


def test_max_length_zero(pch, uniq):
    q = uniq()
    newq(pch, q, arguments={"x-max-length": 0})
    pch.basic_publish("", q, b"x")
    assert pch.basic_get(q)[0] is None


def test_max_length_bytes(pch, uniq):
    q = uniq()
    newq(pch, q, arguments={"x-max-length-bytes": 10})
    for i in range(5):
        pch.basic_publish("", q, b"12345")
    assert drain(pch.connection, lambda: msg_count(pch, q) == 2)


def test_max_length_reject_publish_nacks(pconn, uniq):
    ch = pconn.channel()
    q = uniq()
    newq(ch, q, arguments={"x-max-length": 1, "x-overflow": "reject-publish"})
    ch.confirm_delivery()
    ch.basic_publish("", q, b"first")
    with pytest.raises(pika.exceptions.NackError):
        ch.basic_publish("", q, b"second")
    assert ch.basic_get(q, auto_ack=True)[2] == b"first"


def test_max_length_reject_publish_raw_nack(raw, uniq):
    q = uniq()
    raw.rpc(1, "queue.declare", queue=q, arguments={"x-max-length": 1,
                                                    "x-overflow": "reject-publish"})
    raw.rpc(1, "confirm.select")
    raw.publish(1, b"a", routing_key=q)
    raw.publish(1, b"b", routing_key=q)
    acks = {}
    while len(acks) < 2:
        f = raw.next_method()
        assert f.name in ("basic.ack", "basic.nack"), f
        acks[f.args["delivery-tag"]] = f.name
    assert acks == {1: "basic.ack", 2: "basic.nack"}


def test_priority_queue_orders_by_priority(pch, uniq):
    q = uniq()
    newq(pch, q, arguments={"x-max-priority": 10})
    for prio in (1, 5, 3, 10, 0):
        pch.basic_publish("", q, b"%d" % prio, pika.BasicProperties(priority=prio))
    got = [int(pch.basic_get(q, auto_ack=True)[2]) for _ in range(5)]
    assert got == [10, 5, 3, 1, 0]


def test_priority_above_max_treated_as_max(pch, uniq):
    q = uniq()
    newq(pch, q, arguments={"x-max-priority": 5})
    pch.basic_publish("", q, b"low", pika.BasicProperties(priority=1))
    pch.basic_publish("", q, b"huge", pika.BasicProperties(priority=200))
    pch.basic_publish("", q, b"max", pika.BasicProperties(priority=5))
    got = [pch.basic_get(q, auto_ack=True)[2] for _ in range(3)]
    assert got == [b"huge", b"max", b"low"]


def test_priority_fifo_within_same_priority(pch, uniq):
    q = uniq()
    newq(pch, q, arguments={"x-max-priority": 3})
    for i in range(5):
        pch.basic_publish("", q, b"%d" % i, pika.BasicProperties(priority=2))
    assert [pch.basic_get(q, auto_ack=True)[2] for _ in range(5)] == [b"0", b"1", b"2", b"3", b"4"]


def test_no_priority_property_is_lowest(pch, uniq):
    q = uniq()
    newq(pch, q, arguments={"x-max-priority": 3})
    pch.basic_publish("", q, b"none")
    pch.basic_publish("", q, b"one", pika.BasicProperties(priority=1))
    assert pch.basic_get(q, auto_ack=True)[2] == b"one"


def test_plain_queue_ignores_priority(pch, uniq):
    q = uniq()
    newq(pch, q)
    pch.basic_publish("", q, b"a", pika.BasicProperties(priority=1))
    pch.basic_publish("", q, b"b", pika.BasicProperties(priority=9))
    assert pch.basic_get(q, auto_ack=True)[2] == b"a"


def test_x_expires_deletes_unused_queue(pch, uniq):
    q = uniq()
    newq(pch, q, arguments={"x-expires": 200})
    probe = pch.connection.channel()
    probe.confirm_delivery()

    def gone():
        # a mandatory publish does not count as use of the queue (a passive declare would)
        try:
            probe.basic_publish("", q, b"probe", mandatory=True)
            return False
        except pika.exceptions.UnroutableError:
            return True
    assert drain(pch.connection, gone, 10)


def test_x_expires_not_while_consumer(pconn, uniq):
    ch = pconn.channel()
    q = uniq()
    newq(ch, q, arguments={"x-expires": 100})
    ch.basic_consume(q, lambda *a: None)
    pconn.process_data_events(time_limit=0.5)
    assert ch.queue_declare(q, passive=True).method.consumer_count == 1


def test_consumer_priority(pconn):
    ch = pconn.channel()
    q = newq(ch, exclusive=True)
    low, high = [], []
    ch.basic_consume(q, lambda c, m, p, b: low.append(b), auto_ack=True,
                     arguments={"x-priority": 1})
    ch.basic_consume(q, lambda c, m, p, b: high.append(b), auto_ack=True,
                     arguments={"x-priority": 10})
    for i in range(5):
        ch.basic_publish("", q, b"x")
    assert drain(pconn, lambda: len(low) + len(high) == 5)
    assert len(high) == 5


def test_single_active_consumer(pconn, uniq):
    ch = pconn.channel()
    q = uniq()
    newq(ch, q, arguments={"x-single-active-consumer": True})
    a, b = [], []
    ta = ch.basic_consume(q, lambda c, m, p, body: a.append(body), auto_ack=True)
    ch.basic_consume(q, lambda c, m, p, body: b.append(body), auto_ack=True)
    for i in range(4):
        ch.basic_publish("", q, b"x")
    assert drain(pconn, lambda: len(a) == 4)
    ch.basic_cancel(ta)
    ch.basic_publish("", q, b"y")
    assert drain(pconn, lambda: b == [b"y"])


def test_direct_reply_to(pconn):
    ch = pconn.channel()
    replies = []
    ch.basic_consume("amq.rabbitmq.reply-to", lambda c, m, p, b: replies.append(b), auto_ack=True)
    server_q = newq(ch, exclusive=True)
    ch.basic_publish("", server_q, b"req", pika.BasicProperties(reply_to="amq.rabbitmq.reply-to"))
    m, p, b = ch.basic_get(server_q, auto_ack=True)
    assert p.reply_to.startswith("amq.rabbitmq.reply-to.")
    ch.basic_publish("", p.reply_to, b"resp")
    assert drain(pconn, lambda: replies == [b"resp"])


def test_direct_reply_to_requires_no_ack(pconn):
    ch = pconn.channel()
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as ei:
        ch.basic_consume("amq.rabbitmq.reply-to", lambda *a: None, auto_ack=False)
    assert ei.value.reply_code == 406


def test_lazy_queue_mode_accepted(pch, uniq):
    q = uniq()
    newq(pch, q, arguments={"x-queue-mode": "lazy"})
    pch.basic_publish("", q, b"x")
    assert pch.basic_get(q, auto_ack=True)[2] == b"x"


def test_consumer_priority_falls_back_when_high_priority_consumer_is_full(pconn):
    ch = pconn.channel()
    q = newq(ch, exclusive=True)
    ch.basic_qos(prefetch_count=1)
    high, low = [], []
    ch.basic_consume(q, lambda c, m, p, b: high.append(b), arguments={"x-priority": 5})
    ch.basic_consume(q, lambda c, m, p, b: low.append(b), arguments={"x-priority": 1})
    for i in range(3):
        ch.basic_publish("", q, b"%d" % i)
    # the high-priority consumer holds one unacked message; the next goes to the low one
    assert drain(pconn, lambda: len(high) == 1 and len(low) == 1)
    assert high == [b"0"] and low == [b"1"]


def test_reject_publish_dlx_dead_letters_the_rejected_message(pch, uniq):
    dead = newq(pch, exclusive=True)
    q = uniq()
    newq(pch, q, arguments={"x-max-length": 1, "x-overflow": "reject-publish-dlx",
                            "x-dead-letter-exchange": "", "x-dead-letter-routing-key": dead})
    pch.basic_publish("", q, b"a")
    pch.basic_publish("", q, b"b")
    assert drain(pch.connection, lambda: msg_count(pch, dead) == 1)
    m, p, b = pch.basic_get(dead, auto_ack=True)
    assert b == b"b" and p.headers["x-death"][0]["reason"] == "maxlen"
    assert pch.basic_get(q, auto_ack=True)[2] == b"a"


def test_retry_loop_through_ttl_wait_queue_counts_deaths(pconn, uniq):
    """The common 3.8 retry pattern: reject into a wait queue whose TTL dead-letters back."""
    ch = pconn.channel()
    work, wait = uniq(), uniq()
    ch.queue_declare(work, arguments={"x-dead-letter-exchange": "",
                                      "x-dead-letter-routing-key": wait})
    ch.queue_declare(wait, arguments={"x-message-ttl": 30, "x-dead-letter-exchange": "",
                                      "x-dead-letter-routing-key": work})
    ch.basic_publish("", work, b"job", pika.BasicProperties(headers={"orig": 1}))
    box = []

    def fetch(auto_ack=False):
        r = ch.basic_get(work, auto_ack=auto_ack)
        if r[0] is None:
            return False
        box[:] = [r]
        return True
    for _ in range(3):
        assert drain(pconn, fetch)
        ch.basic_reject(box[0][0].delivery_tag, requeue=False)
    assert drain(pconn, lambda: fetch(auto_ack=True))
    m, p, b = box[0]
    assert b == b"job" and m.routing_key == work and p.headers["orig"] == 1
    deaths = [(d["reason"], d["queue"], d["count"], d["exchange"], d["routing-keys"])
              for d in p.headers["x-death"]]
    assert deaths == [("expired", wait, 3, "", [wait]), ("rejected", work, 3, "", [work])]
    assert (p.headers["x-first-death-reason"], p.headers["x-first-death-queue"],
            p.headers["x-first-death-exchange"]) == ("rejected", work, "")
    assert set(p.headers["x-death"][0]) == {"count", "exchange", "queue", "reason",
                                            "routing-keys", "time"}
