"""A small, bounded look at one artifact, for the Lab's run page.

``preview(value)`` is pure: a table for DataFrames and Series (the first rows), an image
for figures, PIL images and PNG bytes, the shape and first values for arrays, a repr
otherwise, each cut to a size a browser shows at once. The server runs ``main`` in a child
process (``python -m jupyter_flow.preview ROOT PATHSPEC STEP INDEX NAME``), so
unpickling a user's value never happens in, nor grows, the Jupyter server, and a value that
needs the project's modules finds them from the notebook's folder.
"""

from __future__ import annotations

import base64
import io
import json
import reprlib
import sys
from collections.abc import Sequence
from typing import Any

ROWS, COLUMNS, CELL, TEXT = 10, 20, 80, 4000
IMAGE_BYTES = 1 << 20
PNG = b"\x89PNG\r\n\x1a\n"


def _cell(value: Any) -> str:
    text = str(value)
    return text if len(text) <= CELL else text[: CELL - 1] + "…"


def _table(frame: Any) -> dict[str, Any]:
    """The first rows and columns of a DataFrame (a Series is a one-column frame)."""
    if type(frame).__name__ == "Series":
        frame = frame.to_frame()
    rows, cols = frame.shape
    head = frame.iloc[:ROWS, :COLUMNS]
    return {
        "kind": "table",
        "shape": [rows, cols],
        "columns": [_cell(c) for c in head.columns],
        "dtypes": [str(t) for t in head.dtypes],
        "index": [_cell(i) for i in head.index],
        "rows": [[_cell(v) for v in row] for row in head.itertuples(index=False, name=None)],
        "truncated": rows > ROWS or cols > COLUMNS,
    }


def _png(data: bytes) -> dict[str, Any]:
    if len(data) > IMAGE_BYTES:
        return _text(f"an image of {len(data) / 1e6:.1f} MB (too big to preview)")
    return {"kind": "image", "png": base64.b64encode(data).decode()}


def _figure_png(value: Any) -> bytes:
    buffer = io.BytesIO()
    value.savefig(buffer, format="png", dpi=72, bbox_inches="tight")
    return buffer.getvalue()


def _pil_png(value: Any) -> bytes:
    image = value.copy()
    image.thumbnail((640, 640))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _text(text: str, shortened: bool = False) -> dict[str, Any]:
    cut = len(text) > TEXT
    body = text[:TEXT] + ("\n…" if cut else "")
    return {"kind": "text", "text": body, "truncated": cut or shortened}


def preview(value: Any) -> dict[str, Any]:
    """What the run page shows for ``value`` (JSON-ready, bounded in size)."""
    kind = type(value)
    module, name = kind.__module__.split(".")[0], kind.__name__
    if module == "pandas" and name in ("DataFrame", "Series"):
        return _table(value)
    if module == "matplotlib" and hasattr(value, "savefig"):
        return _png(_figure_png(value))
    if module == "PIL" and hasattr(value, "thumbnail"):
        return _png(_pil_png(value))
    if isinstance(value, bytes | bytearray) and bytes(value[:8]) == PNG:
        return _png(bytes(value))
    if module == "numpy" and name == "ndarray":
        import numpy as np

        shown = np.array2string(value, threshold=200, edgeitems=5, max_line_width=100)
        return {**_text(shown), "shape": list(value.shape), "dtype": str(value.dtype)}
    if isinstance(value, int | float | bool | complex):
        return _text(repr(value))
    short = reprlib.Repr()
    short.maxstring, short.maxother, short.maxlist, short.maxdict = 2000, 2000, 50, 50
    short.maxlevel = 4
    try:
        shortened = len(value) > (2000 if isinstance(value, str | bytes) else 50)
    except TypeError:  # no len(): reprlib still bounds it
        shortened = False
    return _text(short.repr(value), shortened)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the preview of one artifact as JSON; an error as ``{"kind": "error"}``."""
    root, pathspec, step, index, name = list(sys.argv[1:] if argv is None else argv)
    from .client import Run
    from .errors import FlowError

    try:
        tasks = {t.index: t for t in Run(pathspec, root=root)[step].tasks}
        if int(index) not in tasks:
            raise LookupError(f"{pathspec} has no task {step}/{index}")
        answer = preview(tasks[int(index)].data[name])
    except (FlowError, LookupError, AttributeError) as err:
        text = err.format() if isinstance(err, FlowError) else str(err)
        answer = {"kind": "error", "message": text}
    except Exception as err:  # unpickling a user's value can raise anything
        answer = {"kind": "error", "message": f"cannot load {name}: {type(err).__name__}: {err}"}
    try:
        out = json.dumps(answer)
    except (TypeError, ValueError) as err:
        out = json.dumps({"kind": "error", "message": f"cannot show {name}: {err}"})
    sys.stdout.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
