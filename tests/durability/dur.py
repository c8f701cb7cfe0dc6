"""Client helpers for the durability tests (raw frames from tests/harness/wire.py, and pika)."""
import time

import pika

from harness import wire

HOWS = ["term", "kill"]   # restart after a clean stop (SIGTERM) / after kill -9


def pika_conn(node, vhost="/", user=None, password=None):
    return pika.BlockingConnection(pika.ConnectionParameters(
        host=node.host, port=node.port, virtual_host=vhost,
        credentials=pika.PlainCredentials(user or node.user, password or node.password),
        blocked_connection_timeout=30))


def raw(node, user=None, password=None, vhost="/", confirm=False):
    """An open raw connection with channel 1 (in confirm mode if asked)."""
    c = wire.Conn(node, timeout=30.0)
    c.open(user=user, password=password, vhost=vhost)
    c.channel(1)
    if confirm:
        c.rpc(1, "confirm.select")
    c.next_tag = 1
    return c


def publish_confirmed(c, items, exchange="", mandatory=False):
    """items: [(routing_key, body, props)]; publishes them all pipelined on channel 1 (confirm
    mode), then waits until every one is acked. Returns the number acked; asserts no nack."""
    first = c.next_tag
    out = []
    for rk, body, props in items:
        out.append(wire.method_frame(1, "basic.publish", exchange=exchange, routing_key=rk,
                                     mandatory=mandatory, immediate=False))
        out.append(wire.content_frames(1, body, props, c.frame_max))
        c.next_tag += 1
    c.send(b"".join(out))
    last = c.next_tag - 1
    pending = set(range(first, last + 1))
    while pending:
        f = c.next_method(timeout=30)
        assert f.name in ("basic.ack", "basic.nack", "basic.return"), f
        if f.name == "basic.return":
            raise AssertionError("message returned: %r" % f)
        assert f.name == "basic.ack", "broker nacked: %r" % f
        tag = f.args["delivery-tag"]
        # confirms may come out of order (RabbitMQ acks transient ones before persistent ones)
        if f.args["multiple"]:
            pending = {t for t in pending if t > tag}
        else:
            assert tag in pending, "confirm for an unknown or already confirmed tag: %r" % f
            pending.discard(tag)
    return last - first + 1


def publish(c, items, exchange=""):
    out = []
    for rk, body, props in items:
        out.append(wire.method_frame(1, "basic.publish", exchange=exchange, routing_key=rk,
                                     mandatory=False, immediate=False))
        out.append(wire.content_frames(1, body, props, c.frame_max))
    c.send(b"".join(out))


def barrier(c):
    """A round trip on c: everything sent before it has been processed by the broker."""
    c.rpc(1, "basic.qos", prefetch_size=0, prefetch_count=0, **{"global": False})


def get(c, q, no_ack=True):
    """basic.get -> (get-ok args, props, body, props_raw) or None when empty."""
    c.send_method(1, "basic.get", queue=q, no_ack=no_ack)
    f = c.next_method(timeout=30)
    if f.name == "basic.get-empty":
        return None
    assert f.name == "basic.get-ok", f
    props, body, h = c.read_content(timeout=30)
    return f.args, props, body, h.props_raw


def get_all(c, q, no_ack=True):
    out = []
    while True:
        m = get(c, q, no_ack)
        if m is None:
            return out
        out.append(m)


def queue_count(c, q, channel=2):
    """Ready message count of q by a passive declare on a fresh channel, None on 404."""
    c.rpc(channel, "channel.open")
    c.send_method(channel, "queue.declare", queue=q, passive=True)
    f = c.next_method(timeout=30)
    if f.name == "channel.close":
        assert f.args["reply-code"] == 404, f
        c.send_method(channel, "channel.close-ok")
        return None
    assert f.name == "queue.declare-ok", f
    c.rpc(channel, "channel.close", reply_code=200, reply_text="", class_id=0, method_id=0)
    return f.args["message-count"]


def exchange_exists(c, x, channel=2):
    c.rpc(channel, "channel.open")
    c.send_method(channel, "exchange.declare", exchange=x, type="direct", passive=True)
    f = c.next_method(timeout=30)
    if f.name == "channel.close":
        assert f.args["reply-code"] == 404, f
        c.send_method(channel, "channel.close-ok")
        return False
    assert f.name == "exchange.declare-ok", f
    c.rpc(channel, "channel.close", reply_code=200, reply_text="", class_id=0, method_id=0)
    return True


def declare_code(c, method, channel=3, **kw):
    """Runs exchange.declare / queue.declare on a fresh channel; returns 0 on -ok, else the
    channel.close reply code."""
    c.rpc(channel, "channel.open")
    c.send_method(channel, method, **kw)
    f = c.next_method(timeout=30)
    if f.name == "channel.close":
        c.send_method(channel, "channel.close-ok")
        return f.args["reply-code"]
    assert f.name == method + "-ok", f
    c.rpc(channel, "channel.close", reply_code=200, reply_text="", class_id=0, method_id=0)
    return 0


def wait_for(cond, deadline_s=10.0, step=0.02):
    """Polls cond() until true or the deadline; returns its last value."""
    deadline = time.monotonic() + deadline_s
    while True:
        v = cond()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)  # bounded poll interval; the loop ends at the deadline
