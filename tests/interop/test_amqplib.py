"""amqplib (node) interop: amqplib_interop.js runs each scenario against the broker.
Skipped when node or tests/interop/node_modules/amqplib is missing (scripts/install-deps.sh
runs npm install here)."""
import os
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
NODE = shutil.which("node")
HAVE_AMQPLIB = os.path.isdir(os.path.join(HERE, "node_modules", "amqplib"))

pytestmark = pytest.mark.skipif(not (NODE and HAVE_AMQPLIB),
                                reason="node or amqplib (npm install in tests/interop) missing")


@pytest.mark.parametrize("scenario", ["basic", "confirm", "routing", "returns", "errors", "nack"])
def test_amqplib_client(broker, scenario):
    url = "amqp://%s:%s@%s:%d/%%2F" % (broker.user, broker.password, broker.host, broker.port)
    p = subprocess.run([NODE, os.path.join(HERE, "amqplib_interop.js"), url, scenario],
                       capture_output=True, text=True, timeout=60, cwd=HERE)
    assert p.returncode == 0 and p.stdout.strip() == "OK", p.stdout + p.stderr
