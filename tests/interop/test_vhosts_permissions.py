"""Virtual hosts, users and permissions loaded from a definitions file (load_definitions in
rabbitmq.conf, RabbitMQ's JSON format with sha256 password hashes)."""
import base64
import hashlib

import pika
import pytest

from harness import wire
from harness.broker import IS_RABBIT, Broker
from harness.fixtures import pika_params


def pw_hash(password, salt=b"\x90\x1f\x2a\x33"):
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def user(name, password, tags=""):
    return {"name": name, "password_hash": pw_hash(password),
            "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": tags}


def perm(u, vhost, configure, write, read):
    return {"user": u, "vhost": vhost, "configure": configure, "write": write, "read": read}


DEFS = {
    "users": [user("admin", "admin", "administrator"), user("alice", "alice-pw"),
              user("bob", "bob-pw"), user("carol", "carol-pw")],
    "vhosts": [{"name": "/"}, {"name": "v1"}, {"name": "v2"}],
    "permissions": [
        perm("admin", "/", ".*", ".*", ".*"),
        perm("admin", "v1", ".*", ".*", ".*"),
        perm("admin", "v2", ".*", ".*", ".*"),
        perm("alice", "v1", "^alice-.*", "^(alice-.*|amq\\.default)$", "^alice-.*"),
        perm("carol", "v1", "", "", ""),
    ],
    "queues": [{"name": "shared-q", "vhost": "v1", "durable": True, "auto_delete": False,
                "arguments": {}}],
    "exchanges": [{"name": "v1-ex", "vhost": "v1", "type": "fanout", "durable": True,
                   "auto_delete": False, "internal": False, "arguments": {}}],
    "bindings": [{"source": "v1-ex", "vhost": "v1", "destination": "shared-q",
                  "destination_type": "queue", "routing_key": "", "arguments": {}}],
}


def _scope(fixture_name, config):
    return "module" if IS_RABBIT else "function"


@pytest.fixture(scope=_scope)
def vbroker():
    b = Broker(definitions=DEFS).start()
    yield b
    b.stop()
    problem = b.problems()
    if problem:
        pytest.fail("broker stopped badly: %s" % problem)


def connect(b, u, p, vhost):
    return pika.BlockingConnection(pika_params(b, vhost=vhost, user=u, password=p))


def test_defined_vhost_accepts_connections(vbroker):
    c = connect(vbroker, "admin", "admin", "v1")
    c.channel().queue_declare("", exclusive=True)
    c.close()


def test_defined_user_can_log_in(vbroker):
    c = connect(vbroker, "alice", "alice-pw", "v1")
    assert c.is_open
    c.close()


def test_defined_user_wrong_password_403(vbroker):
    r = wire.Conn(vbroker)
    f = r.handshake(user="alice", password="nope", vhost="v1")
    assert f.name == "connection.close" and f.args["reply-code"] == 403
    r.close_socket()


def test_user_without_permissions_on_vhost_530(vbroker):
    r = wire.Conn(vbroker)
    f = r.handshake(user="bob", password="bob-pw", vhost="v1")
    assert f.name == "connection.close"
    assert f.args["reply-code"] == 530
    assert f.args["reply-text"] == b"NOT_ALLOWED - access to vhost 'v1' refused for user 'bob'"
    assert (f.args["class-id"], f.args["method-id"]) == (10, 40)
    r.close_socket()


def test_user_without_permissions_on_default_vhost_530(vbroker):
    r = wire.Conn(vbroker)
    f = r.handshake(user="alice", password="alice-pw", vhost="/")
    assert f.args["reply-code"] == 530
    r.close_socket()


def test_configure_permission_allows_matching_queue(vbroker):
    c = connect(vbroker, "alice", "alice-pw", "v1")
    ch = c.channel()
    ch.queue_declare("alice-q1", auto_delete=True)
    ch.basic_publish("", "alice-q1", b"mine")
    assert ch.basic_get("alice-q1", auto_ack=True)[2] == b"mine"
    ch.queue_delete("alice-q1")
    c.close()


def test_configure_permission_refuses_other_queue_403(vbroker):
    r = wire.Conn(vbroker)
    r.open(user="alice", password="alice-pw", vhost="v1")
    r.channel(1)
    r.send_method(1, "queue.declare", queue="bob-q")
    f = r.expect_chan_close(1, 403, (50, 10))
    assert f.args["reply-text"] == (b"ACCESS_REFUSED - access to queue 'bob-q' in vhost 'v1' "
                                    b"refused for user 'alice'")
    r.close()


def test_configure_permission_refuses_exchange_declare_403(vbroker):
    r = wire.Conn(vbroker)
    r.open(user="alice", password="alice-pw", vhost="v1")
    r.channel(1)
    r.send_method(1, "exchange.declare", exchange="bob-ex", type="direct")
    f = r.expect_chan_close(1, 403, (40, 10))
    assert f.args["reply-text"] == (b"ACCESS_REFUSED - access to exchange 'bob-ex' in vhost 'v1' "
                                    b"refused for user 'alice'")
    r.close()


def test_write_permission_refuses_publish_403(vbroker):
    r = wire.Conn(vbroker)
    r.open(user="alice", password="alice-pw", vhost="v1")
    r.channel(1)
    r.publish(1, b"x", exchange="v1-ex")
    f = r.expect_chan_close(1, 403, (60, 40))
    assert f.args["reply-text"] == (b"ACCESS_REFUSED - access to exchange 'v1-ex' in vhost 'v1' "
                                    b"refused for user 'alice'")
    r.close()


def test_read_permission_refuses_consume_403(vbroker):
    r = wire.Conn(vbroker)
    r.open(user="alice", password="alice-pw", vhost="v1")
    r.channel(1)
    r.send_method(1, "basic.consume", queue="shared-q")
    f = r.expect_chan_close(1, 403, (60, 20))
    assert f.args["reply-text"] == (b"ACCESS_REFUSED - access to queue 'shared-q' in vhost 'v1' "
                                    b"refused for user 'alice'")
    r.close()


def test_read_permission_refuses_get_403(vbroker):
    r = wire.Conn(vbroker)
    r.open(user="alice", password="alice-pw", vhost="v1")
    r.channel(1)
    r.send_method(1, "basic.get", queue="shared-q")
    r.expect_chan_close(1, 403, (60, 70))
    r.close()


def test_bind_needs_read_on_exchange_403(vbroker):
    r = wire.Conn(vbroker)
    r.open(user="alice", password="alice-pw", vhost="v1")
    r.channel(1)
    r.rpc(1, "queue.declare", queue="alice-bindq", auto_delete=True, exclusive=True)
    r.send_method(1, "queue.bind", queue="alice-bindq", exchange="v1-ex")
    f = r.expect_chan_close(1, 403, (50, 20))
    assert b"exchange 'v1-ex'" in f.args["reply-text"]
    r.close()


def test_empty_permissions_refuse_everything(vbroker):
    r = wire.Conn(vbroker)
    r.open(user="carol", password="carol-pw", vhost="v1")
    r.channel(1)
    r.send_method(1, "queue.declare", queue="carol-q")
    r.expect_chan_close(1, 403, (50, 10))
    r.close()


def test_passive_declare_needs_no_configure_permission(vbroker):
    r = wire.Conn(vbroker)
    r.open(user="carol", password="carol-pw", vhost="v1")
    r.channel(1)
    f = r.rpc(1, "queue.declare", queue="shared-q", passive=True)
    assert f.args["queue"] == b"shared-q"
    r.close()


def test_definitions_queue_exchange_binding_exist(vbroker):
    c = connect(vbroker, "admin", "admin", "v1")
    ch = c.channel()
    ch.exchange_declare("v1-ex", passive=True)
    ch.queue_declare("shared-q", passive=True)
    ch.basic_publish("v1-ex", "", b"via-defs")
    assert ch.basic_get("shared-q", auto_ack=True)[2] == b"via-defs"
    c.close()


def test_vhosts_are_isolated(vbroker):
    c1 = connect(vbroker, "admin", "admin", "v1")
    c2 = connect(vbroker, "admin", "admin", "v2")
    ch1, ch2 = c1.channel(), c2.channel()
    ch1.queue_declare("iso-q", auto_delete=True)
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as ei:
        ch2.queue_declare("iso-q", passive=True)
    assert ei.value.reply_code == 404
    assert ei.value.reply_text == "NOT_FOUND - no queue 'iso-q' in vhost 'v2'"
    c2.channel().queue_declare("iso-q", auto_delete=True, durable=True)
    ch1.queue_delete("iso-q")
    c2.channel().queue_delete("iso-q")
    c1.close()
    c2.close()


def test_amq_exchanges_exist_in_every_vhost(vbroker):
    c = connect(vbroker, "admin", "admin", "v2")
    ch = c.channel()
    for name in ("amq.direct", "amq.fanout", "amq.topic", "amq.headers", "amq.match"):
        ch.exchange_declare(name, passive=True)
    c.close()


def test_user_id_must_match_defined_user(vbroker):
    c = connect(vbroker, "alice", "alice-pw", "v1")
    ch = c.channel()
    ch.queue_declare("alice-uid", auto_delete=True)
    ch.basic_publish("", "alice-uid", b"x", pika.BasicProperties(user_id="alice"))
    assert ch.basic_get("alice-uid", auto_ack=True)[1].user_id == "alice"
    ch.basic_publish("", "alice-uid", b"x", pika.BasicProperties(user_id="admin"))
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as ei:
        ch.basic_get("alice-uid")
    assert ei.value.reply_code == 406
    c.channel().queue_delete("alice-uid")
    c.close()


def test_default_exchange_publish_needs_write_on_amq_default(vbroker):
    r = wire.Conn(vbroker)
    r.open(user="carol", password="carol-pw", vhost="v1")
    r.channel(1)
    r.publish(1, b"x", routing_key="shared-q")
    f = r.expect_chan_close(1, 403, (60, 40))
    assert f.args["reply-text"] == (b"ACCESS_REFUSED - access to exchange 'amq.default' in "
                                    b"vhost 'v1' refused for user 'carol'")
    r.close()
