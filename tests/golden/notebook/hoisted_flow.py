"""Flow exported from hoisted.ipynb by jupyter_flow.

Edit the notebook and export it again rather than editing this file.
Run it with: python hoisted_flow.py run
"""

import math

from jupyter_flow import Flow


def scale(v, factor=2):
    # a helper the next step uses too
    return math.sqrt(v) * factor


flow = Flow("HoistedFlow")


# cell 2 (id: c2), lines 7-8, 10-11
@flow.step(outputs=("x",))
def features():
    def _local(v):
        return v + 1

    x = _local(scale(16))
    return x


# cell 3 (id: c3)
@flow.step(outputs=("y",))
def report(x):
    y = scale(x)
    return y


if __name__ == "__main__":
    flow.main()
