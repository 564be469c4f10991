"""``/jupyter-flow/export`` and ``/jupyter-flow/graph``: the notebook half over HTTP."""

from __future__ import annotations

from typing import Any

from . import services
from .base import FlowHandler, endpoint, in_thread
from .errors import BadRequest


class ExportHandler(FlowHandler):
    """POST {path}: write the flow module beside the notebook; answer its path, source,
    the step table, problems and notes (what export could not check, e.g. step cells the
    kernel never observed). A notebook that cannot be exported answers 422 with the
    located problems and writes nothing."""

    @endpoint("contents", "write")
    async def post(self) -> None:
        nb_path = self.notebook(self.body().get("path"))
        result = await in_thread(services.export_notebook, str(nb_path))
        nb = await in_thread(services.read_notebook, nb_path)
        graph = await in_thread(services.analyze, nb, str(nb_path))
        self.reply(
            {
                "path": self.relative(nb_path),
                "flow": result.flow_name,
                "module_path": self.relative(result.module_path),
                "source": result.source,
                "steps": graph.get("steps", []),
                "edges": graph.get("edges", []),
                "problems": graph.get("problems", []),
                "notes": list(getattr(result, "notes", ())),
            }
        )


class GraphHandler(FlowHandler):
    """GET ?path=: the DAG of the saved notebook. POST {path, content}: the DAG of unsaved
    content sent by the frontend (``path`` still names where it lives)."""

    @endpoint("contents", "read")
    async def get(self) -> None:
        nb_path = self.notebook(self.get_query_argument("path", None))
        nb = await in_thread(services.read_notebook, nb_path)
        self.reply(await self._graph(nb, nb_path))

    @endpoint("contents", "read")
    async def post(self) -> None:
        body = self.body()
        content = body.get("content")
        if content is None:
            nb_path = self.notebook(body.get("path"))
            content = await in_thread(services.read_notebook, nb_path)
        else:
            nb_path = self._content_path(body.get("path"))
            if not isinstance(content, dict) or not isinstance(content.get("cells"), list):
                raise BadRequest("'content' must be a notebook (a JSON object with a 'cells' list)")
            for cell in content["cells"]:  # the graph reads sources; plots cost memory
                if isinstance(cell, dict):
                    cell.pop("attachments", None)
                    if cell.get("outputs"):
                        cell["outputs"] = []
        self.reply(await self._graph(content, nb_path))

    def _content_path(self, api_path: object) -> Any:
        from . import paths

        path = paths.confine(self.root, api_path)
        if path.suffix != ".ipynb":
            raise BadRequest(f"{api_path!r} is not a notebook", hint="pass a .ipynb path")
        return path

    async def _graph(self, nb: Any, nb_path: Any) -> dict[str, Any]:
        graph: dict[str, Any] = dict(await in_thread(services.analyze, nb, str(nb_path)))
        graph["path"] = self.relative(nb_path)
        if graph.get("module_path"):
            graph["module_path"] = self.relative(graph["module_path"])
        return graph
