"""Malformed and out-of-order frames, frame-end, oversized frames, unknown class/method (raw frames)."""
import struct

import pytest

from harness import wire


def test_bad_frame_end_501(raw):
    raw.send(wire.method_frame(1, "channel.flow", active=True)[:-1] + b"\x00")
    f = raw.expect_conn_close(501, (0, 0))
    assert f.args["reply-text"].startswith(b"FRAME_ERROR")


def test_unknown_frame_type_501(raw):
    raw.send(wire.frame(9, 1, b"abc"))
    f = raw.expect_conn_close(501, (0, 0))
    assert f.args["reply-text"].startswith(b"FRAME_ERROR")


def test_frame_larger_than_frame_max_501(raw):
    raw.send(wire.frame(1, 1, b"\x00" * 200000))
    f = raw.expect_conn_close(501, (0, 0))
    assert f.args["reply-text"].startswith(b"FRAME_ERROR")


def test_truncated_method_frame_501(raw):
    raw.send(wire.frame(1, 1, b"\x00\x32"))
    raw.expect_conn_close(501, (0, 0))


def test_empty_method_frame_501(raw):
    raw.send(wire.frame(1, 0, b""))
    raw.expect_conn_close(501, (0, 0))


def test_heartbeat_with_payload_501(raw):
    raw.send(wire.frame(8, 0, b"xx"))
    raw.expect_conn_close(501, (0, 0))


def test_method_arguments_with_trailing_bytes_501(raw):
    raw.send(wire.frame(1, 1, wire.method_payload("queue.declare", queue="x") + b"\x00\x00junk"))
    f = raw.expect_conn_close(501, (50, 10))
    assert f.args["reply-text"].startswith(b"FRAME_ERROR")


def test_truncated_method_arguments_501(raw):
    raw.send(wire.frame(1, 1, wire.method_payload("queue.declare", queue="x")[:-3]))
    raw.expect_conn_close(501, (50, 10))


def test_short_content_header_501(raw):
    raw.send_method(1, "basic.publish", routing_key="x")
    raw.send(wire.frame(2, 1, b"\x00\x3c\x00\x00"))
    raw.expect_conn_close(501, (0, 0))


def test_short_content_header_without_publish_501(raw):
    # the frame is parsed (and found malformed) before its place in the sequence is checked
    raw.send(wire.frame(2, 1, b"\x00\x3c"))
    raw.expect_conn_close(501, (0, 0), "FRAME_ERROR")


def test_unknown_class_closes_connection(raw):
    raw.send(wire.frame(1, 1, struct.pack(">HH", 99, 10)))
    with pytest.raises(wire.Closed):
        while True:
            f = raw.read_frame()
            if f.name == "connection.close":
                assert f.args["reply-code"] in (503, 540), f
                raw.send_method(0, "connection.close-ok")
                raw.expect_socket_closed()
                raise wire.Closed()


def test_unknown_method_closes_connection(raw):
    raw.send(wire.frame(1, 1, struct.pack(">HH", 60, 99)))
    with pytest.raises(wire.Closed):
        while True:
            f = raw.read_frame()
            if f.name == "connection.close":
                assert f.args["reply-code"] in (503, 540), f
                raw.send_method(0, "connection.close-ok")
                raw.expect_socket_closed()
                raise wire.Closed()


def test_heartbeat_on_nonzero_channel_505(raw):
    raw.send(wire.frame(8, 1, b""))
    raw.expect_conn_close(505, (0, 0), "UNEXPECTED_FRAME")


def test_content_header_without_method_505(raw):
    raw.send(wire.header_frame(1, 5))
    f = raw.expect_conn_close(505, (0, 0))
    assert f.args["reply-text"] == (b"UNEXPECTED_FRAME - expected method frame, got non method "
                                    b"frame instead")


def test_body_without_method_505(raw):
    raw.send(wire.frame(3, 1, b"abc"))
    raw.expect_conn_close(505, (0, 0))


def test_method_where_content_header_expected_505(raw):
    raw.send_method(1, "basic.publish", routing_key="x")
    raw.send_method(1, "basic.publish", routing_key="x")
    f = raw.expect_conn_close(505, (60, 40))
    assert f.args["reply-text"] == (b"UNEXPECTED_FRAME - expected content header for class 60, "
                                    b"got non content header frame instead")


def test_content_header_with_wrong_class_505(raw):
    raw.send_method(1, "basic.publish", routing_key="x")
    raw.send(wire.header_frame(1, 3, class_id=50))
    f = raw.expect_conn_close(505, (60, 40))
    assert f.args["reply-text"] == (b"UNEXPECTED_FRAME - expected content header for class 60, "
                                    b"got one for class 50 instead")


def test_body_on_other_channel_during_content_505(raw):
    raw.send_method(1, "basic.publish", routing_key="x")
    raw.send(wire.header_frame(1, 3))
    raw.send(wire.frame(3, 2, b"abc"))
    raw.expect_conn_close(505)


def test_channel_method_on_channel_zero_504(raw):
    raw.send(wire.method_frame(0, "queue.declare", queue="x"))
    raw.expect_conn_close(504, (50, 10), "CHANNEL_ERROR")


def test_connection_method_on_channel_one_503(raw):
    raw.send(wire.method_frame(1, "connection.tune-ok"))
    raw.expect_conn_close(503, (10, 31), "COMMAND_INVALID")


def test_unexpected_channel_close_ok_503(raw):
    raw.send_method(1, "channel.close-ok")
    raw.expect_conn_close(503, (20, 41))


def test_frames_split_across_many_tcp_writes_are_reassembled(raw):
    data = wire.method_frame(1, "queue.declare", queue="", exclusive=True)
    for i in range(len(data)):
        raw.send(data[i:i + 1])
    assert raw.wait("queue.declare-ok", 1).args["queue"].startswith(b"amq.gen-")


def test_many_frames_in_one_tcp_write(raw):
    data = wire.method_frame(1, "queue.declare", queue="", exclusive=True)
    q = None
    raw.send(data)
    q = raw.wait("queue.declare-ok", 1).args["queue"]
    burst = b""
    for i in range(50):
        burst += wire.method_frame(1, "basic.publish", routing_key=q.decode())
        burst += wire.content_frames(1, b"m%d" % i)
    raw.send(burst)
    for i in range(50):
        raw.send_method(1, "basic.get", queue=q.decode(), no_ack=True)
        raw.wait("basic.get-ok", 1)
        assert raw.read_content()[1] == b"m%d" % i
