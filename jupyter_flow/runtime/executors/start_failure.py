"""How executors say that a container stopped before the task could record anything."""

from __future__ import annotations

from ..launcher import EXIT_MISSING

__all__ = ["EXIT_MISSING", "MISSING_WORDS"]

# the launcher exits EXIT_MISSING when pip could not install what the image lacks; the
# store was out of reach (no boto3), so this is all the executor can tell the user
MISSING_WORDS = (
    "the image lacks a package the task needs (boto3 for an S3 store) and the container "
    "could not pip-install it (no PyPI access?); its log names the package and the command. "
    "Use an image with `pip install 'jupyter-flow[aws]'`, or give the cluster PyPI access"
)
