import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from harness.fixtures import broker, pch, pconn, raw, rawconn, uniq  # noqa: E402,F401
