#!/usr/bin/python3
"""Crash test (issue 3): confirmed persistent messages survive kill -9 of the broker.

Each round: start the node on the same data dir, declare a fresh durable queue, run
--publishers connections that publish unique ids (persistent, mandatory, confirms, up to
--window unconfirmed each), SIGKILL the broker at a random moment, start it again, drain the
round's queue and check:
  lost                  confirmed ids that did not come back               (must be 0)
  duplicates            ids the client gets a second time (came back twice, or were already
                        delivered to the round's consumer): allowed only with redelivered set
  recovered-unconfirmed ids in flight at the kill that came back (allowed)
  out-of-order          ids of one publisher that came back before an earlier one (must be 0)
  corrupt / unknown     bodies that are not what was published             (must be 0)
Every round (unless --no-declare) also declares durable queues and binds them, one round trip
at a time: each whose declare-ok and bind-ok came back must exist, bound, after the restart.
Even rounds (unless --no-consume) also run a consumer with manual acks during publishing:
an id it received and acked may stay away; one it received but had not acked must come back,
redelivered. Prints one line per round and a total; exits 1 on any failure, 2 if nothing was confirmed.

  /usr/bin/python3 tests/durability/crashtest.py --rounds 50             # warren (build/warren)
  WARREN_BIN=... /usr/bin/python3 tests/durability/crashtest.py          # another binary
  /usr/bin/python3 tests/durability/crashtest.py --target rabbitmq       # the reference
"""
import argparse
import os
import random
import select
import struct
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))

FRAME_END = b"\xce"


class Reader:
    """Incremental frame parser with an offset (no copy of the rest of the buffer per frame)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.pos = 0

    def feed(self, data):
        if self.pos:
            self.buf = self.buf[self.pos:] + data
            self.pos = 0
        else:
            self.buf += data

    def frames(self):
        buf, pos, n = self.buf, self.pos, len(self.buf)
        while n - pos >= 8:
            ftype, ch, size = struct.unpack_from(">BHI", buf, pos)
            end = pos + 7 + size
            if end + 1 > n:
                break
            if buf[end:end + 1] != FRAME_END:
                raise IOError("bad frame end")
            yield ftype, ch, buf[pos + 7:end]
            pos = end + 1
            self.pos = pos
        self.pos = pos


def make_id(pub, seq):
    return b"%03d-%010d" % (pub, seq)


def make_body(pub, seq, size):
    ident = make_id(pub, seq)
    if size <= len(ident):
        return ident
    pad = (b"|" + ident) * (size // (len(ident) + 1) + 1)
    return ident + pad[:size - len(ident)]


def parse_id(body):
    try:
        pub, seq = body[:14].split(b"-")
        return int(pub), int(seq)
    except ValueError:
        return None


class Publisher(threading.Thread):
    def __init__(self, node, idx, queue, window, size, stop, killing, limit):
        super().__init__(daemon=True)
        self.killing, self.limit = killing, limit
        self.node, self.idx, self.queue = node, idx, queue
        self.window, self.size, self.stop = window, size, stop
        self.status = bytearray(1)   # per delivery tag: 0 pending, 1 acked, 2 nacked
        self.returned = set()
        self.published = 0
        self.low = 1                 # lowest tag not yet resolved
        self.resolved = 0
        self.nacked = 0
        self.error = None
        self.first_confirm = threading.Event()

    def confirmed_seqs(self):
        return [t - 1 for t in range(1, self.published + 1)
                if t < len(self.status) and self.status[t] == 1 and (t - 1) not in self.returned]

    def _resolve(self, tag, multiple, value):
        if tag >= len(self.status) or tag < 1:
            raise IOError("confirm for unknown tag %d" % tag)
        lo = self.low if multiple else tag
        for t in range(lo, tag + 1):
            if self.status[t] == 0:
                self.status[t] = value
                self.resolved += 1
                if value == 2:
                    self.nacked += 1
        while self.low <= self.published and self.status[self.low] != 0:
            self.low += 1
        if value == 1:
            self.first_confirm.set()

    def run(self):
        from harness import wire
        try:
            conn = wire.Conn(self.node, timeout=10)
            conn.open()
            conn.channel(1)
            conn.rpc(1, "confirm.select")
        except Exception as e:  # the broker may be killed before we even connected
            self.error = "setup: %r" % e
            return
        sock = conn.sock
        sock.setblocking(False)
        rd = Reader(sock)
        rd.feed(conn.buf)
        method = wire.method_frame(1, "basic.publish", exchange="", routing_key=self.queue,
                                   mandatory=True, immediate=False)
        header = wire.header_frame(1, max(self.size, 14), {"delivery_mode": 2})
        pending_return = None
        out = b""
        try:
            while not self.stop.is_set():
                inflight = self.published - self.resolved
                if not out and inflight < self.window and self.published < self.limit:
                    n = min(self.window - inflight, 64, self.limit - self.published)
                    parts = []
                    for _ in range(n):
                        body = make_body(self.idx, self.published, self.size)
                        parts.append(method + header + struct.pack(">BHI", 3, 1, len(body))
                                     + body + FRAME_END)
                        self.published += 1
                    self.status.extend(bytes(n))
                    out = b"".join(parts)
                r, w, _ = select.select([sock], [sock] if out else [], [], 0.2)
                if w:
                    sent = sock.send(out)
                    out = out[sent:]
                if not r:
                    continue
                data = sock.recv(1 << 18)
                if not data:
                    raise IOError("connection closed by the broker")
                rd.feed(data)
                for ftype, ch, payload in rd.frames():
                    if ftype == 1:
                        cid, mid = struct.unpack_from(">HH", payload, 0)
                        if (cid, mid) == (60, 80):
                            tag, bits = struct.unpack_from(">QB", payload, 4)
                            self._resolve(tag, bits & 1, 1)
                        elif (cid, mid) == (60, 120):
                            tag, bits = struct.unpack_from(">QB", payload, 4)
                            self._resolve(tag, bits & 1, 2)
                        elif (cid, mid) == (60, 50):
                            pending_return = b""
                        elif cid in (10, 20):
                            raise IOError("broker closed: %r" % payload[:80])
                    elif ftype == 3 and pending_return is not None:
                        pending_return += payload
                        if len(pending_return) >= max(self.size, 14):
                            pid = parse_id(pending_return)
                            if pid:
                                self.returned.add(pid[1])
                            pending_return = None
        except (OSError, IOError, ValueError) as e:
            if not self.killing.is_set():
                self.error = repr(e)
        finally:
            try:
                sock.close()
            except OSError:
                pass


class Consumer(threading.Thread):
    """Consumes the round's queue with manual acks (multiple, every --ack-every deliveries)
    while the publishers run: delivered-but-unacked messages must come back redelivered,
    acked ones may come back only redelivered (an ack is not confirmed to the client)."""

    def __init__(self, node, queue, size, killing, ack_every):
        super().__init__(daemon=True)
        self.node, self.queue, self.size = node, queue, size
        self.killing, self.ack_every = killing, ack_every
        self.delivered = {}          # (pub, seq) -> True once an ack covering it was sent
        self.error = None

    def run(self):
        from harness import wire
        try:
            conn = wire.Conn(self.node, timeout=10)
            conn.open()
            conn.channel(1)
            conn.rpc(1, "basic.qos", prefetch_size=0, prefetch_count=500, **{"global": False})
            conn.rpc(1, "basic.consume", queue=self.queue, consumer_tag="crash", no_ack=False)
        except Exception as e:
            self.error = "setup: %r" % e
            return
        sock = conn.sock
        rd = Reader(sock)
        rd.feed(conn.buf)
        body = None
        tag = 0
        unacked = []
        try:
            while True:
                for ftype, ch, payload in rd.frames():
                    if ftype == 1:
                        cid, mid = struct.unpack_from(">HH", payload, 0)
                        if (cid, mid) == (60, 60):
                            tl = payload[4]
                            tag = struct.unpack_from(">Q", payload, 5 + tl)[0]
                        elif cid in (10, 20):
                            raise IOError("broker closed the consumer: %r" % payload[:80])
                    elif ftype == 2:
                        body = b""
                    elif ftype == 3 and body is not None:
                        body += payload
                        if len(body) >= max(self.size, 14):
                            pid = parse_id(body)
                            body = None
                            if pid is None:
                                continue
                            self.delivered[pid] = False
                            unacked.append(pid)
                            if len(unacked) >= self.ack_every:
                                sock.sendall(wire.method_frame(1, "basic.ack", delivery_tag=tag,
                                                               multiple=True))
                                for k in unacked:
                                    self.delivered[k] = True
                                unacked = []
                sock.settimeout(None)
                data = sock.recv(1 << 20)
                if not data:
                    raise IOError("connection closed by the broker")
                rd.feed(data)
        except (OSError, IOError, ValueError) as e:
            if not self.killing.is_set():
                self.error = repr(e)
        finally:
            try:
                sock.close()
            except OSError:
                pass


class Declarer(threading.Thread):
    """Declares durable queues (with an argument) and binds each to amq.direct, one round trip
    at a time, while the publishers run: every queue whose declare-ok and bind-ok came back
    before the kill must exist afterwards, bound."""

    def __init__(self, node, prefix, killing):
        super().__init__(daemon=True)
        self.node, self.prefix, self.killing = node, prefix, killing
        self.tried = []      # names sent
        self.ok = []         # names whose declare-ok and bind-ok both came back
        self.error = None

    def run(self):
        from harness import wire
        try:
            conn = wire.Conn(self.node, timeout=10)
            conn.open()
            conn.channel(1)
            i = 0
            while not self.killing.is_set():
                name = "%s-%d" % (self.prefix, i)
                self.tried.append(name)
                conn.rpc(1, "queue.declare", queue=name, durable=True,
                         arguments={"x-max-length": ("I", 1000000 + i)})
                conn.rpc(1, "queue.bind", queue=name, exchange="amq.direct", routing_key=name)
                self.ok.append(name)
                i += 1
        except Exception as e:
            if not self.killing.is_set():
                self.error = repr(e)

    def check(self, node):
        """After the restart: (lost, present-unconfirmed); deletes every queue it made."""
        from harness import wire
        conn = wire.Conn(node, timeout=30)
        conn.open()
        ch = 1
        conn.channel(ch)
        ok = set(self.ok)
        confirming = set()
        lost = 0
        extra = 0
        for name in self.tried:
            conn.send_method(ch, "queue.declare", queue=name, durable=True,
                             arguments={"x-max-length": ("I", 1000000 + int(name.rsplit("-", 1)[1]))},
                             passive=True)
            f = conn.next_method(timeout=30)
            if f.name == "channel.close":
                conn.send_method(ch, "channel.close-ok")
                ch += 1
                conn.channel(ch)
                lost += name in ok
                continue
            extra += name not in ok
            # still bound: a message to amq.direct with its name as key is routed
            if ch not in confirming:
                conn.rpc(ch, "confirm.select")
                confirming.add(ch)
            conn.publish(ch, b"b", exchange="amq.direct", routing_key=name, mandatory=True)
            f = conn.next_method(timeout=30)
            if f.name == "basic.return":
                conn.read_content(timeout=30)
                f = conn.next_method(timeout=30)
                lost += name in ok
            conn.rpc(ch, "queue.delete", queue=name)
        conn.close()
        return lost, extra


def drain(node, queue, expect_size):
    """Consume everything in queue (auto-ack); returns [(pub, seq, redelivered, ok_body)]."""
    from harness import wire
    conn = wire.Conn(node, timeout=30)
    conn.open()
    conn.channel(1)
    conn.send_method(1, "queue.declare", queue=queue, passive=True)
    f = conn.next_method(timeout=30)
    if f.name == "channel.close":  # the durable queue itself did not survive
        conn.close()
        return None, [], 0
    count = f.args["message-count"]
    conn.rpc(1, "basic.qos", prefetch_size=0, prefetch_count=0, **{"global": False})
    conn.rpc(1, "basic.consume", queue=queue, consumer_tag="drain", no_ack=True)
    sock = conn.sock
    rd = Reader(sock)
    rd.feed(conn.buf)
    out = []
    redelivered = False
    body = None
    deadline = time.monotonic() + 60 + count / 2000.0
    while len(out) < count:
        for ftype, ch, payload in rd.frames():
            if ftype == 1:
                cid, mid = struct.unpack_from(">HH", payload, 0)
                if (cid, mid) == (60, 60):
                    # consumer-tag, delivery-tag, redelivered bit
                    tl = payload[4]
                    redelivered = bool(payload[5 + tl + 8] & 1)
                    body = None
                elif cid in (10, 20):
                    raise IOError("broker closed the drain: %r" % payload[:80])
            elif ftype == 2:
                size = struct.unpack_from(">Q", payload, 4)[0]
                body = b""
                if size == 0:
                    out.append((None, None, redelivered, False))
            elif ftype == 3 and body is not None:
                body += payload
                if len(body) >= max(expect_size, 14):
                    pid = parse_id(body)
                    ok = pid is not None and body == make_body(pid[0], pid[1], expect_size)
                    out.append((pid[0] if pid else None, pid[1] if pid else None, redelivered, ok))
                    body = None
        if len(out) >= count:
            break
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("drain of %s: got %d of %d messages" % (queue, len(out), count))
        sock.settimeout(remaining)
        data = sock.recv(1 << 20)
        if not data:
            raise IOError("connection closed during drain")
        rd.feed(data)
    conn.buf = b""
    conn.rpc(1, "basic.cancel", consumer_tag="drain")
    f = conn.rpc(1, "queue.delete", queue=queue)
    extra = f.args["message-count"]
    conn.close()
    return count, out, extra


def run(args, log=print):
    if args.target:
        os.environ["WARREN_TARGET"] = args.target
    from node import Node
    rng = random.Random(args.seed)
    node = Node(rabbit=(os.environ.get("WARREN_TARGET", "warren") == "rabbitmq"))
    tot = dict(defs_ok=0, defs_lost=0, defs_unconfirmed=0, published=0, confirmed=0, lost=0, duplicates=0, bad_duplicates=0,
               recovered_unconfirmed=0, out_of_order=0, corrupt=0, redelivered=0, nacked=0,
               returned=0)
    failed = False
    log("crashtest: target %s, data dir %s, seed %s, %d rounds of ~%.1f s, %d publishers x "
        "window %d, %d-byte bodies" % ("rabbitmq" if node.rabbit else "warren", node.data,
                                       args.seed, args.rounds, args.seconds, args.publishers,
                                       args.window, args.size))
    try:
        node.start()
        for rnd in range(1, args.rounds + 1):
            queue = "crash-r%d" % rnd
            from harness import wire
            c = wire.Conn(node, timeout=30)
            c.open()
            c.channel(1)
            c.rpc(1, "queue.declare", queue=queue, durable=True)
            c.close()
            stop = threading.Event()
            killing = threading.Event()
            pubs = [Publisher(node, i, queue, args.window, args.size, stop, killing, args.limit)
                    for i in range(args.publishers)]
            cons = None
            if args.consume and rnd % 2 == 0:
                cons = Consumer(node, queue, args.size, killing, args.ack_every)
                cons.start()
            decl = None
            if args.declare:
                decl = Declarer(node, "crash-r%d-def" % rnd, killing)
                decl.start()
            t0 = time.monotonic()
            for p in pubs:
                p.start()
            # at least one confirm before the kill, so every round checks something
            for p in pubs:
                p.first_confirm.wait(max(0.0, t0 + 30 - time.monotonic()))
            kill_at = t0 + rng.uniform(0.15, 1.0) * args.seconds
            stop.wait(max(0.0, kill_at - time.monotonic()))  # the random moment of the kill
            killing.set()
            node.kill()
            killed_after = time.monotonic() - t0
            stop.set()
            for p in pubs:
                p.join(30)
            if cons is not None:
                cons.join(30)
            if decl is not None:
                decl.join(30)
            t1 = time.monotonic()
            node.start()
            restart_s = time.monotonic() - t1
            t2 = time.monotonic()
            count, got, extra = drain(node, queue, args.size)
            drain_s = time.monotonic() - t2
            if count is None:
                log("round %d: queue %s is gone after the restart" % (rnd, queue))
                count = 0
                failed = True
            confirmed = set()
            published = set()
            r = dict(published=0, confirmed=0, nacked=0, returned=0)
            for p in pubs:
                for s in p.confirmed_seqs():
                    confirmed.add((p.idx, s))
                published.update((p.idx, s) for s in range(p.published))
                r["published"] += p.published
                r["nacked"] += p.nacked
                r["returned"] += len(p.returned)
            r["confirmed"] = len(confirmed)
            delivered = cons.delivered if cons is not None else {}
            acked = {k for k, v in delivered.items() if v}
            seen = {}
            last_seq = {}
            r.update(corrupt=0, out_of_order=0, redelivered=0, duplicates=0, bad_duplicates=0,
                     delivered=len(delivered), acked=len(acked), acked_back=0)
            for pub, seq, redel, ok in got:
                if not ok or (pub, seq) not in published:
                    r["corrupt"] += 1
                    continue
                r["redelivered"] += redel
                key = (pub, seq)
                if key in delivered:
                    # delivered before the kill: a second copy for the client, must be flagged
                    r["duplicates"] += 1
                    r["acked_back"] += key in acked
                    if not redel:
                        r["bad_duplicates"] += 1
                if key in seen:
                    r["duplicates"] += 1
                    if not redel:
                        r["bad_duplicates"] += 1
                else:
                    if seq < last_seq.get(pub, -1):
                        r["out_of_order"] += 1
                    last_seq[pub] = max(seq, last_seq.get(pub, -1))
                seen[key] = seen.get(key, 0) + 1
            r["lost"] = len(confirmed - seen.keys() - acked)
            r["recovered_unconfirmed"] = len(seen.keys() - confirmed - delivered.keys())
            r["defs_ok"] = len(decl.ok) if decl else 0
            r["defs_lost"], r["defs_unconfirmed"] = decl.check(node) if decl else (0, 0)
            for k in tot:
                tot[k] += r[k]
            bad = (r["lost"] or r["defs_lost"] or r["bad_duplicates"] or r["out_of_order"] or r["corrupt"]
                   or extra)
            failed = failed or bool(bad)
            errs = [p.error for p in pubs if p.error]
            if decl is not None and decl.error:
                errs.append("declarer: " + decl.error)
            if cons is not None and cons.error:
                errs.append("consumer: " + cons.error)
            log("round %d: published %d confirmed %d recovered %d lost %d duplicates %d "
                "(without redelivered %d) recovered-unconfirmed %d out-of-order %d corrupt %d "
                "redelivered %d nacked %d returned %d consumed %d acked %d acked-back %d | queues "
                "declared+bound %d lost %d recovered-unconfirmed %d | killed after %.2f s, restart %.2f s, "
                "drain %.2f s%s%s" % (
                    rnd, r["published"], r["confirmed"], count, r["lost"], r["duplicates"],
                    r["bad_duplicates"], r["recovered_unconfirmed"], r["out_of_order"],
                    r["corrupt"], r["redelivered"], r["nacked"], r["returned"], r["delivered"],
                    r["acked"], r["acked_back"], r["defs_ok"], r["defs_lost"],
                    r["defs_unconfirmed"], killed_after,
                    restart_s, drain_s, " LOSS" if r["lost"] else "",
                    (" (publisher errors before the kill: %s)" % errs[:2]) if errs else ""))
            if r["lost"] and args.verbose:
                log("  lost ids: %s" % sorted(confirmed - seen.keys() - acked)[:20])
    finally:
        problem = node.close()
        if problem:
            log("broker problem: %s" % problem)
            failed = True
    log("TOTAL: queues declared+bound %d lost %d recovered-unconfirmed %d" % (
        tot["defs_ok"], tot["defs_lost"], tot["defs_unconfirmed"]))
    log("TOTAL: rounds %d published %d confirmed %d lost %d duplicates %d (without redelivered "
        "%d) recovered-unconfirmed %d out-of-order %d corrupt %d redelivered %d nacked %d "
        "returned %d" % (args.rounds, tot["published"], tot["confirmed"], tot["lost"],
                         tot["duplicates"], tot["bad_duplicates"], tot["recovered_unconfirmed"],
                         tot["out_of_order"], tot["corrupt"], tot["redelivered"], tot["nacked"],
                         tot["returned"]))
    if tot["defs_lost"]:
        failed = True
    if failed:
        log("FAIL")
        return 1
    if tot["confirmed"] == 0:
        log("FAIL: nothing was confirmed")
        return 2
    log("OK")
    return 0


def parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=2.0,
                    help="longest time publishers run before the kill (random 15-100%%)")
    ap.add_argument("--publishers", type=int, default=4)
    ap.add_argument("--window", type=int, default=256, help="unconfirmed messages per publisher")
    ap.add_argument("--size", type=int, default=64, help="body bytes (>= 14)")
    ap.add_argument("--limit", type=int, default=200000,
                    help="most messages one publisher sends per round (bounds memory)")
    ap.add_argument("--consume", action=argparse.BooleanOptionalAction, default=True,
                    help="even rounds also run a consumer with manual acks (default on)")
    ap.add_argument("--ack-every", type=int, default=50)
    ap.add_argument("--declare", action=argparse.BooleanOptionalAction, default=True,
                    help="also declare+bind durable queues during each round (default on)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--target", choices=["warren", "rabbitmq"], default=None,
                    help="default: $WARREN_TARGET or warren")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args(argv)
    if a.seed is None:
        a.seed = random.randrange(1 << 30)
    return a


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)
    sys.exit(run(parse(sys.argv[1:])))
