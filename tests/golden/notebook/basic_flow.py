"""Flow exported from basic.ipynb by jupyter_flow.

Edit the notebook and export it again rather than editing this file.
Run it with: python basic_flow.py run
"""

import numpy as np
import pandas as pd
from IPython.display import display

from jupyter_flow import Flow

THRESHOLD = 3


def clean(s):
    # keep comments
    return s.strip()


flow = Flow("BasicFlow", parameters={"n_rows": 1000, "lr": 0.1, "city": "nyc"})


# cell 6 (id: c6)
@flow.step(
    cpu=2,
    memory="16G",
    gpu=1,
    retries=2,
    timeout="30m",
    packages=["pyarrow"],
    outputs=("rng", "df"),
)
def load(n_rows):
    # !pip install -q pyarrow  (notebook-only: these became the step's packages)
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=n_rows)})
    df["y"] = df.x * 2 + THRESHOLD
    display(df)
    return rng, df


# cell 8 (id: c8)
@flow.step(outputs=("query", "name"))
def label(city):
    query = """
select *
  from trips
"""
    name = clean(f"  {city} ")
    for _i in range(3):
        pass
    display(name)
    return query, name


if __name__ == "__main__":
    flow.main()
