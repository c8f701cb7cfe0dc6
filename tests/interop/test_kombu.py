"""kombu (py-amqp transport, AMQPLAIN login) interop."""
import kombu
import pytest
from kombu import Connection, Consumer, Exchange, Producer, Queue

from harness.fixtures import until


@pytest.fixture
def kconn(broker):
    c = Connection(broker.url(), connect_timeout=5)
    c.connect()
    yield c
    c.release()


def test_kombu_connects_with_amqplain(broker):
    c = Connection(broker.url(), login_method="AMQPLAIN")
    c.connect()
    assert c.connected
    assert c.connection.server_properties["product"] == "RabbitMQ"
    c.release()


def test_kombu_connects_with_plain(broker):
    c = Connection(broker.url(), login_method="PLAIN")
    c.connect()
    assert c.connected
    c.release()


def test_kombu_bad_password(broker):
    c = Connection(broker.url(password="wrong"), connect_timeout=5)
    with pytest.raises(Exception) as ei:
        c.connect()
    assert "ACCESS_REFUSED" in str(ei.value) or "403" in str(ei.value) or \
        "authentication" in str(ei.value).lower()
    c.release()


def test_simple_queue_round_trip(kconn, uniq):
    q = kconn.SimpleQueue(uniq())
    q.put({"hello": "world", "n": 1})
    msg = q.get(block=True, timeout=5)
    assert msg.payload == {"hello": "world", "n": 1}
    assert msg.content_type == "application/json"
    msg.ack()
    q.close()


def test_producer_consumer_direct(kconn, uniq):
    ex = Exchange(uniq("e"), type="direct", auto_delete=True)
    queue = Queue(uniq(), exchange=ex, routing_key="rk", auto_delete=True)
    got = []
    with Consumer(kconn, queues=[queue], callbacks=[lambda body, m: (got.append(body), m.ack())],
                  accept=["json"]):
        Producer(kconn).publish({"v": 42}, exchange=ex, routing_key="rk", serializer="json",
                                declare=[queue])
        until(lambda: got, 5, lambda t: _drain(kconn, t))
    assert got == [{"v": 42}]


def _drain(conn, t):
    try:
        conn.drain_events(timeout=t)
    except Exception:
        pass


def test_topic_exchange_with_kombu(kconn, uniq):
    ex = Exchange(uniq("e"), type="topic", auto_delete=True)
    q1 = Queue(uniq(), exchange=ex, routing_key="a.*", auto_delete=True)
    q2 = Queue(uniq(), exchange=ex, routing_key="#.z", auto_delete=True)
    ch = kconn.channel()
    for q in (q1, q2):
        q(ch).declare()
    p = Producer(ch)
    p.publish("one", exchange=ex, routing_key="a.b")
    p.publish("two", exchange=ex, routing_key="x.y.z")
    p.publish("both", exchange=ex, routing_key="a.z")
    m1 = [q1(ch).get(no_ack=True) for _ in range(3)]
    m2 = [q2(ch).get(no_ack=True) for _ in range(3)]
    assert [m.payload for m in m1 if m] == ["one", "both"]
    assert [m.payload for m in m2 if m] == ["two", "both"]
    ch.close()


def test_fanout_exchange_with_kombu(kconn, uniq):
    ex = Exchange(uniq("e"), type="fanout", auto_delete=True)
    qs = [Queue(uniq(), exchange=ex, auto_delete=True) for _ in range(3)]
    ch = kconn.channel()
    for q in qs:
        q(ch).declare()
    Producer(ch).publish("fan", exchange=ex)
    assert [q(ch).get(no_ack=True).payload for q in qs] == ["fan"] * 3
    ch.close()


def test_headers_and_properties_with_kombu(kconn, uniq):
    q = Queue(uniq(), auto_delete=True)
    ch = kconn.channel()
    q(ch).declare()
    Producer(ch).publish(b"raw", routing_key=q.name, headers={"x-k": "v", "n": 3},
                         content_type="application/octet-stream", content_encoding="binary",
                         priority=3, correlation_id="cid", reply_to="rq", expiration=60,
                         message_id="mid")
    m = q(ch).get(no_ack=True, accept=["application/octet-stream"])
    assert m.body == b"raw"
    assert m.headers == {"x-k": "v", "n": 3}
    assert m.properties["correlation_id"] == "cid"
    assert m.properties["reply_to"] == "rq"
    assert m.properties["priority"] == 3
    assert m.properties["expiration"] == "60000"
    ch.close()


def test_requeue_redelivers_with_kombu(kconn, uniq):
    q = Queue(uniq(), auto_delete=True)
    ch = kconn.channel()
    q(ch).declare()
    Producer(ch).publish("again", routing_key=q.name)
    m = q(ch).get()
    m.requeue()
    m2 = q(ch).get()
    assert m2.payload == "again" and m2.delivery_info["redelivered"] is True
    m2.ack()
    ch.close()


def test_reject_drops_with_kombu(kconn, uniq):
    q = Queue(uniq(), auto_delete=True)
    ch = kconn.channel()
    q(ch).declare()
    Producer(ch).publish("bad", routing_key=q.name)
    q(ch).get().reject()
    assert q(ch).get() is None
    ch.close()


def test_confirm_publish_with_kombu(broker, uniq):
    c = Connection(broker.url(), transport_options={"confirm_publish": True})
    q = Queue(uniq(), auto_delete=True)
    ch = c.channel()
    q(ch).declare()
    p = Producer(ch)
    for i in range(10):
        p.publish({"i": i}, routing_key=q.name)
    assert q(ch).queue_declare(passive=True).message_count == 10
    q(ch).delete()
    c.release()


def test_queue_purge_and_delete_with_kombu(kconn, uniq):
    q = Queue(uniq())
    ch = kconn.channel()
    bq = q(ch)
    bq.declare()
    for i in range(5):
        Producer(ch).publish(i, routing_key=q.name)
    assert bq.purge() == 5
    bq.delete()
    ch.close()


def test_kombu_passive_missing_queue_404(kconn):
    ch = kconn.channel()
    with pytest.raises(kombu.exceptions.ChannelError if hasattr(kombu.exceptions, "ChannelError")
                       else Exception) as ei:
        Queue("kombu-no-such-queue", channel=ch).queue_declare(passive=True)
    assert "404" in str(ei.value) or "NOT_FOUND" in str(ei.value)


def test_kombu_qos_and_consumer_ack(kconn, uniq):
    q = Queue(uniq(), auto_delete=True)
    ch = kconn.channel()
    q(ch).declare()
    for i in range(6):
        Producer(ch).publish(i, routing_key=q.name)
    got = []
    cons = Consumer(ch, queues=[q], callbacks=[lambda body, m: got.append(m)])
    cons.qos(prefetch_count=2)
    cons.consume()
    until(lambda: len(got) >= 2, 5, lambda t: _drain(kconn, t))
    _drain(kconn, 0.3)
    assert len(got) == 2
    for m in list(got):
        m.ack()
    until(lambda: len(got) >= 4, 5, lambda t: _drain(kconn, t))
    assert len(got) == 4
    cons.cancel()
    ch.close()


def test_kombu_mandatory_return(kconn):
    returned = []
    ch = kconn.channel()
    ch.events["basic_return"].add(lambda *a: returned.append(a))
    Producer(ch).publish("lost", exchange="amq.direct", routing_key="nobody-bound-k",
                         mandatory=True)
    until(lambda: returned, 5, lambda t: _drain(kconn, t))
    assert returned
    ch.close()
