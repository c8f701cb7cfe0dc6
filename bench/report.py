#!/usr/bin/python3
"""Turns bench/run.sh's raw results into bench/results/<name>.{json,md,svg}.

usage: report.py RESULTS.jsonl OUT_PREFIX --commit C --quick 0|1
       report.py --line < one-result.json     (one summary line for the console)
"""
import json
import os
import platform
import subprocess
import sys
import time

# (scenario prefix, metric key, label, higher_is_better)
METRICS = [
    ("startup", "handshake_ms", "start to first handshake (ms)", False),
    ("startup", "idle_rss_kb", "idle RSS (KiB)", False),
    ("1p1c-16B-autoack", "received_rate", "1p1c 16 B autoack (msg/s)", True),
    ("1p1c-1KiB-autoack", "received_rate", "1p1c 1 KiB autoack (msg/s)", True),
    ("publish-only-16B", "sent_rate", "publish-only 16 B (msg/s)", True),
    ("publish-only-16B", "broker_rss_kb", "RSS after publish-only (KiB)", False),
    ("consume-only-16B", "received_rate", "consume-only from backlog 16 B (msg/s)", True),
    ("1p1c-1KiB-persistent-confirm100", "confirmed_rate", "1p1c 1 KiB persistent, confirms 100 (msg/s)", True),
    ("4p4c-4-queues", "received_rate", "4p4c over 4 queues (msg/s)", True),
    ("fanout-10-queues", "received_rate", "fan-out to 10 queues (deliveries/s)", True),
    ("latency-1000-msgs", "p99", "p99 latency at 1k msg/s (us)", False),
    ("latency-10000-msgs", "p99", "p99 latency at 10k msg/s (us)", False),
    ("latency-50000-msgs", "p99", "p99 latency at 50k msg/s (us)", False),
    ("-queues-1-consumer-each", "received_rate", "many queues, 1 consumer each (msg/s)", True),
    ("-idle-connections", "rss_per_connection_kb", "RSS per idle connection (KiB)", False),
    ("-1KiB-persistent-publish", "confirmed_rate", "backlog publish, persistent 1 KiB (msg/s)", True),
    ("-1KiB-persistent-publish", "broker_rss_kb", "RSS with the persistent backlog (KiB)", False),
    ("-1KiB-persistent-drain", "received_rate", "backlog drain (msg/s)", True),
]


def line(r):
    if "handshake_ms" in r:
        return "handshake %.1f ms" % r["handshake_ms"]
    lat = r.get("latency_us", {})
    parts = []
    for k, label in (("sent_rate", "sent"), ("confirmed_rate", "confirmed"), ("received_rate", "received")):
        if r.get(k):
            parts.append("%s %.0f/s" % (label, r[k]))
    if lat.get("samples"):
        parts.append("p50 %.0f us p99 %.0f us" % (lat.get("p50", 0), lat.get("p99", 0)))
    if "broker_rss_kb" in r:
        parts.append("rss %d KiB" % r["broker_rss_kb"])
    if "rss_per_connection_kb" in r:
        parts.append("%.1f KiB/conn" % r["rss_per_connection_kb"])
    if r.get("errors"):
        parts.append("errors %d: %s" % (r["errors"], r.get("error", "")))
    return ", ".join(parts) or json.dumps(r)


def value(r, key):
    if key in ("p99", "p50"):
        return r.get("latency_us", {}).get(key)
    return r.get(key)


def median(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def machine():
    cpu = "unknown"
    try:
        for l in open("/proc/cpuinfo"):
            if l.startswith("model name"):
                cpu = l.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        for l in open("/proc/meminfo"):
            if l.startswith("MemTotal"):
                mem = int(l.split()[1]) // 1024
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "mem_mib": mem, "kernel": platform.release()}


def fmt(v):
    if v is None:
        return "—"
    if v >= 100:
        return "{:,.0f}".format(v)
    return "{:.2f}".format(v)


def svg(rows, path, title):
    # Horizontal bars: how many times better warren is (log2 scale, 1x line).
    import math
    w, bar, gap, left = 900, 22, 8, 360
    h = 60 + len(rows) * (bar + gap) + 30
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">' % (w, h),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="10" y="22" font-size="15" font-weight="bold">%s</text>' % title,
           '<text x="10" y="42" fill="#555">warren vs RabbitMQ: times better (log scale); dashed line = 1x, dotted = 5x</text>']
    scale = (w - left - 60) / math.log2(64)
    x1 = left
    x5 = left + scale * math.log2(5)
    out.append('<line x1="%d" y1="50" x2="%d" y2="%d" stroke="#999" stroke-dasharray="4"/>' % (x1, x1, h - 20))
    out.append('<line x1="%.0f" y1="50" x2="%.0f" y2="%d" stroke="#999" stroke-dasharray="1,3"/>' % (x5, x5, h - 20))
    y = 60
    for label, ratio in rows:
        out.append('<text x="%d" y="%d" text-anchor="end">%s</text>' % (left - 8, y + 15, label))
        if ratio:
            lr = max(-3, min(6, math.log2(ratio)))
            x = left + min(0, lr) * scale
            width = abs(lr) * scale
            color = "#2e7d32" if ratio >= 5 else ("#f9a825" if ratio >= 1 else "#c62828")
            out.append('<rect x="%.0f" y="%d" width="%.0f" height="%d" fill="%s"/>' % (x, y, max(width, 1), bar, color))
            out.append('<text x="%.0f" y="%d">%.1fx</text>' % (left + max(lr, 0) * scale + 6, y + 15, ratio))
        else:
            out.append('<text x="%d" y="%d" fill="#999">no data</text>' % (left + 6, y + 15))
        y += bar + gap
    out.append("</svg>")
    open(path, "w").write("\n".join(out))


def main():
    if sys.argv[1:2] == ["--line"]:
        try:
            print(line(json.load(sys.stdin)))
        except Exception as e:  # a broken record is reported, not fatal
            print("unparsable result: %s" % e)
        return 0
    if sys.argv[1:2] == ["--merge"]:
        # --merge BASE.json EXTRA.json OUT_PREFIX: EXTRA's scenarios replace BASE's
        base, extra = json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
        redo = {(r["broker"], r["scenario"]) for r in extra["runs"]}
        recs = [r for r in base["runs"] if (r["broker"], r["scenario"]) not in redo] + extra["runs"]
        meta = base["meta"]
        note = "%s; re-run of %s at commit %s" % (meta["command"], ", ".join(sorted({s for _, s in redo})),
                                                   extra["meta"]["commit"])
        return write(recs, sys.argv[4], meta["commit"], meta["mode"] == "quick", note)
    src, prefix = sys.argv[1], sys.argv[2]
    commit = sys.argv[sys.argv.index("--commit") + 1] if "--commit" in sys.argv else "unknown"
    quick = sys.argv[sys.argv.index("--quick") + 1] == "1" if "--quick" in sys.argv else False
    recs = [json.loads(l) for l in open(src) if l.strip()]
    return write(recs, prefix, commit, quick, None)


def write(recs, prefix, commit, quick, note):
    table = []
    for prefix_s, key, label, higher in METRICS:
        vals = {}
        for b in ("warren", "rabbitmq"):
            vs = [value(r["result"], key) for r in recs
                  if r["broker"] == b and (r["scenario"] == prefix_s or r["scenario"].endswith(prefix_s)
                                           or r["scenario"].startswith(prefix_s))]
            vals[b] = median(vs)
        w, r = vals["warren"], vals["rabbitmq"]
        ratio = None
        if w and r:
            ratio = (w / r) if higher else (r / w)
        table.append({"metric": label, "key": key, "warren": w, "rabbitmq": r,
                      "better_x": round(ratio, 2) if ratio else None, "higher_is_better": higher})
    meta = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "commit": commit,
            "mode": "quick" if quick else "full", "machine": machine(),
            "rabbitmq_version": subprocess.run(["dpkg-query", "-W", "-f=${Version}", "rabbitmq-server"],
                                               capture_output=True, text=True).stdout or "not installed",
            "command": "make bench" + (" QUICK=1" if quick else "")}
    if note:
        meta["command"] = note
    json.dump({"meta": meta, "summary": table, "runs": recs}, open(prefix + ".json", "w"), indent=1)
    md = ["# warren vs RabbitMQ — %s (%s mode)" % (meta["date"], meta["mode"]), "",
          "Commit `%s`; %s, %s cores, %s MiB; RabbitMQ %s (Debian). Command: `%s`. Broker pinned to CPU 0, load tool to CPU 1; both brokers measured in the same run." % (
              commit, meta["machine"]["cpu"], meta["machine"]["cores"], meta["machine"]["mem_mib"],
              meta["rabbitmq_version"], meta["command"]), "",
          "| metric | warren | RabbitMQ | warren better by |", "|---|---:|---:|---:|"]
    for t in table:
        md.append("| %s | %s | %s | %s |" % (t["metric"], fmt(t["warren"]), fmt(t["rabbitmq"]),
                                            ("%.1fx" % t["better_x"]) if t["better_x"] else "—"))
    md += ["", "![chart](%s.svg)" % os.path.basename(prefix), ""]
    open(prefix + ".md", "w").write("\n".join(md))
    svg([(t["metric"], t["better_x"]) for t in table], prefix + ".svg",
        "warren vs RabbitMQ %s — %s" % (meta["rabbitmq_version"], commit))
    return 0


if __name__ == "__main__":
    sys.exit(main())
