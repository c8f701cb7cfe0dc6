"""Declare/consume argument validation and other small rules, as RabbitMQ answers them."""
import pytest


@pytest.mark.parametrize("args,key", [
    ({"x-max-priority": -1}, "x-max-priority"),
    ({"x-max-priority": "5"}, "x-max-priority"),
    ({"x-expires": -5}, "x-expires"),
    ({"x-message-ttl": -5}, "x-message-ttl"),
    ({"x-max-length-bytes": -1}, "x-max-length-bytes"),
    ({"x-single-active-consumer": "yes"}, "x-single-active-consumer"),
    ({"x-queue-mode": "bogus"}, "x-queue-mode"),
    ({"x-queue-type": "bogus"}, "x-queue-type"),
    ({"x-dead-letter-routing-key": "k"}, "x-dead-letter-routing-key"),
])
def test_invalid_queue_argument_406(raw, uniq, args, key):
    q = uniq()
    raw.send_method(1, "queue.declare", queue=q, arguments=args)
    raw.expect_chan_close(1, 406, (50, 10),
                          "PRECONDITION_FAILED - invalid arg '%s' for queue '%s' in vhost '/'"
                          % (key, q))


def test_dead_letter_exchange_of_wrong_type_406(raw, uniq):
    q = uniq()
    raw.send_method(1, "queue.declare", queue=q, arguments={"x-dead-letter-exchange": 5})
    f = raw.expect_chan_close(1, 406, (50, 10))
    assert f.args["reply-text"] == (
        "PRECONDITION_FAILED - invalid type 'signedint' for arg 'x-dead-letter-exchange' in "
        "queue '%s' in vhost '/'" % q).encode()


def test_alternate_exchange_of_wrong_type_406(raw, uniq):
    e = uniq("e")
    raw.send_method(1, "exchange.declare", exchange=e, type="direct",
                    arguments={"alternate-exchange": 5})
    f = raw.expect_chan_close(1, 406, (40, 10))
    assert f.args["reply-text"] == (
        "PRECONDITION_FAILED - invalid type 'signedint' for arg 'alternate-exchange' in "
        "exchange '%s' in vhost '/'" % e).encode()


def test_consume_priority_of_wrong_type_406(raw):
    raw.rpc(1, "queue.declare", queue="", exclusive=True)
    raw.send_method(1, "basic.consume", queue="", arguments={"x-priority": "hi"})
    raw.expect_chan_close(1, 406, (60, 20), "PRECONDITION_FAILED - invalid arg 'x-priority'")


def test_plugin_exchange_type_unknown_503(raw, uniq):
    raw.send_method(1, "exchange.declare", exchange=uniq("e"), type="x-delayed-message")
    f = raw.expect_conn_close(503, (40, 10))
    assert f.args["reply-text"] == b"COMMAND_INVALID - unknown exchange type 'x-delayed-message'"


def test_alternate_exchange_pointing_at_itself_is_accepted(raw, uniq):
    e = uniq("e")
    raw.rpc(1, "exchange.declare", exchange=e, type="direct", arguments={"alternate-exchange": e})
    raw.publish(1, b"x", exchange=e, routing_key="nowhere")
    raw.rpc(1, "basic.qos", prefetch_count=0)  # still alive


def test_consumer_tag_reusable_after_cancel(raw):
    raw.rpc(1, "queue.declare", queue="", exclusive=True)
    raw.rpc(1, "basic.consume", queue="", consumer_tag="t")
    raw.rpc(1, "basic.cancel", consumer_tag="t")
    assert raw.rpc(1, "basic.consume", queue="", consumer_tag="t").args["consumer-tag"] == b"t"


def test_ack_zero_multiple_with_nothing_outstanding_is_ok(raw):
    raw.send_method(1, "basic.ack", delivery_tag=0, multiple=True)
    raw.send_method(1, "basic.nack", delivery_tag=0, multiple=True)
    raw.rpc(1, "basic.qos", prefetch_count=0)


def test_ack_zero_single_is_unknown_tag_406(raw):
    raw.send_method(1, "basic.ack", delivery_tag=0)
    f = raw.expect_chan_close(1, 406, (60, 80))
    assert f.args["reply-text"] == b"PRECONDITION_FAILED - unknown delivery tag 0"


def test_qos_max_prefetch_global_ok(raw):
    raw.rpc(1, "basic.qos", prefetch_count=65535, **{"global": True})


def test_routing_key_of_255_bytes(raw):
    q = raw.rpc(1, "queue.declare", queue="", exclusive=True).args["queue"].decode()
    raw.rpc(1, "queue.bind", queue=q, exchange="amq.direct", routing_key="k" * 255)
    raw.publish(1, b"long", exchange="amq.direct", routing_key="k" * 255)
    raw.send_method(1, "basic.get", queue=q, no_ack=True)
    f = raw.wait("basic.get-ok", 1)
    assert f.args["routing-key"] == b"k" * 255


def test_delete_amq_rabbitmq_trace_403(raw):
    raw.send_method(1, "exchange.delete", exchange="amq.rabbitmq.trace")
    f = raw.expect_chan_close(1, 403, (40, 20))
    assert f.args["reply-text"] == (b"ACCESS_REFUSED - deletion of system exchange "
                                    b"'amq.rabbitmq.trace' in vhost '/' not allowed")


@pytest.mark.parametrize("method,cm", [("exchange.declare", (40, 10)),
                                       ("queue.bind", (50, 20)),
                                       ("basic.publish", (60, 40))])
def test_amq_default_is_not_an_exchange_name_404(raw, method, cm):
    if method == "exchange.declare":
        raw.send_method(1, method, exchange="amq.default", passive=True)
    elif method == "queue.bind":
        raw.rpc(1, "queue.declare", queue="", exclusive=True)
        raw.send_method(1, method, queue="", exchange="amq.default")
    else:
        raw.publish(1, b"x", exchange="amq.default", routing_key="nowhere")
    f = raw.expect_chan_close(1, 404, cm)
    assert f.args["reply-text"] == b"NOT_FOUND - no exchange 'amq.default' in vhost '/'"


@pytest.mark.parametrize("channel", [3000, 65535])
def test_high_channel_numbers_can_be_opened(rawconn, channel):
    rawconn.open()
    rawconn.rpc(channel, "channel.open")
    rawconn.rpc(channel, "queue.declare", queue="", exclusive=True)
