"""Replies keep their order when a durable -ok waits for the store: a client that pipelines
declare, bind, publish (confirm mode), purge, delete without waiting gets every -ok in
request order (publisher confirms are asynchronous in RabbitMQ too and may come before or
after later -oks), and everything it was told is done survives a kill -9."""
import pytest

from harness import wire
from dur import HOWS, get_all, queue_count, raw

P = {"delivery_mode": 2}


@pytest.mark.parametrize("how", HOWS)
def test_pipelined_durable_methods_answer_in_order(node, how):
    c = raw(node, confirm=True)
    out = [
        wire.method_frame(1, "exchange.declare", exchange="px", type="direct", durable=True),
        wire.method_frame(1, "queue.declare", queue="pq1", durable=True),
        wire.method_frame(1, "queue.declare", queue="pq2", durable=True),
        wire.method_frame(1, "queue.bind", queue="pq1", exchange="px", routing_key="k"),
        wire.method_frame(1, "basic.publish", exchange="px", routing_key="k"),
        wire.content_frames(1, b"one", P, c.frame_max),
        wire.method_frame(1, "queue.purge", queue="pq2"),
        wire.method_frame(1, "queue.declare", queue="pq3", durable=True),
        wire.method_frame(1, "queue.delete", queue="pq3"),
        wire.method_frame(1, "basic.publish", exchange="", routing_key="pq2"),
        wire.content_frames(1, b"two", P, c.frame_max),
    ]
    c.send(b"".join(out))
    want = ["exchange.declare-ok", "queue.declare-ok", "queue.declare-ok", "queue.bind-ok",
            "queue.purge-ok", "queue.declare-ok", "queue.delete-ok"]
    got, acked = [], set()
    while len(got) < len(want) or len(acked) < 2:
        f = c.next_method(timeout=30)
        if f.name == "basic.ack":
            tags = {1, 2} if f.args["multiple"] else {f.args["delivery-tag"]}
            acked |= {t for t in tags if t <= f.args["delivery-tag"]}
        else:
            got.append(f.name)
    assert got == want
    assert acked == {1, 2}
    node.restart(how)
    c = raw(node)
    assert [m[2] for m in get_all(c, "pq1")] == [b"one"]
    assert [m[2] for m in get_all(c, "pq2")] == [b"two"]
    assert queue_count(c, "pq3") is None
    c.close()
