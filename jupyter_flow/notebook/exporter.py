"""``jupyter nbconvert --to flow NOTEBOOK``, and JupyterLab's "Save and Export Notebook As".

Found through the ``nbconvert.exporters`` entry point. The file is named like the CLI's:
``<notebook stem>_flow.py``.
"""

from __future__ import annotations

from typing import Any

from nbconvert.exporters import Exporter
from traitlets import Unicode


class FlowExporter(Exporter):
    """Export the notebook's ``%%step`` cells as a jupyter_flow flow module."""

    export_from_notebook = "Flow"
    output_mimetype = "text/x-python"
    flow_name = Unicode(
        "", help="Flow class name (default: CamelCase of the notebook name + Flow)"
    ).tag(config=True)

    def _file_extension_default(self) -> str:
        return ".py"

    def from_notebook_node(  # type: ignore[override]  # nbconvert's text exporters return str
        self, nb: Any, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[str, dict[str, Any]]:
        from pathlib import Path

        from .api import export_checked, module_path_for

        nb_copy, resources = super().from_notebook_node(nb, resources, **kw)
        meta = resources.get("metadata") or {}
        name = meta.get("name") or "notebook"
        folder = meta.get("path") or ""  # where the notebook is: its sidecar is there
        notebook_path = str(Path(folder) / f"{name}.ipynb")
        module_path = module_path_for(f"{name}.ipynb")
        _, source, notes = export_checked(
            nb_copy,
            notebook_path=notebook_path,
            module_path=module_path,
            flow_name=self.flow_name or None,
        )
        for note in notes:
            self.log.warning("%s", note)
        resources["output_extension"] = module_path[len(name) :]
        return source, resources
