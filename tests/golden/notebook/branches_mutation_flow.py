"""Flow exported from branches_mutation.ipynb by jupyter_flow.

Edit the notebook and export it again rather than editing this file.
Run it with: python branches_mutation_flow.py run
"""

import pandas as pd
import json

from jupyter_flow import Flow


flow = Flow("BranchesMutationFlow")


# cell 2 (id: c0)
@flow.step(outputs=("a_rather_long_input_name_to_force_wrapping",))
def first():
    a_rather_long_input_name_to_force_wrapping = 0
    return a_rather_long_input_name_to_force_wrapping


# cell 3 (id: c2)
@flow.step(outputs=("df", "meta"))
def load():
    import json
    df = pd.DataFrame({"a": [1, 2, 3], "b": [3.0, None, 1.0]})
    meta = json.dumps({"rows": 3})
    return df, meta


# cell 4 (id: c3)
@flow.step(outputs=("df",))
def clean(df):
    df.dropna(inplace=True)
    df["c"] = df.a * 2
    return df


# cell 5 (id: c4)
@flow.step(packages=["numpy", "scipy"], outputs=("left_sum",))
def left(df):
    left_sum = int(df.a.sum())
    _scratch = 1
    return left_sum


# cell 6 (id: c5)
@flow.step(outputs=("right_max",))
def right(df, meta):
    right_max = float(df.c.max())
    tmp = json.loads(meta)
    return right_max


# cell 7 (id: c6)
@flow.step(memory="512M", outputs=("total",), after=("left",))
def join(left_sum, right_max, a_rather_long_input_name_to_force_wrapping):
    total = left_sum + right_max
    return total


# cell 8 (id: c7)
@flow.step(outputs=("a_rather_long_input_name_to_force_wrapping",), after=("first",))
def extra():
    a_rather_long_input_name_to_force_wrapping = 1
    return a_rather_long_input_name_to_force_wrapping


if __name__ == "__main__":
    flow.main()
