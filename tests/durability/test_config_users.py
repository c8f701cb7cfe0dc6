"""Users, vhosts and permissions from the config (load_definitions) and the default user still
work after a restart, and durable state inside a non-default vhost survives."""
import base64
import os
import hashlib

import pytest

from harness import wire
from dur import HOWS, get_all, publish_confirmed, queue_count, raw

P = {"delivery_mode": 2}


def pw_hash(password, salt=b"\x11\x22\x33\x44"):
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def user(name, password, tags=""):
    return {"name": name, "password_hash": pw_hash(password),
            "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": tags}


def perm(u, vhost, configure, write, read):
    return {"user": u, "vhost": vhost, "configure": configure, "write": write, "read": read}


DEFS = {
    "users": [user("admin", "admin", "administrator"), user("alice", "alice-pw")],
    "vhosts": [{"name": "/"}, {"name": "dv"}],
    "permissions": [perm("admin", "/", ".*", ".*", ".*"), perm("admin", "dv", ".*", ".*", ".*"),
                    perm("alice", "dv", "^alice-.*", "^(alice-.*|amq\\.default)$", "^alice-.*")],
    "queues": [{"name": "alice-defq", "vhost": "dv", "durable": True, "auto_delete": False,
                "arguments": {}}],
    "exchanges": [], "bindings": [],
}


@pytest.mark.parametrize("how", HOWS)
def test_config_users_and_vhosts_work_after_restart(make_node, how):
    node = make_node(definitions=DEFS)
    c = raw(node, user="alice", password="alice-pw", vhost="dv", confirm=True)
    c.rpc(1, "queue.declare", queue="alice-q", durable=True)
    publish_confirmed(c, [("alice-q", b"a%d" % i, P) for i in range(3)])
    publish_confirmed(c, [("alice-defq", b"def", P)])
    node.restart(how)
    c = raw(node, user="alice", password="alice-pw", vhost="dv")
    assert [m[2] for m in get_all(c, "alice-q")] == [b"a0", b"a1", b"a2"]
    assert [m[2] for m in get_all(c, "alice-defq")] == [b"def"]
    # permissions still apply
    c.send_method(1, "queue.declare", queue="bob-q", durable=True)
    c.expect_chan_close(1, 403)
    c.close()
    # wrong password and a vhost alice has no permission on are still refused
    r = wire.Conn(node)
    f = r.handshake(user="alice", password="nope", vhost="dv")
    assert f.name == "connection.close" and f.args["reply-code"] == 403, f
    r.close_socket()
    r = wire.Conn(node)
    f = r.handshake(user="alice", password="alice-pw", vhost="/")
    assert f.name == "connection.close" and f.args["reply-code"] in (402, 530), f
    r.close_socket()
    # the admin reaches both vhosts; the default vhost's queue space is separate
    a = raw(node, vhost="dv")
    assert queue_count(a, "alice-q") == 0
    a.close()
    a = raw(node)
    assert queue_count(a, "alice-q") is None
    a.close()


@pytest.mark.parametrize("how", HOWS)
def test_default_user_works_after_restart(node, how):
    node.restart(how)
    node.restart(how)
    c = raw(node, confirm=True)
    c.rpc(1, "queue.declare", queue="after", durable=True)
    publish_confirmed(c, [("after", b"x", P)])
    c.close()


@pytest.mark.parametrize("how", HOWS)
def test_data_dir_and_config_from_environment_only(make_node, how):
    """Started with only RABBITMQ_CONFIG_FILE and RABBITMQ_MNESIA_DIR (no command-line
    options, as a RabbitMQ deployment does): state lands in that dir and survives."""
    node = make_node(env_only=True)
    c = raw(node, confirm=True)
    c.rpc(1, "queue.declare", queue="env-q", durable=True)
    publish_confirmed(c, [("env-q", b"e%d" % i, P) for i in range(10)])
    c.close()
    written = [f for _, _, files in os.walk(node.data) for f in files]
    assert written, "nothing written under the data dir %s" % node.data
    node.restart(how)
    c = raw(node)
    assert [m[2] for m in get_all(c, "env-q")] == [b"e%d" % i for i in range(10)]
    c.close()
