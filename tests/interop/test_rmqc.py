"""librabbitmq-c interop: rmqc_interop.c (built by tests/interop.cmake, or compiled here when
run outside CTest) runs each scenario against the broker."""
import os
import shutil
import subprocess
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module")
def rmqc():
    exe = os.environ.get("WARREN_RMQC")
    if exe:
        return exe
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc or not os.path.exists("/usr/include/amqp.h"):
        pytest.skip("librabbitmq-c not available")
    out = os.path.join(tempfile.mkdtemp(prefix="rmqc-"), "rmqc_interop")
    subprocess.run([cc, "-O1", "-o", out, os.path.join(HERE, "rmqc_interop.c"), "-lrabbitmq"],
                   check=True)
    return out


@pytest.mark.parametrize("scenario", ["basic", "confirm", "large", "error", "tx"])
def test_rabbitmq_c_client(broker, rmqc, scenario):
    p = subprocess.run([rmqc, broker.host, str(broker.port), broker.user, broker.password,
                        scenario], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout.strip() == "OK", p.stderr
