"""Classes 2-4 of the issue (aliasing, helpers that mutate, definitions in steps), in the
style of pandas feature-engineering and EDA tutorials; plus a plain notebook."""

from __future__ import annotations

from .nbspec import LOAD, NotebookSpec, code, md

PASSENGERS = """
%%step load
rng = np.random.default_rng(1912)
n = 40
train_df = pd.DataFrame(
    {
        "Name": [f"{t} Person{i}" for i, t in enumerate(rng.choice(["Mr.", "Mrs.", "Miss."], n))],
        "Age": rng.integers(1, 70, n).astype(float),
        "Fare": rng.gamma(2.0, 15.0, n).round(2),
        "Survived": rng.integers(0, 2, n),
    }
)
test_df = train_df.drop(columns="Survived").iloc[:15].copy()
"""

ALIAS_LOOP_COMBINE = NotebookSpec(
    name="alias_loop_combine",
    classes=("2",),
    expect="REPRODUCED",
    compare=("train_df", "test_df", "title_counts"),
    cells=(
        md("# Titanic-style feature engineering\nBoth frames get the same features in a loop."),
        LOAD,
        code("import numpy as np\nimport pandas as pd"),
        code(PASSENGERS),
        code(
            """
%%step features
combine = [train_df, test_df]
for dataset in combine:
    dataset["Title"] = dataset["Name"].str.split(" ").str[0]
    dataset["AgeBand"] = pd.cut(dataset["Age"], 4, labels=False)
"""
        ),
        code(
            """
%%step counts
title_counts = train_df.groupby("Title")["Survived"].mean().round(4)
"""
        ),
        code("test_df.head()"),
    ),
)

ALIAS_ASSIGN_SUBSCRIPT = NotebookSpec(
    name="alias_assign_subscript",
    classes=("2",),
    expect="REPRODUCED",
    compare=("prices", "config", "tables", "total"),
    cells=(
        md("# Writes through aliases\n`b = a`, a dict entry and an attribute of an alias."),
        LOAD,
        code("import types\nimport pandas as pd"),
        code(
            """
%%step setup
prices = pd.DataFrame({"item": ["a", "b", "c"], "price": [10.0, 20.0, 30.0]})
config = types.SimpleNamespace(discount=0.0, currency="EUR")
tables = {"train": {"rows": 0}, "test": {"rows": 0}}
"""
        ),
        code(
            """
%%step adjust
view = prices
view["discounted"] = view["price"] * 0.9
settings = config
settings.discount = 0.1
train_table = tables["train"]
train_table["rows"] = len(prices)
"""
        ),
        code(
            """
%%step summarize
total = float(prices["discounted"].sum()) * (1 - config.discount) + tables["train"]["rows"]
"""
        ),
    ),
)

ALIAS_DICT_ITEMS = NotebookSpec(
    name="alias_dict_items",
    classes=("2",),
    expect="REPRODUCED",
    compare=("frames", "train", "valid", "sizes"),
    cells=(
        md("# Preparing splits kept in a dict\nThe loop writes through the dict's values."),
        LOAD,
        code("import pandas as pd"),
        code(
            """
%%step split
full = pd.DataFrame({"x": range(10), "y": [v % 3 for v in range(10)]})
train = full.iloc[:7].copy()
valid = full.iloc[7:].copy()
frames = {"train": train, "valid": valid}
"""
        ),
        code(
            """
%%step scale
for split_name, frame in frames.items():
    frame["x_scaled"] = frame["x"] / 10
    frame.attrs["split"] = split_name
for part in (train, valid):
    part["y_flag"] = part["y"] == 0
"""
        ),
        code(
            """
%%step summarize
sizes = {name: frame.shape for name, frame in frames.items()}
"""
        ),
    ),
)

ALIAS_IDENTITY = NotebookSpec(
    name="alias_identity",
    classes=("2",),
    expect="REPRODUCED",
    compare=("same_object", "first_columns", "data"),
    cells=(
        md("# Shared objects across steps\n`data[0] is train_df`: a later change shows in both."),
        LOAD,
        code("import numpy as np\nimport pandas as pd"),
        code(PASSENGERS),
        code(
            """
%%step bundle
data = [train_df, test_df]
"""
        ),
        code(
            """
%%step enrich
train_df["FareBand"] = pd.qcut(train_df["Fare"], 3, labels=False)
"""
        ),
        code(
            """
%%step inspect
same_object = data[0] is train_df
first_columns = list(data[0].columns)
"""
        ),
    ),
)

HELPER_MUTATES = NotebookSpec(
    name="helper_mutates_argument",
    classes=("3", "helpers"),
    compare=("df", "score"),
    cells=(
        md("# A helper that adds features\n`add_features(df)` changes `df` inside the function."),
        LOAD,
        code("import numpy as np\nimport pandas as pd"),
        code(
            """
def add_features(df):
    df["z"] = df["x"] * df["y"]
    df["ratio"] = df["x"] / (df["y"] + 1)
"""
        ),
        code(
            """
%%step load
rng = np.random.default_rng(5)
df = pd.DataFrame({"x": rng.normal(size=20).round(3), "y": rng.integers(0, 5, 20)})
"""
        ),
        code(
            """
%%step prep
add_features(df)
n_rows = len(df)
"""
        ),
        code(
            """
%%step score_it
score = float(df["z"].sum() + df["ratio"].mean())
"""
        ),
    ),
)

HELPER_MUTATES_GLOBAL = NotebookSpec(
    name="helper_mutates_global",
    classes=("3", "helpers"),
    compare=("history", "n_metrics"),
    cells=(
        md("# Logging metrics from a helper\nThe helper appends to a list a step created."),
        LOAD,
        code(
            """
def record(metric, value):
    history.append((metric, round(value, 6)))
"""
        ),
        code(
            """
%%step init
history = []
"""
        ),
        code(
            """
%%step train
for epoch in range(3):
    record("loss", 1.0 / (epoch + 1))
"""
        ),
        code(
            """
%%step report
n_metrics = len(history)
"""
        ),
    ),
)

DEF_IN_STEP_PURE = NotebookSpec(
    name="def_in_step_pure",
    classes=("4",),
    expect="REPRODUCED",
    compare=("cleaned", "encoded", "encoder_state"),
    cells=(
        md("# Cleaning text columns\nHelpers written where they were first needed."),
        LOAD,
        code("import pandas as pd"),
        code(
            """
%%step clean
def normalize(text):
    return " ".join(text.strip().lower().split())


class Encoder:
    def __init__(self):
        self.codes = {}

    def fit(self, values):
        for v in values:
            self.codes.setdefault(v, len(self.codes))
        return self

    def transform(self, values):
        return [self.codes[v] for v in values]


raw = pd.Series(["  New York", "boston ", "New  York", "Chicago", "BOSTON"])
cleaned = raw.map(normalize)
"""
        ),
        code(
            """
%%step encode
encoder = Encoder().fit(cleaned)
encoded = encoder.transform([normalize(" chicago "), normalize("Boston")])
encoder_state = dict(encoder.codes)
"""
        ),
    ),
)

DEF_IN_STEP_CLOSURE = NotebookSpec(
    name="def_in_step_closure",
    classes=("4",),
    expect="REFUSED",
    compare=("flags",),
    cells=(
        md("# Flag outliers\nThe rule closes over a value the step computed."),
        LOAD,
        code("import numpy as np"),
        code(
            """
%%step stats
values = np.array([1.0, 2.0, 2.5, 3.0, 12.0])
threshold = values.mean() + values.std()


def is_outlier(v):
    return v > threshold
"""
        ),
        code(
            """
%%step flag
flags = [bool(is_outlier(v)) for v in values]
"""
        ),
    ),
)

FEATURE_ENGINEERING = NotebookSpec(
    name="feature_engineering",
    classes=("plain", "imports"),
    expect="REPRODUCED",
    compare=("features", "by_store"),
    cells=(
        md("# Retail feature engineering\nDates, group statistics, one-hot columns, a merge."),
        LOAD,
        code("import numpy as np\nimport pandas as pd"),
        code(
            """
%%step orders
rng = np.random.default_rng(11)
orders = pd.DataFrame(
    {
        "date": pd.date_range("2024-01-01", periods=60, freq="D"),
        "store": rng.choice(["A", "B", "C"], 60),
        "amount": rng.gamma(3.0, 20.0, 60).round(2),
    }
)
stores = pd.DataFrame({"store": ["A", "B", "C"], "size": ["small", "large", "medium"]})
"""
        ),
        md("Calendar features and rolling statistics."),
        code(
            """
%%step features_step
features = orders.assign(
    weekday=orders["date"].dt.dayofweek,
    month=orders["date"].dt.month,
    store_mean=orders.groupby("store")["amount"].transform("mean").round(4),
)
features = features.merge(stores, on="store", how="left")
features = pd.get_dummies(features, columns=["size"], dtype=int)
"""
        ),
        code("from collections import Counter"),
        code(
            """
%%step by_store_step
by_store = dict(Counter(features["store"]))
"""
        ),
    ),
)

PLAIN_EDA = NotebookSpec(
    name="plain_eda",
    classes=("plain",),
    expect="REPRODUCED",
    compare=("stats", "corr", "top"),
    cells=(
        md("# Exploratory analysis of a synthetic housing table"),
        LOAD,
        code("import numpy as np\nimport pandas as pd"),
        code(
            """
%%step load
rng = np.random.default_rng(2024)
houses = pd.DataFrame(
    {
        "rooms": rng.integers(1, 7, 120),
        "area": rng.normal(90, 25, 120).round(1),
        "age": rng.integers(0, 80, 120),
    }
)
houses["price"] = (houses["area"] * 3000 + houses["rooms"] * 5000 - houses["age"] * 400).round(0)
"""
        ),
        code("houses.head()"),
        code(
            """
%%step explore
stats = houses.describe().round(3)
corr = houses.corr().round(6)
top = houses.nlargest(5, "price").reset_index(drop=True)
"""
        ),
        code("stats"),
    ),
)

SPECS = (
    ALIAS_LOOP_COMBINE,
    ALIAS_ASSIGN_SUBSCRIPT,
    ALIAS_DICT_ITEMS,
    ALIAS_IDENTITY,
    HELPER_MUTATES,
    HELPER_MUTATES_GLOBAL,
    DEF_IN_STEP_PURE,
    DEF_IN_STEP_CLOSURE,
    FEATURE_ENGINEERING,
    PLAIN_EDA,
)
