"""A broker node that can be stopped and started again on the SAME data directory.

tests/harness/broker.py gives every test a fresh broker; durability tests need to stop a
node (cleanly with SIGTERM, or with SIGKILL) and start it again on the same data, the same
config and, when it is still free, the same port. Node does that for both targets:

  WARREN_TARGET=warren (default)  $WARREN_BIN (default build/warren), data dir passed by
                                  --data-dir and RABBITMQ_MNESIA_DIR.
  WARREN_TARGET=rabbitmq          Debian's RabbitMQ, a node of its own per Node (own node
                                  name, epmd port, dist port and mnesia dir); a restart
                                  starts the same node name on the same mnesia dir.

Only processes started here are signalled, by PID / by the process group each start created.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

from harness.broker import (IS_RABBIT, PASSWORD, USER, DEFAULT_BIN, _conf_text, _tail,  # noqa: E402
                            free_port, wait_ready)

RMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


class NodeError(AssertionError):
    pass


class Node:
    """start() / stop() (SIGTERM, clean) / kill() (SIGKILL) / restart(how) / close()."""

    def __init__(self, extra_conf=None, definitions=None, rabbit=None, env_only=False):
        self.rabbit = IS_RABBIT if rabbit is None else rabbit
        self.env_only = env_only  # warren: config and data dir from the environment only
        self.host = "127.0.0.1"
        self.user = USER
        self.password = PASSWORD
        self.extra_conf = list(extra_conf or [])
        self.tmp = tempfile.mkdtemp(prefix=("rmq-dur-" if self.rabbit else "warren-dur-"))
        self.data = os.path.join(self.tmp, "data")
        os.makedirs(self.data)
        self.defs = None
        if definitions is not None:
            self.defs = os.path.join(self.tmp, "definitions.json")
            with open(self.defs, "w") as f:
                json.dump(definitions, f)
        self.conf = os.path.join(self.tmp, "rabbitmq.conf")
        self.log = os.path.join(self.tmp, "warren.log")
        self.port = None
        self.proc = None
        self.pgids = []          # every process group a start() created (RabbitMQ: + its epmd)
        self.problems = []       # bad exits seen (exit status, slow stop, sanitizer report)
        self.starts = 0
        self.epmd = None         # RabbitMQ: our own epmd, started in the foreground (by PID)
        if self.rabbit:
            self.nodename = "dur%s@localhost" % uuid.uuid4().hex[:10]
            self.epmd_port = free_port()
            self.dist_port = free_port()
            self.log = os.path.join(self.tmp, "log", "console.out")
            for d in ("home", "mnesia", "log"):
                os.makedirs(os.path.join(self.tmp, d))

    # -- helpers ---------------------------------------------------------------------
    def _write_conf(self):
        with open(self.conf, "w") as f:
            f.write(_conf_text(self.port, self.extra_conf, self.defs))

    def _env(self):
        env = dict(os.environ)
        env["RABBITMQ_CONFIG_FILE"] = self.conf
        env.pop("RABBITMQ_NODE_PORT", None)
        if not self.rabbit:
            env["RABBITMQ_MNESIA_DIR"] = self.data
            return env
        envf = os.path.join(self.tmp, "rabbitmq-env.conf")
        open(envf, "a").close()
        plugins = os.path.join(self.tmp, "enabled_plugins")
        with open(plugins, "w") as f:
            f.write("[].\n")
        env.update({
            "HOME": os.path.join(self.tmp, "home"),
            "RABBITMQ_NODENAME": self.nodename,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": self.data,
            "RABBITMQ_LOG_BASE": os.path.join(self.tmp, "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": plugins,
            "RABBITMQ_CONF_ENV_FILE": envf,
            "RABBITMQ_PID_FILE": os.path.join(self.tmp, "node.pid"),
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "RABBITMQ_CTL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        })
        return env

    def _start_epmd(self):
        """erl would start `epmd -daemon`, which detaches into its own session and outlives
        every stop; an epmd we run in the foreground on the node's epmd port is found by erl
        instead and ends with close()."""
        if self.epmd is not None and self.epmd.poll() is None:
            return
        binary = shutil.which("epmd") or "/usr/lib/erlang/bin/epmd"
        env = dict(os.environ, ERL_EPMD_PORT=str(self.epmd_port), ERL_EPMD_ADDRESS="127.0.0.1")
        self.epmd = subprocess.Popen([binary, "-port", str(self.epmd_port), "-address", "127.0.0.1"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.epmd_port), timeout=0.5).close()
                return
            except OSError:
                if self.epmd.poll() is not None:
                    break
                time.sleep(0.02)  # bounded poll until epmd listens
        raise NodeError("epmd did not listen on %d" % self.epmd_port)

    def _spawn(self):
        if self.rabbit:
            self._start_epmd()
            argv = [RMQ_SERVER]
        else:
            binary = os.environ.get("WARREN_BIN", DEFAULT_BIN)
            if not os.path.exists(binary):
                raise NodeError("warren binary not found at %s (set WARREN_BIN)" % binary)
            argv = [binary] if self.env_only else [binary, "--config", self.conf,
                                                     "--data-dir", self.data]
        logf = open(self.log, "ab")
        logf.write(b"\n==== durability test: start #%d ====\n" % (self.starts + 1))
        logf.flush()
        self.proc = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=self._env(),
                                     start_new_session=True)
        logf.close()
        self.pgids.append(self.proc.pid)

    # -- lifecycle -------------------------------------------------------------------
    def start(self, ready_s=None):
        """Start (or start again) on the same data dir; returns once a handshake succeeds."""
        if self.proc is not None:
            raise NodeError("node already running")
        ready_s = ready_s or (90 if self.rabbit else 30)
        last = None
        for attempt in range(3):
            if self.port is None or attempt > 0:
                self.port = free_port()  # keep the port across restarts unless it failed
            self._write_conf()
            self._spawn()
            try:
                wait_ready(self.host, self.port, ready_s, self.proc, self.log)
                self.starts += 1
                return self
            except RuntimeError as e:
                last = e
                self._force_kill()
        raise NodeError("node did not start: %s" % last)

    def _force_kill(self):
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)
        self.proc = None

    def stop(self, deadline_s=None):
        """Clean stop: SIGTERM to the process we started; fails on a slow or bad exit."""
        if self.proc is None:
            return
        deadline_s = deadline_s or (60 if self.rabbit else 10)
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=deadline_s)
        except subprocess.TimeoutExpired:
            self.problems.append("did not stop within %ss of SIGTERM" % deadline_s)
            self._force_kill()
            raise NodeError("node did not stop within %ss of SIGTERM\n%s" % (deadline_s, _tail(self.log)))
        rc = self.proc.returncode
        self.proc = None
        if rc not in (0, -signal.SIGTERM):
            self.problems.append("exit status %s after SIGTERM" % rc)
            raise NodeError("node exited with %s after SIGTERM\n%s" % (rc, _tail(self.log)))
        if self.rabbit:
            self._wait_group_gone(self.pgids[-1], deadline_s)

    def kill(self):
        """kill -9: SIGKILL to the broker (RabbitMQ: its whole process group), wait for it."""
        if self.proc is None:
            return
        if self.rabbit:
            os.killpg(self.proc.pid, signal.SIGKILL)
        else:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.proc = None
        if self.rabbit:
            self._wait_group_gone(self.pgids[-1], 30)

    def _wait_group_gone(self, pgid, deadline_s):
        """RabbitMQ: beam's children (erl_child_setup...) leave before the port is reusable."""
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            members = _group_members(pgid)
            if not members:
                return
            time.sleep(0.05)  # bounded poll of /proc; the loop ends at the deadline

    def restart(self, how="term"):
        """Stop ("term": SIGTERM, "kill": SIGKILL) and start again on the same data dir."""
        if how == "term":
            self.stop()
        elif how == "kill":
            self.kill()
        else:
            raise ValueError(how)
        return self.start()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_problems(self):
        text = _tail(self.log, 1 << 22)
        return [m for m in SANITIZER_MARKERS if m in text]

    def close(self):
        """Final clean stop, end leftover members of our own process groups, remove the dir
        unless something went wrong. Returns a problem description or None."""
        err = None
        try:
            if self.proc is not None and self.proc.poll() is not None:
                self.problems.append("node died (exit status %s)" % self.proc.returncode)
                self.proc = None
            self.stop()
        except NodeError as e:
            err = str(e)
        for pgid in self.pgids:  # anything left of the groups we created (erl_child_setup...)
            try:
                os.killpg(pgid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass
        if self.epmd is not None:
            if self.epmd.poll() is None:
                self.epmd.terminate()
            self.epmd.wait(timeout=10)
            self.epmd = None
        probs = list(self.problems) + ["sanitizer report (%s)" % m for m in self.log_problems()]
        if err and err not in probs:
            probs.append(err)
        if probs:
            return "; ".join(probs) + " (log kept in %s)\n%s" % (self.log, _tail(self.log))
        shutil.rmtree(self.tmp, ignore_errors=True)
        return None

    def url(self, vhost="/", user=None, password=None):
        from urllib.parse import quote
        return "amqp://%s:%s@%s:%d/%s" % (user or self.user, password or self.password,
                                          self.host, self.port, quote(vhost, safe=""))


def _group_members(pgid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rfind(")") + 2:].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != "Z":
            out.append(int(d))
    return out

