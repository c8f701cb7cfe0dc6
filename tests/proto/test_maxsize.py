"""max_message_size: 128 MiB is the limit (labelled slow: it pushes a 128 MiB body)."""
from harness import wire


def test_message_over_128_mib_is_406(broker):
    c = wire.Conn(broker, timeout=120)
    c.open()
    c.channel(1)
    q = c.rpc(1, "queue.declare", queue="", exclusive=True).args["queue"].decode()
    c.publish(1, b"a" * (134217728 + 1), routing_key=q)
    f = c.expect_chan_close(1, 406, (60, 40))
    assert f.args["reply-text"] == (b"PRECONDITION_FAILED - message size 134217729 is larger "
                                    b"than configured max size 134217728")
    c.rpc(1, "channel.open")
    c.send_method(1, "basic.get", queue=q, no_ack=True)
    assert c.next_method().name == "basic.get-empty"
    c.close()
