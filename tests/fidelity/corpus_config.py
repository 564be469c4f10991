"""Class 1 of the issue: state set outside steps (seeds, options, environment, sys.path)."""

from __future__ import annotations

from .nbspec import LOAD, NotebookSpec, code, md

SEED_NUMPY_ONE_STEP = NotebookSpec(
    name="seed_numpy_one_step",
    classes=("1",),
    expect="REPRODUCED",
    compare=("sample", "summary"),
    cells=(
        md("# Simulating daily demand\nA fixed seed so the numbers in the text match."),
        LOAD,
        code("import numpy as np\nimport pandas as pd"),
        code("np.random.seed(0)"),
        code(
            """
%%step simulate
sample = np.random.normal(loc=100.0, scale=15.0, size=50)
summary = pd.Series(sample).describe()
"""
        ),
        code("summary"),
    ),
)

SEED_RANDOM_TWO_STEPS = NotebookSpec(
    name="seed_random_two_steps",
    classes=("1",),
    compare=("deck", "hand", "noise"),
    cells=(
        md("# Card games with the standard library\nTwo steps draw from one seeded generator."),
        LOAD,
        code("import random\nimport numpy as np"),
        code("random.seed(42)\nnp.random.seed(7)"),
        code(
            """
%%step shuffle
deck = [f"{rank}{suit}" for suit in "SHDC" for rank in range(1, 14)]
random.shuffle(deck)
noise = np.random.rand(3)
"""
        ),
        code(
            """
%%step deal
hand = sorted(random.sample(deck, 5))
noise = noise + np.random.rand(3)
"""
        ),
        code("print(hand, noise)"),
    ),
)

SEED_THEN_EXPLORATION_DRAW = NotebookSpec(
    name="seed_then_exploration_draw",
    classes=("1",),
    compare=("bootstrap_mean",),
    cells=(
        md("# Bootstrap estimate\nA quick look at a random sample before the real step."),
        LOAD,
        code("import numpy as np"),
        code("np.random.seed(10)"),
        code("np.random.choice(10, 3)  # peek at a sample"),
        code(
            """
%%step bootstrap
data = np.array([2.0, 4.0, 4.0, 5.0, 7.0, 9.0])
means = [np.random.choice(data, data.size).mean() for _ in range(20)]
bootstrap_mean = float(np.mean(means))
"""
        ),
    ),
)

SPLIT_WITHOUT_RANDOM_STATE = NotebookSpec(
    name="split_without_random_state",
    classes=("1",),
    compare=("accuracy", "test_index"),
    cells=(
        md("# Train/test split\nThe split draws from NumPy's global generator (no random_state)."),
        LOAD,
        code(
            """
import numpy as np
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
"""
        ),
        code("np.random.seed(3)"),
        code(
            """
%%step data
X, y = make_classification(n_samples=300, n_features=6, random_state=0)
"""
        ),
        code(
            """
%%step fit
X_train, X_test, y_train, y_test, idx_train, idx_test = train_test_split(
    X, y, np.arange(len(y)), test_size=0.25
)
model = LogisticRegression(max_iter=500).fit(X_train, y_train)
accuracy = model.score(X_test, y_test)
test_index = idx_test
"""
        ),
        code("accuracy"),
    ),
)

PANDAS_DISPLAY_OPTIONS = NotebookSpec(
    name="pandas_display_options",
    classes=("1",),
    compare=("report", "table_text"),
    cells=(
        md("# A sales report as text\nThe options change the text the report contains."),
        LOAD,
        code("import pandas as pd"),
        code('pd.set_option("display.precision", 2)\npd.set_option("display.max_columns", 3)'),
        code(
            """
%%step build
sales = pd.DataFrame(
    {
        "region": ["north", "south", "east", "west"],
        "revenue": [1234.5678, 987.6543, 1500.125, 820.3333],
        "cost": [800.111, 650.987, 990.5, 600.25],
        "units": [12, 9, 15, 8],
        "returns": [1, 0, 2, 1],
    }
)
sales["margin"] = sales["revenue"] / sales["cost"]
table_text = sales.to_string()
"""
        ),
        code(
            """
%%step write_report
report = f"Quarterly report\\n{sales.describe()}"
"""
        ),
        code("print(report)"),
    ),
)

PANDAS_OPTIONS_ATTRIBUTE = NotebookSpec(
    name="pandas_options_attribute",
    classes=("1",),
    compare=("text",),
    cells=(
        md("# Display settings the tutorial way\n`pd.options...` attributes, not set_option."),
        LOAD,
        code("import pandas as pd"),
        code("pd.options.display.precision = 1\npd.options.display.max_rows = 4"),
        code(
            """
%%step render
frame = pd.DataFrame({"v": [1.23456, 2.34567, 3.45678, 4.56789, 5.67891, 6.78912]})
text = repr(frame)
"""
        ),
    ),
)

PANDAS_FLOAT_FORMAT = NotebookSpec(
    name="pandas_float_format",
    classes=("1",),
    compare=("label",),
    cells=(
        md("# Formatting a KPI table\nA float_format option used when the table becomes text."),
        LOAD,
        code("import pandas as pd"),
        code('pd.set_option("display.float_format", "{:,.1f}".format)'),
        code(
            """
%%step kpis
kpi = pd.DataFrame({"metric": ["ctr", "cpc"], "value": [0.034567, 1.98765]})
label = kpi.to_string(index=False)
"""
        ),
    ),
)

WARNINGS_AS_ERRORS = NotebookSpec(
    name="warnings_as_errors",
    classes=("1",),
    compare=("status", "clean"),
    cells=(
        md("# Strict numerics\nWarnings are errors here, so bad values are caught."),
        LOAD,
        code("import warnings\nimport numpy as np"),
        code('warnings.filterwarnings("error", category=RuntimeWarning)'),
        code(
            """
%%step transform
values = np.array([4.0, 1.0, 0.0, 9.0])
try:
    logs = np.log(values)
    status = "computed"
except RuntimeWarning:
    logs = np.log(values[values > 0])
    status = "filtered"
clean = logs.round(6)
"""
        ),
    ),
)

MATPLOTLIB_STYLE = NotebookSpec(
    name="matplotlib_style",
    classes=("1", "7", "inline"),
    compare=("line_width", "line_color", "font_size"),
    cells=(
        md("# Plot styling\nA style sheet and rcParams set once at the top."),
        LOAD,
        code("%matplotlib inline\nimport matplotlib.pyplot as plt\nimport numpy as np"),
        code('plt.style.use("ggplot")\nplt.rcParams["lines.linewidth"] = 3.5'),
        code(
            """
%%step chart
x = np.linspace(0, 2 * np.pi, 30)
fig, ax = plt.subplots()
(line,) = ax.plot(x, np.sin(x))
line_width = float(line.get_linewidth())
line_color = str(line.get_color())
font_size = float(plt.rcParams["font.size"])
"""
        ),
    ),
)

ENVIRONMENT_VARIABLE = NotebookSpec(
    name="environment_variable",
    classes=("1",),
    compare=("scaled", "mode"),
    cells=(
        md("# Configuration through the environment\nThe pipeline reads its settings from env."),
        LOAD,
        code("import os\nimport numpy as np"),
        code('os.environ["PIPELINE_SCALE"] = "2.5"\nos.environ["PIPELINE_MODE"] = "strict"'),
        code(
            """
%%step scale
scale = float(os.environ.get("PIPELINE_SCALE", "1.0"))
mode = os.environ.get("PIPELINE_MODE", "lenient")
scaled = np.arange(5) * scale
"""
        ),
    ),
)

SYS_PATH_SHADOW = NotebookSpec(
    name="sys_path_shadow",
    classes=("1", "imports"),
    compare=("factor", "adjusted"),
    files={
        "tuning.py": "FACTOR = 1.0\n",
        "lib/tuning.py": "FACTOR = 4.0\n",
    },
    cells=(
        md("# Project code from lib/\nThe project's own module is found through sys.path."),
        LOAD,
        code('import sys\nsys.path.insert(0, "lib")'),
        code(
            """
%%step adjust
import tuning

factor = tuning.FACTOR
adjusted = [v * factor for v in (1.0, 2.0, 3.0)]
"""
        ),
    ),
)

SETTING_INSIDE_STEP = NotebookSpec(
    name="setting_inside_step",
    classes=("1",),
    expect="REFUSED",
    compare=("mode", "rows"),
    cells=(
        md("# A step configures the run\nThe load step picks a mode the report step reads."),
        LOAD,
        code("import os"),
        code(
            """
%%step load
os.environ["REPORT_MODE"] = "full"
rows = list(range(4))
"""
        ),
        code(
            """
%%step report
mode = os.environ.get("REPORT_MODE", "summary")
"""
        ),
    ),
)

SETTING_BETWEEN_STEPS = NotebookSpec(
    name="setting_between_steps",
    classes=("1",),
    expect="REFUSED",
    compare=("before", "after"),
    cells=(
        md("# Precision set halfway\nThe first table is printed before the option is set."),
        LOAD,
        code("import pandas as pd"),
        code(
            """
%%step before
before = pd.DataFrame({"v": [1.23456]}).to_string()
"""
        ),
        code('pd.set_option("display.precision", 2)'),
        code(
            """
%%step after
after = pd.DataFrame({"v": [1.23456]}).to_string()
"""
        ),
    ),
)

SPECS = (
    SEED_NUMPY_ONE_STEP,
    SEED_RANDOM_TWO_STEPS,
    SEED_THEN_EXPLORATION_DRAW,
    SPLIT_WITHOUT_RANDOM_STATE,
    PANDAS_DISPLAY_OPTIONS,
    PANDAS_OPTIONS_ATTRIBUTE,
    PANDAS_FLOAT_FORMAT,
    WARNINGS_AS_ERRORS,
    MATPLOTLIB_STYLE,
    ENVIRONMENT_VARIABLE,
    SYS_PATH_SHADOW,
    SETTING_INSIDE_STEP,
    SETTING_BETWEEN_STEPS,
)
