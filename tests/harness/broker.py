"""Start a broker under test and wait until it answers an AMQP handshake.

Target selection (environment):
  WARREN_TARGET=warren (default)  a fresh warren process per Broker(), binary from
                                  $WARREN_BIN (default /work/main/build/warren), its own
                                  temp data dir and a free loopback port.
  WARREN_TARGET=rabbitmq          Debian's RabbitMQ. Started once per pytest session on
                                  loopback (ports from $WARREN_RMQ_PORT, default 5690), or an
                                  already running node if one answers on that port.
Both are configured with admin/admin and loopback_users = none, as the held-out suite is.
"""
import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

TARGET = os.environ.get("WARREN_TARGET", "warren")
IS_RABBIT = TARGET == "rabbitmq"
USER = "admin"
PASSWORD = "admin"
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_BIN = os.path.normpath(os.path.join(HERE, "..", "..", "build", "warren"))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def amqp_ready(host, port, timeout=1.0):
    """True when the server answers the protocol header with a connection.start frame."""
    try:
        s = socket.create_connection((host, port), timeout=timeout)
    except OSError:
        return False
    try:
        s.settimeout(timeout)
        s.sendall(b"AMQP\x00\x00\x09\x01")
        got = b""
        while len(got) < 11:
            chunk = s.recv(11 - len(got))
            if not chunk:
                return False
            got += chunk
        # type 1 (method), channel 0, class 10 method 10
        return got[0] == 1 and got[7:11] == b"\x00\x0a\x00\x0a"
    except OSError:
        return False
    finally:
        s.close()


def wait_ready(host, port, deadline_s, proc=None, log=None):
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("broker exited with %s before it was ready:\n%s"
                               % (proc.returncode, _tail(log)))
        if amqp_ready(host, port, timeout=0.5):
            return
        # back off briefly between polls; the loop is bounded by the deadline
        _wait_for_socket_change(0.02)
    raise RuntimeError("broker on %s:%d not ready within %ss:\n%s"
                       % (host, port, deadline_s, _tail(log)))


def _wait_for_socket_change(seconds):
    # select() on nothing with a timeout: a bounded poll interval, not a wait for a condition
    import select
    select.select([], [], [], seconds)


def _tail(path, n=4000):
    if not path or not os.path.exists(path):
        return ""
    with open(path, "rb") as f:
        data = f.read()
    return data[-n:].decode("utf-8", "replace")


def _conf_text(port, extra_conf, definitions_path):
    lines = [
        "listeners.tcp.default = 127.0.0.1:%d" % port,
        "default_user = %s" % USER,
        "default_pass = %s" % PASSWORD,
        "loopback_users = none",
    ]
    if definitions_path:
        lines.append("load_definitions = %s" % definitions_path)
    lines.extend(extra_conf or [])
    return "\n".join(lines) + "\n"


class Broker:
    """One broker under test. host/port/user/password/vhost describe how to reach it."""

    def __init__(self, extra_conf=None, definitions=None, dedicated=False):
        self.host = "127.0.0.1"
        self.user = USER
        self.password = PASSWORD
        self.proc = None
        self.tmp = None
        self.log = None
        self.extra_conf = extra_conf or []
        self.definitions = definitions
        self.dedicated = dedicated or bool(extra_conf) or bool(definitions)
        self.rmq_env = None
        self.exit_code = None
        self.stop_problem = None

    # -- warren -------------------------------------------------------------------
    def _start_warren(self):
        binary = os.environ.get("WARREN_BIN", DEFAULT_BIN)
        if not os.path.exists(binary):
            raise RuntimeError("warren binary not found at %s (set WARREN_BIN)" % binary)
        self.tmp = tempfile.mkdtemp(prefix="warren-test-")
        data = os.path.join(self.tmp, "data")
        os.makedirs(data)
        defs = None
        if self.definitions is not None:
            defs = os.path.join(self.tmp, "definitions.json")
            with open(defs, "w") as f:
                json.dump(self.definitions, f)
        last_err = None
        for _attempt in range(3):
            self.port = free_port()
            conf = os.path.join(self.tmp, "rabbitmq.conf")
            with open(conf, "w") as f:
                f.write(_conf_text(self.port, self.extra_conf, defs))
            env = dict(os.environ)
            env["RABBITMQ_CONFIG_FILE"] = conf
            env["RABBITMQ_MNESIA_DIR"] = data
            env.pop("RABBITMQ_NODE_PORT", None)
            self.log = os.path.join(self.tmp, "warren.log")
            logf = open(self.log, "ab")
            self.proc = subprocess.Popen([binary, "--config", conf, "--data-dir", data],
                                         stdout=logf, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=env,
                                         start_new_session=True)
            logf.close()
            try:
                wait_ready(self.host, self.port, 15, self.proc, self.log)
                return
            except RuntimeError as e:  # port raced by someone else: try another
                last_err = e
                self._kill_warren()
        raise last_err

    def _kill_warren(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.stop_problem = "did not stop within 5 s of SIGTERM"
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.exit_code = self.proc.returncode
        self.proc = None

    # -- rabbitmq -----------------------------------------------------------------
    def _start_rabbitmq(self, port, dist_port, epmd_port, nodename):
        self.tmp = tempfile.mkdtemp(prefix="rmq-test-")
        home = os.path.join(self.tmp, "home")
        for d in (home, os.path.join(self.tmp, "mnesia"), os.path.join(self.tmp, "log")):
            os.makedirs(d)
        defs = None
        if self.definitions is not None:
            defs = os.path.join(self.tmp, "definitions.json")
            with open(defs, "w") as f:
                json.dump(self.definitions, f)
        conf = os.path.join(self.tmp, "rabbitmq.conf")
        with open(conf, "w") as f:
            f.write(_conf_text(port, self.extra_conf, defs))
        envf = os.path.join(self.tmp, "rabbitmq-env.conf")
        open(envf, "w").close()
        plugins = os.path.join(self.tmp, "enabled_plugins")
        with open(plugins, "w") as f:
            f.write("[].\n")
        env = dict(os.environ)
        env.update({
            "HOME": home,
            "RABBITMQ_NODENAME": nodename,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(port),
            "RABBITMQ_DIST_PORT": str(dist_port),
            "RABBITMQ_MNESIA_BASE": os.path.join(self.tmp, "mnesia"),
            "RABBITMQ_LOG_BASE": os.path.join(self.tmp, "log"),
            "RABBITMQ_CONFIG_FILE": conf,
            "RABBITMQ_ENABLED_PLUGINS_FILE": plugins,
            "RABBITMQ_CONF_ENV_FILE": envf,
            "RABBITMQ_PID_FILE": os.path.join(self.tmp, "node.pid"),
            "ERL_EPMD_PORT": str(epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "RABBITMQ_CTL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        })
        self.rmq_env = env
        self.nodename = nodename
        self.log = os.path.join(self.tmp, "log", "console.out")
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(["/usr/lib/rabbitmq/bin/rabbitmq-server"], stdout=logf,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=env, start_new_session=True)
        logf.close()
        self.port = port
        wait_ready(self.host, self.port, 60, self.proc, self.log)

    def _stop_rabbitmq(self):
        if self.proc is None:
            return
        subprocess.run(["/usr/lib/rabbitmq/bin/rabbitmqctl", "-n", self.nodename, "stop"],
                       env=self.rmq_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=60)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        # the node's own epmd was started in our session group; end it by its pid
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc = None

    # -- public -------------------------------------------------------------------
    def start(self):
        if not IS_RABBIT:
            self._start_warren()
        elif self.dedicated:
            base = int(os.environ.get("WARREN_RMQ_PORT", "5690")) + 1
            self._start_rabbitmq(base, base + 20000, int(os.environ.get("WARREN_RMQ_EPMD", "4390")),
                                 "dedicated%d@localhost" % os.getpid())
        else:
            shared = _shared_rabbit()
            self.port = shared.port
            self.log = shared.log
        return self

    def stop(self):
        if not IS_RABBIT:
            self._kill_warren()
        elif self.dedicated:
            self._stop_rabbitmq()
        if self.tmp and (IS_RABBIT is False or self.dedicated) and not self.problems():
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def problems(self):
        """After stop(): a description of a bad exit (crash, sanitizer report) or None."""
        if IS_RABBIT:
            return None
        out = []
        if self.stop_problem:
            out.append(self.stop_problem)
        if self.exit_code not in (None, 0, -signal.SIGTERM):
            out.append("exit status %s after SIGTERM" % self.exit_code)
        text = _tail(self.log, 1 << 20)
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            if marker in text:
                out.append("sanitizer report (%s)" % marker)
        if out:
            return "; ".join(out) + "\n" + _tail(self.log)
        return None

    def alive(self):
        """True if the broker process (when we own it) is still running."""
        if self.proc is None:
            return True
        return self.proc.poll() is None

    def url(self, vhost="/", user=None, password=None):
        from urllib.parse import quote
        return "amqp://%s:%s@%s:%d/%s" % (user or self.user, password or self.password,
                                          self.host, self.port, quote(vhost, safe=""))


_SHARED = None


def _shared_rabbit():
    global _SHARED
    if _SHARED is not None:
        return _SHARED
    port = int(os.environ.get("WARREN_RMQ_PORT", "5690"))
    b = Broker()
    if amqp_ready("127.0.0.1", port):
        b.port = port  # a node someone already started for this suite
        _SHARED = b
        return b
    b._start_rabbitmq(port, port + 20000, int(os.environ.get("WARREN_RMQ_EPMD", "4390")),
                      "wtest%d@localhost" % port)
    atexit.register(b._stop_rabbitmq)
    _SHARED = b
    return b
