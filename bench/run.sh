#!/bin/sh
# make bench: warren and Debian's RabbitMQ side by side, on this machine, in one run.
#
#   sh bench/run.sh [--quick] [--only SCENARIO[,SCENARIO...]] [--brokers warren,rabbitmq]
#
# Builds warren (release), installs rabbitmq-server if missing (never started
# as a system service: run by hand on loopback with its own data dir, ports
# and epmd), then runs every scenario against one broker and then the other,
# alternating. The broker is pinned to CPU 0 and the load tool to CPU 1.
# Writes bench/results/<date>-<commit>.json, .md and .svg.
set -eu
cd "$(dirname "$0")/.."
TOP=$(pwd)

QUICK=0
ONLY=""
BROKERS="warren rabbitmq"
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) QUICK=1 ;;
    --only) ONLY=$(echo "$2" | tr ',' ' '); shift ;;
    --brokers) BROKERS=$(echo "$2" | tr ',' ' '); shift ;;
    *) echo "usage: $0 [--quick] [--only s1,s2] [--brokers warren,rabbitmq]" >&2; exit 64 ;;
    esac
    shift
done

PY=/usr/bin/python3
BUILD=$TOP/build-bench
cmake -S "$TOP" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DWARREN_TESTS=OFF >/dev/null
TARGETS=warren-perf
echo "$BROKERS" | grep -q warren && TARGETS="warren $TARGETS"
cmake --build "$BUILD" -j "$(nproc)" --target $TARGETS >/dev/null
WARREN=$BUILD/warren
PERF=$BUILD/warren-perf

if echo "$BROKERS" | grep -q rabbitmq && [ ! -x /usr/lib/rabbitmq/bin/rabbitmq-server ]; then
    echo "bench: installing rabbitmq-server (run by hand below, never as a service)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q rabbitmq-server >/dev/null
    # The package may start a service where an init system exists; stop only that one.
    if command -v systemctl >/dev/null 2>&1; then systemctl stop rabbitmq-server 2>/dev/null || true; fi
fi

NCPU=$(nproc)
if [ "$NCPU" -ge 2 ]; then
    PIN_BROKER="taskset -c 0"
    PIN_TOOL="taskset -c 1"
else
    PIN_BROKER=""
    PIN_TOOL=""
fi

if [ "$QUICK" = 1 ]; then
    SECS=5; BACKLOG=100000; NQUEUES=200; NIDLE=200; STARTS=2
else
    SECS=15; BACKLOG=1000000; NQUEUES=1000; NIDLE=1000; STARTS=3
fi

STAMP=$(date -u +%Y-%m-%d)
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
RESULTS=$TOP/bench/results
mkdir -p "$RESULTS"
RAW=$(mktemp -d)

W_PORT=5782
R_PORT=5783
W_PID=""; R_PID=""; W_DIR=""; R_DIR=""
trap 'stop_broker; rm -rf "$RAW"' EXIT INT TERM

start_warren() {
    W_DIR=$(mktemp -d)
    printf 'listeners.tcp.default = 127.0.0.1:%s\nloopback_users = none\nlog.console.level = warning\n' \
        "$W_PORT" > "$W_DIR/rabbitmq.conf"
    T0=$(date +%s%N)
    $PIN_BROKER "$WARREN" --config "$W_DIR/rabbitmq.conf" --data-dir "$W_DIR/data" > "$W_DIR/log" 2>&1 &
    W_PID=$!
    STARTUP=$("$PERF" -h "amqp://guest:guest@127.0.0.1:$W_PORT/%2F" --handshake -z 30 --since-ns "$T0")
}

rmq_env() {
    export HOME=$R_DIR/home RABBITMQ_NODENAME=bench@localhost
    export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$R_PORT RABBITMQ_DIST_PORT=25783
    export RABBITMQ_MNESIA_BASE=$R_DIR/mnesia RABBITMQ_LOG_BASE=$R_DIR/log
    export RABBITMQ_CONFIG_FILE=$R_DIR/rabbitmq.conf RABBITMQ_ENABLED_PLUGINS_FILE=$R_DIR/enabled_plugins
    export RABBITMQ_CONF_ENV_FILE=$R_DIR/rabbitmq-env.conf RABBITMQ_PID_FILE=$R_DIR/node.pid
    export ERL_EPMD_PORT=4383 ERL_EPMD_ADDRESS=127.0.0.1
    export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
    export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

start_rabbitmq() {
    R_DIR=$(mktemp -d)
    mkdir -p "$R_DIR/home" "$R_DIR/mnesia" "$R_DIR/log"
    : > "$R_DIR/rabbitmq-env.conf"
    printf 'listeners.tcp.default = 127.0.0.1:%s\nloopback_users = none\n' "$R_PORT" > "$R_DIR/rabbitmq.conf"
    echo "[]." > "$R_DIR/enabled_plugins"
    T0=$(date +%s%N)
    ( rmq_env; exec $PIN_BROKER /usr/lib/rabbitmq/bin/rabbitmq-server > "$R_DIR/log/console.out" 2>&1 < /dev/null ) &
    R_WRAP=$!
    STARTUP=$("$PERF" -h "amqp://guest:guest@127.0.0.1:$R_PORT/%2F" --handshake -z 60 --since-ns "$T0")
    # Measure the Erlang VM itself, not the shell wrapper that started it.
    R_PID=$(cat "$R_DIR/node.pid" 2>/dev/null || echo "$R_WRAP")
}

stop_warren() {
    [ -n "$W_PID" ] || return 0
    kill "$W_PID" 2>/dev/null || true
    i=0; while kill -0 "$W_PID" 2>/dev/null && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.1; done
    kill -9 "$W_PID" 2>/dev/null || true
    W_PID=""; rm -rf "$W_DIR"
}

stop_rabbitmq() {
    [ -n "$R_PID" ] || return 0
    ( rmq_env; /usr/lib/rabbitmq/bin/rabbitmqctl -n bench@localhost stop >/dev/null 2>&1 ) || kill "$R_PID" 2>/dev/null || true
    i=0; while kill -0 "$R_PID" 2>/dev/null && [ $i -lt 300 ]; do i=$((i + 1)); sleep 0.1; done
    # The epmd this run started on its own port.
    EPMD=$(pgrep -f "epmd.*4383" 2>/dev/null || true)
    [ -z "$EPMD" ] || kill $EPMD 2>/dev/null || true
    R_PID=""; rm -rf "$R_DIR"
}

stop_broker() { stop_warren; stop_rabbitmq; }

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# perf NAME ARGS...: runs one scenario against every broker in turn.
perf() {
    name=$1; shift
    for CUR in $BROKERS; do
        if [ "$CUR" = warren ]; then PORT=$W_PORT; PID=$W_PID; else PORT=$R_PORT; PID=$R_PID; fi
        out=$($PIN_TOOL "$PERF" -h "amqp://guest:guest@127.0.0.1:$PORT/%2F" --pid "$PID" --quiet "$@" || true)
        [ -n "$out" ] || out='{"error":"no output"}'
        echo "{\"broker\":\"$CUR\",\"scenario\":\"$name\",\"result\":$out}" >> "$RAW/results.jsonl"
        echo "  $CUR $name: $(echo "$out" | $PY "$TOP/bench/report.py" --line)"
    done
}

want() { [ -z "$ONLY" ] || echo " $ONLY " | grep -q " $1 "; }

# Startup time and idle RSS: fresh nodes, several starts each.
if want startup; then
    for i in $(seq 1 $STARTS); do
        for b in $BROKERS; do
            if [ "$b" = warren ]; then start_warren; PID=$W_PID; else start_rabbitmq; PID=$R_PID; fi
            sleep 2 # idle RSS is read after the node settles
            IDLE=$(rss_kb "$PID")
            echo "{\"broker\":\"$b\",\"scenario\":\"startup\",\"result\":$(echo "$STARTUP" | $PY -c "import json,sys; r=json.load(sys.stdin); r['idle_rss_kb']=$IDLE; print(json.dumps(r))")}" >> "$RAW/results.jsonl"
            echo "  $b startup: $STARTUP idle RSS ${IDLE} kB"
            if [ "$b" = warren ]; then stop_warren; else stop_rabbitmq; fi
        done
    done
fi

# Every other scenario: both brokers up, each scenario run on one then the other.
for b in $BROKERS; do
    if [ "$b" = warren ]; then start_warren; else start_rabbitmq; fi
done
echo "bench: warren pid ${W_PID:-none}, rabbitmq pid ${R_PID:-none}; $SECS s per run"

want t16 && perf 1p1c-16B-autoack -x 1 -y 1 -s 16 -a -u bench-q -z $SECS
want t1k && perf 1p1c-1KiB-autoack -x 1 -y 1 -s 1024 -a -u bench-q -z $SECS
want pub && perf publish-only-16B -x 1 -y 0 -s 16 -u bench-pub -z $SECS
if want cons; then
    perf preload-16B -x 1 -y 0 -s 16 -u bench-backlog -C $BACKLOG -z 300 --no-cleanup
    perf consume-only-16B -x 0 -y 1 -a -u bench-backlog -D $BACKLOG -z 300
fi
want persist && perf 1p1c-1KiB-persistent-confirm100 -x 1 -y 1 -s 1024 -f persistent -c 100 -q 500 -u bench-durable -z $SECS
want multi && perf 4p4c-4-queues -x 1 -y 1 -s 16 -a --queue-pattern 'bench-m-%d' --queue-pattern-from 1 --queue-pattern-to 4 -z $SECS
want fanout && perf fanout-10-queues -x 1 -y 10 -s 16 -a -e bench-fanout -t fanout -z $SECS
if want latency; then
    for r in 1000 10000 50000; do
        perf "latency-${r}-msgs" -x 1 -y 1 -s 16 -a -r $r -u bench-lat -z $SECS
    done
fi
want queues && perf "${NQUEUES}-queues-1-consumer-each" -x 1 -y 1 -s 16 -a -r 1000 --queue-pattern 'bench-many-%d' --queue-pattern-from 1 --queue-pattern-to $NQUEUES -z $SECS
want idle && perf "${NIDLE}-idle-connections" --idle-connections $NIDLE -z 3
if want backlog; then
    perf "backlog-${BACKLOG}-1KiB-persistent-publish" -x 1 -y 0 -s 1024 -f persistent -c 100 -u bench-backlog-p -C $BACKLOG -z 900 --no-cleanup
    perf "backlog-${BACKLOG}-1KiB-persistent-drain" -x 0 -y 1 -q 1000 -u bench-backlog-p -D $BACKLOG -z 900 --durable
fi
stop_broker

OUT=$RESULTS/$STAMP-$COMMIT
$PY "$TOP/bench/report.py" "$RAW/results.jsonl" "$OUT" --commit "$COMMIT" --quick "$QUICK"
echo "bench: wrote $OUT.json $OUT.md $OUT.svg"
