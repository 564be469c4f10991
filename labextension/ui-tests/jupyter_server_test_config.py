"""JupyterLab for the UI tests: Galata's test setup, bound to 127.0.0.1 on the port and
root folder ``ci.sh test`` chose, with the freshly built jupyter-flow labextension and the
jupyter_flow server extension enabled."""

import os
from pathlib import Path

import jupyterlab
from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821

c.ServerApp.ip = "127.0.0.1"  # noqa: F821
c.ServerApp.port = int(os.environ["JUPYTER_FLOW_UI_PORT"])  # noqa: F821
c.ServerApp.root_dir = os.environ["JUPYTER_FLOW_UI_ROOT"]  # noqa: F821
c.ServerApp.jpserver_extensions = {"jupyter_flow": True}  # noqa: F821
c.LabServerApp.extra_labextensions_path = [  # noqa: F821
    str(Path(jupyterlab.__file__).parent / "galata"),
    os.environ["JUPYTER_FLOW_UI_LABEXTENSIONS"],
]
c.ServerApp.allow_root = True  # noqa: F821  (CI containers run as root)
