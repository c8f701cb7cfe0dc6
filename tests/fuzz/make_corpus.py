#!/usr/bin/python3
"""Writes the seed corpora for the proto fuzz targets from pika's encoder
(an implementation independent of warren's codec):

  tests/fuzz/corpus/fuzz_method/  method frame payloads (from class-id on)
  tests/fuzz/corpus/fuzz_frame/   byte streams of whole frames
  tests/fuzz/corpus/fuzz_table/   field table content (without the 4-byte size)
  tests/fuzz/corpus/fuzz_props/   basic property lists (from the flags on)

Usage: /usr/bin/python3 tests/fuzz/make_corpus.py   (from the repository root)
Files are named by the sha1 of their content, like libFuzzer's own.
"""
import hashlib
import os
import struct

import pika.data
import pika.frame as frame
import pika.spec as spec

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")

TABLES = [
    {},
    {"x-max-length": 10, "x-queue-mode": "lazy"},
    {"capabilities": {"publisher_confirms": True, "basic.nack": True}, "product": "pika"},
    {"x-match": "all", "format": "pdf", "type": "report"},
    {"list": [1, "two", {"three": 3}, [None, True]], "ts": 1700000000, "neg": -1},
    {"x-dead-letter-exchange": "dlx", "x-message-ttl": 60000, "x-expires": 1800000},
    {"bytes": b"\x00\x01\x02", "decimal": __import__("decimal").Decimal("1.25")},
]

METHODS = [
    spec.Connection.Start(server_properties=TABLES[2], mechanisms="PLAIN AMQPLAIN", locales="en_US"),
    spec.Connection.StartOk(client_properties=TABLES[2], mechanism="PLAIN", response="\0guest\0guest", locale="en_US"),
    spec.Connection.Secure(challenge="c"),
    spec.Connection.SecureOk(response="r"),
    spec.Connection.Tune(channel_max=2047, frame_max=131072, heartbeat=60),
    spec.Connection.TuneOk(channel_max=2047, frame_max=131072, heartbeat=60),
    spec.Connection.Open(virtual_host="/"),
    spec.Connection.OpenOk(),
    spec.Connection.Close(reply_code=320, reply_text="CONNECTION_FORCED - bye", class_id=0, method_id=0),
    spec.Connection.CloseOk(),
    spec.Connection.Blocked(reason="low on memory"),
    spec.Connection.Unblocked(),
    spec.Channel.Open(),
    spec.Channel.OpenOk(),
    spec.Channel.Flow(active=True),
    spec.Channel.FlowOk(active=False),
    spec.Channel.Close(reply_code=404, reply_text="NOT_FOUND - no queue 'q' in vhost '/'", class_id=50, method_id=10),
    spec.Channel.CloseOk(),
    spec.Access.Request(),
    spec.Access.RequestOk(),
    spec.Exchange.Declare(exchange="logs", type="topic", durable=True, arguments={"alternate-exchange": "ae"}),
    spec.Exchange.DeclareOk(),
    spec.Exchange.Delete(exchange="logs", if_unused=True),
    spec.Exchange.DeleteOk(),
    spec.Exchange.Bind(destination="d", source="s", routing_key="a.*.#"),
    spec.Exchange.BindOk(),
    spec.Exchange.Unbind(destination="d", source="s", routing_key="a.*.#", arguments={"k": "v"}),
    spec.Exchange.UnbindOk(),
    spec.Queue.Declare(queue="tasks", durable=True, arguments=TABLES[1]),
    spec.Queue.Declare(queue="", exclusive=True, auto_delete=True, nowait=True),
    spec.Queue.DeclareOk(queue="amq.gen-abc", message_count=3, consumer_count=1),
    spec.Queue.Bind(queue="tasks", exchange="amq.topic", routing_key="k", arguments=TABLES[3]),
    spec.Queue.BindOk(),
    spec.Queue.Purge(queue="tasks"),
    spec.Queue.PurgeOk(message_count=5),
    spec.Queue.Delete(queue="tasks", if_unused=True, if_empty=True),
    spec.Queue.DeleteOk(message_count=0),
    spec.Queue.Unbind(queue="tasks", exchange="amq.topic", routing_key="k"),
    spec.Queue.UnbindOk(),
    spec.Basic.Qos(prefetch_count=10, global_qos=True),
    spec.Basic.QosOk(),
    spec.Basic.Consume(queue="tasks", consumer_tag="ctag", no_ack=True, exclusive=True, arguments={"x-priority": 5}),
    spec.Basic.ConsumeOk(consumer_tag="ctag"),
    spec.Basic.Cancel(consumer_tag="ctag", nowait=True),
    spec.Basic.CancelOk(consumer_tag="ctag"),
    spec.Basic.Publish(exchange="amq.direct", routing_key="rk", mandatory=True),
    spec.Basic.Return(reply_code=312, reply_text="NO_ROUTE", exchange="x", routing_key="rk"),
    spec.Basic.Deliver(consumer_tag="ctag", delivery_tag=42, redelivered=True, exchange="", routing_key="q"),
    spec.Basic.Get(queue="q", no_ack=True),
    spec.Basic.GetOk(delivery_tag=1, redelivered=False, exchange="", routing_key="q", message_count=9),
    spec.Basic.GetEmpty(),
    spec.Basic.Ack(delivery_tag=7, multiple=True),
    spec.Basic.Reject(delivery_tag=8, requeue=True),
    spec.Basic.RecoverAsync(requeue=True),
    spec.Basic.Recover(requeue=True),
    spec.Basic.RecoverOk(),
    spec.Basic.Nack(delivery_tag=9, multiple=True, requeue=False),
    spec.Tx.Select(),
    spec.Tx.SelectOk(),
    spec.Tx.Commit(),
    spec.Tx.CommitOk(),
    spec.Tx.Rollback(),
    spec.Tx.RollbackOk(),
    spec.Confirm.Select(),
    spec.Confirm.SelectOk(),
]

PROPS = [
    spec.BasicProperties(),
    spec.BasicProperties(delivery_mode=2),
    spec.BasicProperties(content_type="application/json", headers=TABLES[4], priority=5),
    spec.BasicProperties(
        content_type="text/plain", content_encoding="utf-8", headers={"h": "v"}, delivery_mode=1,
        priority=9, correlation_id="c", reply_to="amq.rabbitmq.reply-to", expiration="60000",
        message_id="m", timestamp=1700000000, type="t", user_id="guest", app_id="a", cluster_id="cl"),
]


def write(name, data):
    d = os.path.join(ROOT, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def payload(method):
    return struct.pack(">I", method.INDEX) + b"".join(method.encode())


# pika has no connection.update-secret (10.70/71): written by hand
RAW_METHODS = [
    struct.pack(">HHI", 10, 70, 6) + b"secret" + b"\x06reason",
    struct.pack(">HH", 10, 71),
]


def main():
    for m in METHODS:
        write("fuzz_method", payload(m))
    for m in RAW_METHODS:
        write("fuzz_method", m)
    for t in TABLES:
        pieces = []
        pika.data.encode_table(pieces, t)
        write("fuzz_table", b"".join(pieces)[4:])
    # pika writes neither floats nor the small integer types: every letter by hand
    every = b"".join([
        b"\x01at\x01", b"\x01bb\xfe", b"\x01cB\xfe", b"\x01ds\xff\xfe", b"\x01eu\xff\xfe",
        b"\x01fI" + struct.pack(">i", -5), b"\x01gi" + struct.pack(">I", 5),
        b"\x01hl" + struct.pack(">q", -6), b"\x01iL" + struct.pack(">q", 6),
        b"\x01jf" + struct.pack(">f", 1.5), b"\x01kd" + struct.pack(">d", -2.25),
        b"\x01lD\x02" + struct.pack(">I", 12345), b"\x01mS" + struct.pack(">I", 2) + b"hi",
        b"\x01nx" + struct.pack(">I", 1) + b"\x00", b"\x01oT" + struct.pack(">Q", 1700000000),
        b"\x01pV", b"\x01qA" + struct.pack(">I", 5) + b"t\x01B\x07V",
        b"\x01rF" + struct.pack(">I", 4) + b"\x01zt\x00",
    ])
    write("fuzz_table", every)
    for p in PROPS:
        write("fuzz_props", b"".join(p.encode()))

    body = bytes(range(256)) * 20
    publish = (frame.Method(1, spec.Basic.Publish(exchange="", routing_key="q")).marshal()
               + frame.Header(1, len(body), PROPS[2]).marshal()
               + frame.Body(1, body[:4000]).marshal() + frame.Body(1, body[4000:]).marshal())
    by_name = {m.NAME: m for m in METHODS}
    streams = [
        frame.Heartbeat().marshal(),
        b"".join(frame.Method(0, by_name[n]).marshal()
                 for n in ("Connection.StartOk", "Connection.TuneOk", "Connection.Open")),
        frame.Method(1, by_name["Channel.Open"]).marshal() + publish + frame.Heartbeat().marshal(),
        frame.Method(2, by_name["Basic.Deliver"]).marshal() + frame.Header(2, 0, PROPS[0]).marshal(),
        frame.Method(1, METHODS[28]).marshal() + frame.Method(1, by_name["Basic.Consume"]).marshal(),
        frame.Method(0, by_name["Connection.Close"]).marshal(),
    ]
    for s in streams:
        write("fuzz_frame", s)


if __name__ == "__main__":
    main()
