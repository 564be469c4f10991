"""Flow exported from prelude.ipynb by jupyter_flow.

Edit the notebook and export it again rather than editing this file.
Run it with: python prelude_flow.py run
"""

import random
import warnings
import numpy as np
import pandas as pd

from jupyter_flow import Flow

SEED = 42


flow = Flow("PreludeFlow")


@flow.prelude
def prelude():
    """State the notebook sets outside its steps (cell 2); every task starts from it."""
    np.random.seed(SEED)
    random.seed(0)
    pd.set_option("display.max_columns", 50)
    warnings.filterwarnings("ignore", category=FutureWarning)


# cell 3 (id: c3)
@flow.step(outputs=("x", "y"))
def draw():
    x = np.random.rand(3)
    y = random.random()
    return x, y


if __name__ == "__main__":
    flow.main()
