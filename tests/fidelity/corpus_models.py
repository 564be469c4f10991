"""Classes 5-7 of the issue (user objects, run-time failures, figures and displays) and the
notebook features around them: papermill parameters, %%params, foreach sweeps and joins,
helpers, mid-notebook imports, %matplotlib inline, !pip lines; scikit-learn style."""

from __future__ import annotations

from .nbspec import LOAD, NotebookSpec, code, md

UNFITTED_FOREST = NotebookSpec(
    name="unfitted_forest_output",
    classes=("5",),
    expect="REPRODUCED",
    compare=("model", "accuracy", "importances"),
    cells=(
        md("# Random forest baseline\nThe model is configured in one step and fitted in the next."),
        LOAD,
        code(
            """
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
"""
        ),
        code(
            """
%%step configure
X, y = make_classification(n_samples=200, n_features=5, random_state=1)
model = RandomForestClassifier(n_estimators=8, max_depth=3, random_state=0)
"""
        ),
        code(
            """
%%step train
model.fit(X, y)
accuracy = model.score(X, y)
importances = model.feature_importances_.round(8)
"""
        ),
    ),
)

FRAGILE_OBJECT = NotebookSpec(
    name="fragile_user_object",
    classes=("5",),
    expect="REPRODUCED",
    compare=("client", "rows"),
    cells=(
        md("# A lazy database client\nIts len() and repr() need a connection it does not have."),
        LOAD,
        code(
            """
class LazyTable:
    def __init__(self, name, rows):
        self.name = name
        self.rows = rows

    def __len__(self):
        raise AttributeError("rows are not loaded yet")

    def __repr__(self):
        raise RuntimeError("repr needs a connection")
"""
        ),
        code(
            """
%%step connect
client = LazyTable("orders", [1, 2, 3])
"""
        ),
        code(
            """
%%step use
rows = sum(client.rows)
"""
        ),
    ),
)

RUNTIME_FAILURE = NotebookSpec(
    name="runtime_failure_located",
    classes=("6",),
    expect="REFUSED",
    compare=("orders",),
    cells=(
        md("# Data validation\nThe checks stop the pipeline when the data is wrong."),
        LOAD,
        code("import pandas as pd"),
        code(
            """
%%step load
orders = pd.DataFrame({"order": [1, 2, 3], "amount": [10.0, -5.0, 7.5]})
"""
        ),
        code(
            """
%%step validate
negative = orders[orders["amount"] < 0]
if len(negative):
    raise ValueError(f"{len(negative)} orders have a negative amount")  # fails here
checked = True
"""
        ),
    ),
)

FIGURES_AND_HEAD = NotebookSpec(
    name="figures_and_head",
    classes=("7", "inline"),
    expect="REPRODUCED",
    compare=("df", "counts", "edges"),
    cells=(
        md("# Distribution of session lengths\nA histogram and a look at the table."),
        LOAD,
        code(
            """
%matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
"""
        ),
        code(
            """
%%step load
rng = np.random.default_rng(8)
df = pd.DataFrame({"minutes": rng.exponential(12.0, 200).round(2)})
df.head()
"""
        ),
        code(
            """
%%step plot
fig, ax = plt.subplots(figsize=(4, 3))
counts, edges, _bars = ax.hist(df["minutes"], bins=10)
ax.set_title("session length")
df.describe()
"""
        ),
    ),
)

PAPERMILL_PARAMETERS = NotebookSpec(
    name="papermill_parameters",
    classes=("params",),
    expect="REPRODUCED",
    compare=("sample_mean", "n_rows", "quantiles"),
    cells=(
        md("# A parameterised report (papermill style)"),
        LOAD,
        code("import numpy as np\nimport pandas as pd"),
        code("n_rows = 150\nseed = 21\nquantile_levels = [0.1, 0.5, 0.9]", "parameters"),
        code(
            """
%%step sample
rng = np.random.default_rng(seed)
values = pd.Series(rng.lognormal(1.0, 0.4, n_rows))
sample_mean = float(values.mean())
quantiles = values.quantile(quantile_levels).round(10)
"""
        ),
    ),
)

RIDGE_SWEEP = NotebookSpec(
    name="ridge_sweep_join",
    classes=("params", "foreach"),
    expect="REPRODUCED",
    compare=("scores", "best_alpha", "coefs"),
    cells=(
        md("# Ridge regularisation sweep\nOne task per alpha, joined to pick the best."),
        LOAD,
        code(
            """
import numpy as np
from sklearn.datasets import make_regression
from sklearn.linear_model import Ridge
from sklearn.model_selection import cross_val_score
"""
        ),
        code("%%params\nalphas = [0.01, 1.0, 100.0]\nn_samples = 120"),
        code(
            """
%%step data
X, y = make_regression(n_samples=n_samples, n_features=8, noise=5.0, random_state=4)
"""
        ),
        code(
            """
%%step sweep --foreach alpha in alphas
scores = float(cross_val_score(Ridge(alpha=alpha), X, y, cv=3).mean())
coefs = Ridge(alpha=alpha).fit(X, y).coef_
"""
        ),
        code(
            """
%%step pick
best_alpha = alphas[int(np.argmax(scores))]
"""
        ),
    ),
)

FOLDS_FOREACH_FRAMES = NotebookSpec(
    name="folds_foreach_frames",
    classes=("foreach", "helpers"),
    expect="REPRODUCED",
    compare=("report", "folds"),
    cells=(
        md("# K-fold evaluation by hand\nFolds computed in a step, one task per fold."),
        LOAD,
        code(
            """
import numpy as np
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.model_selection import KFold
from sklearn.tree import DecisionTreeClassifier
"""
        ),
        code(
            """
def fold_metrics(model, X, y, train_idx, test_idx, fold):
    model.fit(X[train_idx], y[train_idx])
    return pd.DataFrame(
        {"fold": [fold], "train": [model.score(X[train_idx], y[train_idx])],
         "test": [model.score(X[test_idx], y[test_idx])]}
    )
"""
        ),
        code(
            """
%%step split
X, y = make_classification(n_samples=150, n_features=4, random_state=2)
folds = [(i, tr, te) for i, (tr, te) in enumerate(KFold(3, shuffle=True, random_state=0).split(X))]
"""
        ),
        code(
            """
%%step evaluate --foreach fold in folds
tree = DecisionTreeClassifier(max_depth=3, random_state=0)
metrics = fold_metrics(tree, X, y, fold[1], fold[2], fold[0])
"""
        ),
        code(
            """
%%step join
report = pd.concat(metrics, ignore_index=True)
"""
        ),
    ),
)

PIPELINE_CV = NotebookSpec(
    name="sklearn_pipeline_cv",
    classes=("plain", "imports"),
    expect="REPRODUCED",
    compare=("cv_scores", "best_params", "test_score"),
    cells=(
        md("# Fit and validate a pipeline\nScaling, logistic regression, a small grid search."),
        LOAD,
        code("import numpy as np"),
        code(
            """
%%step data
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

X, y = make_classification(n_samples=240, n_features=6, n_informative=4, random_state=3)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
"""
        ),
        md("Later imports, as notebooks grow."),
        code(
            """
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
"""
        ),
        code(
            """
%%step validate
pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
cv = StratifiedKFold(4, shuffle=True, random_state=1)
cv_scores = cross_val_score(pipe, X_train, y_train, cv=cv)
"""
        ),
        code(
            """
%%step tune
grid = GridSearchCV(pipe, {"logisticregression__C": [0.1, 1.0, 10.0]}, cv=cv)
grid.fit(X_train, y_train)
best_params = grid.best_params_
test_score = grid.score(X_test, y_test)
"""
        ),
    ),
)

PIP_AND_HELPERS = NotebookSpec(
    name="pip_lines_and_helpers",
    classes=("pip", "helpers", "imports"),
    expect="REPRODUCED",
    compare=("normalized", "total", "root"),
    cells=(
        md("# Course notebook: setup cell and helpers"),
        LOAD,
        code("!pip install -q numpy"),
        code(
            """
import numpy as np

SCALE = 10


def normalize(v):
    return (v - v.min()) / (v.max() - v.min())
"""
        ),
        code(
            """
%%step compute
!pip install -q numpy
import math

values = np.array([3.0, 7.0, 1.0, 9.0]) * SCALE
normalized = normalize(values)
"""
        ),
        code(
            """
%%step finish
total = float(normalized.sum())
root = math.sqrt(total)
"""
        ),
    ),
)

PACKAGES_AUTO = NotebookSpec(
    name="packages_auto_pins",
    classes=("3", "pip"),
    expect="REPRODUCED",
    compare=("coef", "intercept"),
    cells=(
        md("# Ready for a cluster\nThe step pins the kernel's package versions for remote runs."),
        LOAD,
        code("import numpy as np\nfrom sklearn.linear_model import LinearRegression"),
        code(
            """
%%step fit --packages auto
X = np.arange(20.0).reshape(10, 2)
y = X @ np.array([1.5, -2.0]) + 3.0
reg = LinearRegression().fit(X, y)
coef = reg.coef_.round(10)
intercept = round(float(reg.intercept_), 10)
"""
        ),
    ),
)

SPECS = (
    PACKAGES_AUTO,
    UNFITTED_FOREST,
    FRAGILE_OBJECT,
    RUNTIME_FAILURE,
    FIGURES_AND_HEAD,
    PAPERMILL_PARAMETERS,
    RIDGE_SWEEP,
    FOLDS_FOREACH_FRAMES,
    PIPELINE_CV,
    PIP_AND_HELPERS,
)
