"""Raw AMQP 0-9-1 frames over a socket, driven by the spec JSON (for protocol tests).

Field tables decode to dicts of name -> (type_letter, value) so tests can check that
every RabbitMQ type letter round-trips unchanged.
"""
import json
import os
import socket
import struct
import time
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC_PATH = os.path.join(HERE, "..", "..", "spec", "amqp-rabbitmq-0.9.1.json")
with open(SPEC_PATH) as _f:
    SPEC = json.load(_f)

DOMAINS = {d[0]: d[1] for d in SPEC["domains"]}
CLASSES = {}   # name -> (id, {method_name: (mid, [(argname, type)])})
BY_ID = {}     # (cid, mid) -> (class_name, method_name, args)
for _c in SPEC["classes"]:
    ms = {}
    for _m in _c["methods"]:
        args = [(a["name"], DOMAINS[a.get("domain", a.get("type"))] if "domain" in a else a["type"])
                for a in _m["arguments"]]
        ms[_m["name"]] = (_m["id"], args)
        BY_ID[(_c["id"], _m["id"])] = (_c["name"], _m["name"], args)
    CLASSES[_c["name"]] = (_c["id"], ms)
# RabbitMQ quirk: exchange.unbind-ok is 51
FRAME_METHOD, FRAME_HEADER, FRAME_BODY, FRAME_HEARTBEAT = 1, 2, 3, 8
FRAME_END = b"\xce"
PROTOCOL_HEADER = b"AMQP\x00\x00\x09\x01"


def method_id(name):
    cls, meth = name.split(".")
    cid, ms = CLASSES[cls]
    return cid, ms[meth][0]


# ---------------------------------------------------------------- encoding
def shortstr(s):
    if isinstance(s, str):
        s = s.encode()
    return struct.pack("B", len(s)) + s


def longstr(s):
    if isinstance(s, str):
        s = s.encode()
    return struct.pack(">I", len(s)) + s


def enc_value(v):
    """Encode a field value. v is (letter, value) or a plain Python value."""
    if not isinstance(v, tuple):
        if isinstance(v, bool):
            v = ("t", v)
        elif isinstance(v, int):
            v = ("l", v) if not (-2 ** 31 <= v < 2 ** 31) else ("I", v)
        elif isinstance(v, float):
            v = ("d", v)
        elif isinstance(v, (str, bytes)):
            v = ("S", v)
        elif isinstance(v, dict):
            v = ("F", v)
        elif isinstance(v, list):
            v = ("A", v)
        elif v is None:
            v = ("V", None)
        else:
            raise TypeError(v)
    t, x = v
    tb = t.encode()
    if t == "t":
        return tb + struct.pack("B", 1 if x else 0)
    if t == "b":
        return tb + struct.pack(">b", x)
    if t == "B":
        return tb + struct.pack(">B", x)
    if t == "s":
        return tb + struct.pack(">h", x)
    if t == "u":
        return tb + struct.pack(">H", x)
    if t == "I":
        return tb + struct.pack(">i", x)
    if t == "i":
        return tb + struct.pack(">I", x)
    if t == "l":
        return tb + struct.pack(">q", x)
    if t == "f":
        return tb + struct.pack(">f", x)
    if t == "d":
        return tb + struct.pack(">d", x)
    if t == "D":
        scale, unscaled = x
        return tb + struct.pack(">Bi", scale, unscaled)
    if t in ("S", "x"):
        return tb + longstr(x)
    if t == "T":
        return tb + struct.pack(">Q", x)
    if t == "F":
        return tb + table(x)
    if t == "A":
        body = b"".join(enc_value(e) for e in x)
        return tb + struct.pack(">I", len(body)) + body
    if t == "V":
        return tb
    raise ValueError("unknown field type %r" % t)


def table(d):
    if d is None:
        d = {}
    if isinstance(d, (bytes, bytearray)):
        return struct.pack(">I", len(d)) + bytes(d)
    body = b"".join(shortstr(k) + enc_value(v) for k, v in d.items())
    return struct.pack(">I", len(body)) + body


def encode_args(argspec, kw):
    out = b""
    bits = []

    def flush():
        nonlocal out, bits
        if bits:
            byte = 0
            for i, b in enumerate(bits):
                if b:
                    byte |= 1 << i
            out += struct.pack("B", byte)
            bits = []
    for name, typ in argspec:
        v = kw.get(name, kw.get(name.replace("-", "_")))
        if typ == "bit":
            bits.append(bool(v))
            if len(bits) == 8:
                flush()
            continue
        flush()
        if typ == "octet":
            out += struct.pack("B", v or 0)
        elif typ == "short":
            out += struct.pack(">H", v or 0)
        elif typ == "long":
            out += struct.pack(">I", v or 0)
        elif typ in ("longlong", "timestamp"):
            out += struct.pack(">Q", v or 0)
        elif typ == "shortstr":
            out += shortstr(v or b"")
        elif typ == "longstr":
            out += longstr(v or b"")
        elif typ == "table":
            out += table(v)
        else:
            raise ValueError(typ)
    flush()
    return out


def method_payload(name, **kw):
    cls, meth = name.split(".")
    cid, ms = CLASSES[cls]
    mid, args = ms[meth]
    return struct.pack(">HH", cid, mid) + encode_args(args, kw)


def frame(ftype, channel, payload):
    return struct.pack(">BHI", ftype, channel, len(payload)) + payload + FRAME_END


def method_frame(channel, name, **kw):
    return frame(FRAME_METHOD, channel, method_payload(name, **kw))


PROP_ORDER = [("content_type", "shortstr"), ("content_encoding", "shortstr"),
              ("headers", "table"), ("delivery_mode", "octet"), ("priority", "octet"),
              ("correlation_id", "shortstr"), ("reply_to", "shortstr"),
              ("expiration", "shortstr"), ("message_id", "shortstr"),
              ("timestamp", "timestamp"), ("type", "shortstr"), ("user_id", "shortstr"),
              ("app_id", "shortstr"), ("cluster_id", "shortstr")]


def encode_props(props):
    flags = 0
    out = b""
    for i, (name, typ) in enumerate(PROP_ORDER):
        if name in props and props[name] is not None:
            flags |= 1 << (15 - i)
            v = props[name]
            if typ == "shortstr":
                out += shortstr(v)
            elif typ == "table":
                out += table(v)
            elif typ == "octet":
                out += struct.pack("B", v)
            elif typ == "timestamp":
                out += struct.pack(">Q", v)
    return struct.pack(">H", flags) + out


def header_frame(channel, body_size, props=None, class_id=60, raw_props=None):
    p = raw_props if raw_props is not None else encode_props(props or {})
    return frame(FRAME_HEADER, channel, struct.pack(">HHQ", class_id, 0, body_size) + p)


def content_frames(channel, body, props=None, frame_max=131072):
    out = header_frame(channel, len(body), props)
    chunk = frame_max - 8
    for i in range(0, len(body), chunk):
        out += frame(FRAME_BODY, channel, body[i:i + chunk])
    return out


# ---------------------------------------------------------------- decoding
class Reader:
    def __init__(self, data):
        self.d = data
        self.i = 0

    def take(self, n):
        if self.i + n > len(self.d):
            raise ValueError("short read")
        b = self.d[self.i:self.i + n]
        self.i += n
        return b

    def u(self, fmt):
        n = struct.calcsize(fmt)
        return struct.unpack(fmt, self.take(n))[0]

    def shortstr(self):
        return self.take(self.u("B"))

    def longstr(self):
        return self.take(self.u(">I"))

    def table(self):
        raw = self.longstr()
        return decode_table(raw)


def decode_value(r):
    t = r.take(1).decode()
    if t == "t":
        return (t, r.u("B") != 0)
    fmts = {"b": ">b", "B": ">B", "s": ">h", "u": ">H", "I": ">i", "i": ">I", "l": ">q",
            "f": ">f", "d": ">d", "T": ">Q"}
    if t in fmts:
        return (t, r.u(fmts[t]))
    if t == "D":
        scale = r.u("B")
        return (t, (scale, r.u(">i")))
    if t in ("S", "x"):
        return (t, r.longstr())
    if t == "F":
        return (t, r.table())
    if t == "A":
        raw = r.take(r.u(">I"))
        rr = Reader(raw)
        items = []
        while rr.i < len(raw):
            items.append(decode_value(rr))
        return (t, items)
    if t == "V":
        return (t, None)
    raise ValueError("unknown field type %r" % t)


def decode_table(raw):
    r = Reader(raw)
    out = {}
    while r.i < len(raw):
        k = r.shortstr().decode()
        out[k] = decode_value(r)
    return out


def plain(v):
    """Strip type letters: (letter, value) trees -> plain values."""
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str) and len(v[0]) == 1:
        t, x = v
        if t == "F":
            return plain(x)
        if t == "A":
            return [plain(e) for e in x]
        return x
    return v


def decode_args(argspec, raw):
    r = Reader(raw)
    out = {}
    bitpos = 8
    byte = 0
    for name, typ in argspec:
        if typ == "bit":
            if bitpos >= 8:
                byte = r.u("B")
                bitpos = 0
            out[name] = bool(byte & (1 << bitpos))
            bitpos += 1
            continue
        bitpos = 8
        if typ == "octet":
            out[name] = r.u("B")
        elif typ == "short":
            out[name] = r.u(">H")
        elif typ == "long":
            out[name] = r.u(">I")
        elif typ in ("longlong", "timestamp"):
            out[name] = r.u(">Q")
        elif typ == "shortstr":
            out[name] = r.shortstr()
        elif typ == "longstr":
            out[name] = r.longstr()
        elif typ == "table":
            out[name] = r.table()
    return out


def decode_props(raw):
    r = Reader(raw)
    flags = r.u(">H")
    props = {}
    for i, (name, typ) in enumerate(PROP_ORDER):
        if flags & (1 << (15 - i)):
            if typ == "shortstr":
                props[name] = r.shortstr()
            elif typ == "table":
                props[name] = r.table()
            elif typ == "octet":
                props[name] = r.u("B")
            elif typ == "timestamp":
                props[name] = r.u(">Q")
    return props


class Frame:
    def __init__(self, ftype, channel, payload):
        self.type = ftype
        self.channel = channel
        self.payload = payload
        self.name = None
        self.args = None
        if ftype == FRAME_METHOD and len(payload) >= 4:
            cid, mid = struct.unpack(">HH", payload[:4])
            self.class_id, self.method_id = cid, mid
            if (cid, mid) == (40, 51):
                self.name, self.args = "exchange.unbind-ok", {}
            elif (cid, mid) in BY_ID:
                cn, mn, spec = BY_ID[(cid, mid)]
                self.name = cn + "." + mn
                self.args = decode_args(spec, payload[4:])
        elif ftype == FRAME_HEADER:
            self.class_id, _w, self.body_size = struct.unpack(">HHQ", payload[:12])
            self.props = decode_props(payload[12:])
            self.props_raw = payload[12:]

    def __repr__(self):
        if self.type == FRAME_METHOD:
            return "<Frame ch%d %s %r>" % (self.channel, self.name, self.args)
        return "<Frame type%d ch%d %d bytes>" % (self.type, self.channel, len(self.payload))


class Closed(Exception):
    pass


class Conn:
    """A raw AMQP connection. Methods raise Closed when the peer closes the socket."""

    def __init__(self, broker, timeout=5.0):
        self.broker = broker
        self.sock = socket.create_connection((broker.host, broker.port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.timeout = timeout
        self.frame_max = 131072
        self.pending = []
        self.start = None
        self.tune = None

    def close_socket(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        self.sock.sendall(data)

    def send_method(self, channel, name, **kw):
        self.send(method_frame(channel, name, **kw))

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no frame before deadline")
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(1 << 20)
        except socket.timeout:
            raise TimeoutError("no frame before deadline")
        except ConnectionResetError:
            raise Closed("connection reset")
        if not data:
            raise Closed("peer closed the socket")
        self.buf += data

    def recv_raw(self, n, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while len(self.buf) < n:
            self._fill(deadline)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_frame(self, timeout=None):
        if self.pending:
            return self.pending.pop(0)
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            if len(self.buf) >= 7:
                ftype, ch, size = struct.unpack(">BHI", self.buf[:7])
                if len(self.buf) >= 8 + size:
                    payload = self.buf[7:7 + size]
                    end = self.buf[7 + size:8 + size]
                    self.buf = self.buf[8 + size:]
                    assert end == FRAME_END, "bad frame end from server"
                    return Frame(ftype, ch, payload)
            self._fill(deadline)

    def wait(self, name, channel=None, timeout=None, skip_heartbeats=True):
        """Next method frame; asserts that it is `name` (skips heartbeats)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            f = self.read_frame(timeout=max(0.001, deadline - time.monotonic()))
            if f.type == FRAME_HEARTBEAT and skip_heartbeats:
                continue
            assert f.type == FRAME_METHOD, "expected %s, got %r" % (name, f)
            assert f.name == name, "expected %s, got %r" % (name, f)
            if channel is not None:
                assert f.channel == channel, f
            return f

    def next_method(self, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            f = self.read_frame(timeout=max(0.001, deadline - time.monotonic()))
            if f.type == FRAME_HEARTBEAT:
                continue
            return f

    def rpc(self, channel, name, reply=None, **kw):
        self.send_method(channel, name, **kw)
        if reply is None:
            reply = name + "-ok"
        return self.wait(reply, channel)

    def read_content(self, timeout=None):
        """After a deliver/get-ok/return: (props, body, header_frame)."""
        h = self.read_frame(timeout)
        assert h.type == FRAME_HEADER, h
        body = b""
        while len(body) < h.body_size:
            f = self.read_frame(timeout)
            assert f.type == FRAME_BODY, f
            body += f.payload
        return h.props, body, h

    # ---- handshake
    def handshake(self, user=None, password=None, vhost="/", mechanism="PLAIN",
                  capabilities=None, frame_max=None, channel_max=None, heartbeat=0,
                  open_vhost=True):
        user = user if user is not None else self.broker.user
        password = password if password is not None else self.broker.password
        self.send(PROTOCOL_HEADER)
        self.start = self.wait("connection.start", 0)
        caps = {"authentication_failure_close": True, "basic.nack": True,
                "consumer_cancel_notify": True, "publisher_confirms": True,
                "connection.blocked": True, "exchange_exchange_bindings": True,
                "per_consumer_qos": True}
        if capabilities is not None:
            caps = capabilities
        if mechanism == "PLAIN":
            resp = b"\x00" + user.encode() + b"\x00" + password.encode()
        elif mechanism == "AMQPLAIN":
            t = table({"LOGIN": ("S", user), "PASSWORD": ("S", password)})
            resp = t[4:]
        else:
            resp = b""
        self.send_method(0, "connection.start-ok",
                         client_properties={"product": "warren-proto-test", "capabilities": caps},
                         mechanism=mechanism, response=resp, locale="en_US")
        f = self.next_method()
        if f.name != "connection.tune":
            return f
        self.tune = f
        fm = frame_max if frame_max is not None else f.args["frame-max"]
        cm = channel_max if channel_max is not None else f.args["channel-max"]
        self.frame_max = fm or 131072
        self.send_method(0, "connection.tune-ok", channel_max=cm, frame_max=fm,
                         heartbeat=heartbeat)
        if open_vhost:
            self.send_method(0, "connection.open", virtual_host=vhost)
            return self.next_method()
        return f

    def open(self, **kw):
        f = self.handshake(**kw)
        assert f.name == "connection.open-ok", f
        return self

    def channel(self, n=1):
        self.rpc(n, "channel.open")
        return n

    def expect_conn_close(self, code, class_method=None, text_prefix=None, timeout=None):
        f = self.next_method(timeout)
        assert f.name == "connection.close" and f.channel == 0, f
        assert f.args["reply-code"] == code, f
        if class_method is not None:
            assert (f.args["class-id"], f.args["method-id"]) == class_method, f
        if text_prefix is not None:
            assert f.args["reply-text"].decode().startswith(text_prefix), f
        self.send_method(0, "connection.close-ok")
        return f

    def expect_chan_close(self, channel, code, class_method=None, text_prefix=None):
        f = self.next_method()
        assert f.name == "channel.close" and f.channel == channel, f
        assert f.args["reply-code"] == code, f
        if class_method is not None:
            assert (f.args["class-id"], f.args["method-id"]) == class_method, f
        if text_prefix is not None:
            assert f.args["reply-text"].decode().startswith(text_prefix), f
        self.send_method(channel, "channel.close-ok")
        return f

    def expect_socket_closed(self, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            try:
                self._fill(deadline)
            except Closed:
                return
            except (ConnectionResetError, BrokenPipeError):
                return
            # drop whatever the server sent before closing
            self.buf = b""

    def publish(self, channel, body, exchange="", routing_key="", props=None, mandatory=False,
                immediate=False):
        data = method_frame(channel, "basic.publish", exchange=exchange, routing_key=routing_key,
                            mandatory=mandatory, immediate=immediate)
        data += content_frames(channel, body, props, self.frame_max)
        self.send(data)

    def close(self):
        try:
            self.send_method(0, "connection.close", reply_code=200, reply_text="bye")
            self.wait("connection.close-ok", 0)
        except (Closed, OSError, TimeoutError, AssertionError):
            pass
        self.close_socket()
