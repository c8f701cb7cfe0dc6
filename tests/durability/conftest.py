import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))

import pytest  # noqa: E402

from node import Node  # noqa: E402


@pytest.fixture
def node():
    """A started node with its own data dir; tests restart it with node.restart("term"|"kill")."""
    n = Node().start()
    yield n
    problem = n.close()
    if problem:
        pytest.fail("broker stopped badly: %s" % problem)


@pytest.fixture
def make_node():
    """make_node(extra_conf=..., definitions=...) -> a started Node, closed after the test."""
    made = []

    def make(**kw):
        n = Node(**kw)
        made.append(n)
        return n.start()
    yield make
    probs = [p for p in (n.close() for n in made) if p]
    if probs:
        pytest.fail("broker stopped badly: %s" % "\n".join(probs))
