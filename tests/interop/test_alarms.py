"""Resource alarms block publishers (RabbitMQ's alarms.md, connection-blocked.md).

A broker started with a memory limit it is always above (vm_memory_high_watermark.absolute = 1)
or a disk limit above any disk's free space (disk_free_limit.absolute = 1000000GB) has the
alarm set from boot. A pika connection that publishes gets connection.blocked with RabbitMQ's
reason ("low on memory" / "low on disk"); what it published is not routed (a consumer on another
connection receives nothing) while the alarm is set. On RabbitMQ the alarm is cleared with
`rabbitmqctl set_vm_memory_high_watermark` / `set_disk_free_limit`, after which the publisher
gets connection.unblocked and the message arrives; warren's clearing is covered by
tests/unit/test_alarm.c (a test hook), as warren has no rabbitmqctl.
"""
import subprocess

import pika

from harness.broker import IS_RABBIT, Broker
from harness.fixtures import pika_params, until


def _pump(*conns):
    def pump(t):
        for c in conns:
            c.process_data_events(time_limit=t / len(conns))
    return pump


def _ctl(broker, *args):
    subprocess.run(["/usr/lib/rabbitmq/bin/rabbitmqctl", "-n", broker.nodename] + list(args),
                   env=broker.rmq_env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=60)


def _blocked_publish(conf, reason, clear_args):
    b = Broker(extra_conf=conf).start()
    try:
        events = []
        cons = pika.BlockingConnection(pika_params(b))
        pub = pika.BlockingConnection(pika_params(b))
        pub.add_on_connection_blocked_callback(
            lambda _c, frame: events.append(("blocked", frame.method.reason)))
        pub.add_on_connection_unblocked_callback(lambda _c, _f: events.append(("unblocked",)))
        cch = cons.channel()
        q = cch.queue_declare("", exclusive=True).method.queue
        got = []
        cch.basic_consume(q, lambda ch, m, p, body: got.append(body), auto_ack=True)
        pch = pub.channel()
        pch.basic_publish("", q, b"held by the alarm")
        pump = _pump(cons, pub)
        assert until(lambda: events, 10.0, pump), "no connection.blocked within 10 s"
        assert events[0] == ("blocked", reason)
        # the publish is not routed while the alarm is set: bounded wait for an absence
        until(lambda: got, 1.0, pump)
        assert got == []
        if IS_RABBIT:
            _ctl(b, *clear_args)
            assert until(lambda: len(events) > 1 and got, 30.0, pump), events
            assert events[1] == ("unblocked",)
            assert got == [b"held by the alarm"]
            pub.close()
        # else: a blocked connection is not read, not even its connection.close (as on
        # RabbitMQ); the broker's stop closes it
        cons.close()
    finally:
        b.stop()
    assert b.problems() is None, b.problems()


def test_memory_alarm_blocks_publisher():
    _blocked_publish(["vm_memory_high_watermark.absolute = 1"], "low on memory",
                     ["set_vm_memory_high_watermark", "0.4"])


def test_disk_alarm_blocks_publisher():
    _blocked_publish(["disk_free_limit.absolute = 1000000GB"], "low on disk",
                     ["set_disk_free_limit", "1"])


def test_relative_zero_blocks_all_publishing():
    """vm_memory_high_watermark.relative = 0 makes the memory alarm go off at once (memory.md)."""
    _blocked_publish(["vm_memory_high_watermark.relative = 0.0"], "low on memory",
                     ["set_vm_memory_high_watermark", "0.4"])


def test_absolute_zero_blocks_all_publishing():
    """vm_memory_high_watermark.absolute = 0: a limit of 0 bytes, every publisher is blocked."""
    _blocked_publish(["vm_memory_high_watermark.absolute = 0"], "low on memory",
                     ["set_vm_memory_high_watermark", "0.4"])
