"""Flow exported from display.ipynb by jupyter_flow.

Edit the notebook and export it again rather than editing this file.
Run it with: python display_flow.py run
"""

import pandas as pd
import matplotlib.pyplot as plt
from IPython.display import display

from jupyter_flow import Flow


flow = Flow("DisplayFlow")


# cell 2 (id: c2)
@flow.step(outputs=("df",))
def load():
    df = pd.DataFrame({"a": [1, 2]})
    display(df.head())
    return df


# cell 3 (id: c3)
@flow.step()
def chart(df):
    fig, ax = plt.subplots()
    ax.plot(df.a)
    plt.show()


# cell 4 (id: c4)
@flow.step(outputs=("n",))
def quiet(df):
    n = len(df)
    return n


# cell 5 (id: c5)
@flow.step(outputs=("m",))
def summary(df):
    m = df.a.max()
    display((df
      .describe()))
    return m


if __name__ == "__main__":
    flow.main()
