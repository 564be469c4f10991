"""Flow module sources used by the engine tests (written to tmp dirs by the tests)."""

LINEAR = """
from jupyter_flow import Flow

flow = Flow("Linear", parameters={"n": 3})


@flow.step(outputs="a")
def one(n):
    print("one says", n)
    return n + 1


@flow.step(outputs=("b", "c"))
def two(a):
    return a * 2, [a] * 2


@flow.step(outputs="total")
def three(b, c, n):
    return b + sum(c) + n


if __name__ == "__main__":
    flow.main()
"""

# A foreach whose items finish in reverse order; a marker file makes item 2 fail.
SWEEP = """
import os
import time
from pathlib import Path

from jupyter_flow import Flow

HERE = Path(__file__).parent
flow = Flow("Sweep", parameters={"items": [0, 1, 2, 3, 4, 5], "delay": 0.05})


@flow.step(outputs="base")
def start(items):
    with open(HERE / "executions.log", "a") as fh:
        fh.write("start\\n")
    return 100


@flow.step(foreach="item in items", outputs=("square", "label"))
def each(item, base, delay):
    with open(HERE / "executions.log", "a") as fh:
        fh.write(f"each {item}\\n")
    time.sleep(delay * (6 - item))
    if item == 2 and (HERE / "broken").exists():
        raise ValueError("item 2 is broken")
    print(f"item {item}")
    return base + item * item, f"#{item}"


@flow.step(outputs="result")
def join(square, label):
    with open(HERE / "executions.log", "a") as fh:
        fh.write("join\\n")
    return dict(zip(label, square))


if __name__ == "__main__":
    flow.main()
"""

EXPECTED_SWEEP = {f"#{i}": 100 + i * i for i in range(6)}
