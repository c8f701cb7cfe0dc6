"""Durable exchanges, queues (with arguments) and bindings survive a clean stop and a kill -9
issued right after their -ok came back; non-durable and exclusive ones do not; deletes,
unbinds and purges are durable too."""
import pytest

from dur import (HOWS, declare_code, exchange_exists, get, get_all, publish_confirmed,
                 queue_count, raw, wait_for)

P = {"delivery_mode": 2}


@pytest.mark.parametrize("how", HOWS)
def test_durable_exchanges_of_every_type_survive(node, how):
    c = raw(node)
    for t in ("direct", "fanout", "topic", "headers"):
        c.rpc(1, "exchange.declare", exchange="dx-" + t, type=t, durable=True)
    c.rpc(1, "exchange.declare", exchange="dx-internal", type="fanout", durable=True, internal=True)
    node.restart(how)
    c = raw(node)
    # passive first: a plain re-declare would simply create a lost exchange again
    for t in ("direct", "fanout", "topic", "headers", "internal"):
        assert exchange_exists(c, "dx-" + t), "dx-%s is gone" % t
    for t in ("direct", "fanout", "topic", "headers"):
        assert declare_code(c, "exchange.declare", exchange="dx-" + t, type=t, durable=True) == 0
        other = "fanout" if t != "fanout" else "direct"
        # the stored type is checked: another type is inequivalent
        assert declare_code(c, "exchange.declare", exchange="dx-" + t, type=other,
                            durable=True) == 406
        # and so is durability
        assert declare_code(c, "exchange.declare", exchange="dx-" + t, type=t,
                            durable=False) == 406
    assert declare_code(c, "exchange.declare", exchange="dx-internal", type="fanout",
                        durable=True, internal=True) == 0
    # an internal exchange still refuses publishes after the restart
    c.publish(1, b"x", exchange="dx-internal", routing_key="")
    c.expect_chan_close(1, 403)
    c.close()


@pytest.mark.parametrize("how", HOWS)
def test_alternate_exchange_argument_survives(node, how):
    c = raw(node)
    c.rpc(1, "exchange.declare", exchange="ae", type="fanout", durable=True)
    c.rpc(1, "queue.declare", queue="ae-q", durable=True)
    c.rpc(1, "queue.bind", queue="ae-q", exchange="ae", routing_key="")
    c.rpc(1, "exchange.declare", exchange="main", type="direct", durable=True,
          arguments={"alternate-exchange": ("S", b"ae")})
    c.rpc(1, "queue.declare", queue="main-q", durable=True)
    c.rpc(1, "queue.bind", queue="main-q", exchange="main", routing_key="k")
    node.restart(how)
    c = raw(node, confirm=True)
    assert exchange_exists(c, "main") and exchange_exists(c, "ae")
    publish_confirmed(c, [("k", b"routed", P), ("nomatch", b"unrouted", P)], exchange="main")
    assert get(c, "main-q")[2] == b"routed"
    assert get(c, "ae-q")[2] == b"unrouted"
    assert get(c, "ae-q") is None
    c.close()


@pytest.mark.parametrize("how", HOWS)
def test_exchange_to_exchange_binding_survives(node, how):
    c = raw(node)
    c.rpc(1, "exchange.declare", exchange="src", type="topic", durable=True)
    c.rpc(1, "exchange.declare", exchange="dst", type="fanout", durable=True)
    c.rpc(1, "exchange.bind", destination="dst", source="src", routing_key="a.#")
    c.rpc(1, "queue.declare", queue="e2e-q", durable=True)
    c.rpc(1, "queue.bind", queue="e2e-q", exchange="dst", routing_key="")
    node.restart(how)
    c = raw(node, confirm=True)
    publish_confirmed(c, [("a.b.c", b"yes", P), ("b.a", b"no", P)], exchange="src")
    assert [m[2] for m in get_all(c, "e2e-q")] == [b"yes"]
    c.close()


@pytest.mark.parametrize("how", HOWS)
def test_queue_bindings_of_every_exchange_type_survive(node, how):
    c = raw(node)
    c.rpc(1, "exchange.declare", exchange="bx-direct", type="direct", durable=True)
    c.rpc(1, "exchange.declare", exchange="bx-topic", type="topic", durable=True)
    c.rpc(1, "exchange.declare", exchange="bx-headers", type="headers", durable=True)
    c.rpc(1, "exchange.declare", exchange="bx-fanout", type="fanout", durable=True)
    c.rpc(1, "queue.declare", queue="bq", durable=True)
    c.rpc(1, "queue.bind", queue="bq", exchange="bx-direct", routing_key="d1")
    c.rpc(1, "queue.bind", queue="bq", exchange="bx-topic", routing_key="*.t.#")
    c.rpc(1, "queue.bind", queue="bq", exchange="bx-headers", routing_key="",
          arguments={"x-match": ("S", b"all"), "n": ("I", 5), "s": ("S", b"v")})
    c.rpc(1, "queue.bind", queue="bq", exchange="bx-fanout", routing_key="")
    c.rpc(1, "queue.bind", queue="bq", exchange="amq.direct", routing_key="builtin")
    node.restart(how)
    c = raw(node, confirm=True)
    publish_confirmed(c, [("d1", b"1", P), ("d2", b"no", P)], exchange="bx-direct")
    publish_confirmed(c, [("x.t", b"2", P), ("x.u", b"no", P)], exchange="bx-topic")
    publish_confirmed(c, [("", b"3", {"delivery_mode": 2,
                                      "headers": {"n": ("I", 5), "s": ("S", b"v")}}),
                          ("", b"no", {"delivery_mode": 2, "headers": {"n": ("I", 6)}})],
                      exchange="bx-headers")
    publish_confirmed(c, [("anything", b"4", P)], exchange="bx-fanout")
    publish_confirmed(c, [("builtin", b"5", P)], exchange="amq.direct")
    assert [m[2] for m in get_all(c, "bq")] == [b"1", b"2", b"3", b"4", b"5"]
    c.close()


@pytest.mark.parametrize("how", HOWS)
def test_queue_arguments_survive_and_still_apply(node, how):
    c = raw(node)
    c.rpc(1, "exchange.declare", exchange="dlx", type="direct", durable=True)
    c.rpc(1, "queue.declare", queue="dead-q", durable=True)
    c.rpc(1, "queue.bind", queue="dead-q", exchange="dlx", routing_key="dead")
    ttl_args = {"x-message-ttl": ("I", 1), "x-dead-letter-exchange": ("S", b"dlx"),
                "x-dead-letter-routing-key": ("S", b"dead")}
    c.rpc(1, "queue.declare", queue="ttl-q", durable=True, arguments=ttl_args)
    max_args = {"x-max-length": ("I", 2)}
    c.rpc(1, "queue.declare", queue="max-q", durable=True, arguments=max_args)
    long_args = {"x-message-ttl": ("I", 3600000), "x-custom": ("S", b"kept")}
    c.rpc(1, "queue.declare", queue="long-q", durable=True, arguments=long_args)
    node.restart(how)
    c = raw(node, confirm=True)
    for q in ("dead-q", "ttl-q", "max-q", "long-q"):
        assert queue_count(c, q) == 0, "%s is gone" % q
    assert exchange_exists(c, "dlx")
    # the same arguments are equivalent, different ones are not (so they were stored)
    assert declare_code(c, "queue.declare", queue="ttl-q", durable=True, arguments=ttl_args) == 0
    assert declare_code(c, "queue.declare", queue="max-q", durable=True, arguments=max_args) == 0
    assert declare_code(c, "queue.declare", queue="long-q", durable=True,
                        arguments=long_args) == 0
    assert declare_code(c, "queue.declare", queue="max-q", durable=True,
                        arguments={"x-max-length": ("I", 3)}) == 406
    assert declare_code(c, "queue.declare", queue="long-q", durable=True,
                        arguments={"x-message-ttl": ("I", 5)}) == 406
    assert declare_code(c, "queue.declare", queue="ttl-q", durable=True,
                        arguments={"x-message-ttl": ("I", 1),
                                   "x-dead-letter-exchange": ("S", b"other"),
                                   "x-dead-letter-routing-key": ("S", b"dead")}) == 406
    # and they still act: max-length drops the head, ttl + dlx dead-letters
    publish_confirmed(c, [("max-q", b"m%d" % i, P) for i in range(3)])
    assert [m[2] for m in get_all(c, "max-q")] == [b"m1", b"m2"]
    publish_confirmed(c, [("ttl-q", b"expires", P)])
    assert wait_for(lambda: queue_count(c, "dead-q") == 1, 10)
    m = get(c, "dead-q")
    assert m[2] == b"expires" and m[0]["routing-key"] == b"dead"
    c.close()


@pytest.mark.parametrize("how", HOWS)
def test_non_durable_and_exclusive_entities_do_not_survive(node, how):
    c = raw(node)
    c.rpc(1, "exchange.declare", exchange="tx", type="fanout", durable=False)
    c.rpc(1, "queue.declare", queue="tq", durable=False)
    c.rpc(1, "queue.declare", queue="xq", durable=True, exclusive=True)
    c.rpc(1, "queue.declare", queue="adq", durable=False, auto_delete=True)
    c.rpc(1, "exchange.declare", exchange="keep-x", type="fanout", durable=True)
    c.rpc(1, "queue.declare", queue="keep-q", durable=True)
    c.rpc(1, "queue.bind", queue="tq", exchange="keep-x", routing_key="")
    c.rpc(1, "queue.bind", queue="keep-q", exchange="keep-x", routing_key="")
    c.rpc(1, "queue.bind", queue="keep-q", exchange="tx", routing_key="")
    node.restart(how)
    c = raw(node, confirm=True)
    assert not exchange_exists(c, "tx")
    assert queue_count(c, "tq") is None
    assert queue_count(c, "xq") is None
    assert queue_count(c, "adq") is None
    assert exchange_exists(c, "keep-x")
    assert queue_count(c, "keep-q") == 0
    # the durable binding still routes; the one to the lost queue is gone with it
    publish_confirmed(c, [("", b"after", P)], exchange="keep-x")
    assert queue_count(c, "keep-q") == 1
    c.rpc(1, "queue.declare", queue="tq", durable=False)
    publish_confirmed(c, [("", b"after2", P)], exchange="keep-x")
    assert queue_count(c, "tq") == 0
    c.close()


@pytest.mark.parametrize("how", HOWS)
def test_deletes_and_unbinds_are_durable(node, how):
    c = raw(node, confirm=True)
    c.rpc(1, "exchange.declare", exchange="gone-x", type="direct", durable=True)
    c.rpc(1, "exchange.declare", exchange="ub-x", type="direct", durable=True)
    c.rpc(1, "exchange.declare", exchange="ub-dst", type="fanout", durable=True)
    c.rpc(1, "queue.declare", queue="gone-q", durable=True)
    c.rpc(1, "queue.declare", queue="ub-q", durable=True)
    c.rpc(1, "queue.bind", queue="ub-q", exchange="ub-x", routing_key="a")
    c.rpc(1, "queue.bind", queue="ub-q", exchange="ub-x", routing_key="b")
    c.rpc(1, "exchange.bind", destination="ub-dst", source="ub-x", routing_key="c")
    c.rpc(1, "queue.bind", queue="ub-q", exchange="ub-dst", routing_key="")
    publish_confirmed(c, [("gone-q", b"m%d" % i, P) for i in range(5)])
    c.rpc(1, "queue.delete", queue="gone-q")
    c.rpc(1, "exchange.delete", exchange="gone-x")
    c.rpc(1, "queue.unbind", queue="ub-q", exchange="ub-x", routing_key="a")
    c.rpc(1, "exchange.unbind", destination="ub-dst", source="ub-x", routing_key="c")
    node.restart(how)
    c = raw(node, confirm=True)
    assert queue_count(c, "gone-q") is None
    assert not exchange_exists(c, "gone-x")
    # a queue declared again under the deleted name starts empty
    c.rpc(1, "queue.declare", queue="gone-q", durable=True)
    assert queue_count(c, "gone-q") == 0
    publish_confirmed(c, [("a", b"a", P), ("b", b"b", P), ("c", b"c", P)], exchange="ub-x")
    assert [m[2] for m in get_all(c, "ub-q")] == [b"b"]
    c.close()


@pytest.mark.parametrize("how", HOWS)
def test_purge_is_durable(node, how):
    c = raw(node, confirm=True)
    c.rpc(1, "queue.declare", queue="pq", durable=True)
    publish_confirmed(c, [("pq", b"old%d" % i, P) for i in range(20)])
    f = c.rpc(1, "queue.purge", queue="pq")
    assert f.args["message-count"] == 20
    publish_confirmed(c, [("pq", b"new", P)])
    node.restart(how)
    c = raw(node)
    assert [m[2] for m in get_all(c, "pq")] == [b"new"]
    c.close()


@pytest.mark.parametrize("how", HOWS)
def test_declare_after_restart_continues_normally(node, how):
    """Restart twice; entities made after the first restart survive the second."""
    c = raw(node)
    c.rpc(1, "queue.declare", queue="first", durable=True)
    node.restart(how)
    c = raw(node, confirm=True)
    c.rpc(1, "queue.declare", queue="second", durable=True)
    publish_confirmed(c, [("first", b"1", P), ("second", b"2", P)])
    node.restart(how)
    c = raw(node)
    assert [m[2] for m in get_all(c, "first")] == [b"1"]
    assert [m[2] for m in get_all(c, "second")] == [b"2"]
    c.close()
