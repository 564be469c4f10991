"""``%%step NAME --on X`` in a real kernel ships a secret's reference, never its value: the
task reads it from its environment, the store and the cell's output never hold it, and an
input built from a secret is refused before anything is submitted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import LOAD, text_of

TOKEN = "tok-3f9a-kernel-live"
KEY = "key-77c1-tagged-cell"


def test_a_cell_run_elsewhere_ships_the_secrets_reference(
    save_notebook: Callable[[list[str]], Path],
    execute: Callable[..., Any],
    kernel_env: dict[str, str],
    tmp_path: Path,
) -> None:
    kernel_env.update(JF_CELL_TOKEN=TOKEN, JF_CELL_KEY=KEY)
    cells = [
        LOAD,
        "%%params\nfrom jupyter_flow import secret\nn = 2\ntoken = secret('JF_CELL_TOKEN')",
        "%%step use --on local\nsize = len(token) * n\nprint('using', token)",
        "print('size', size)",
        "from jupyter_flow import secret\nkey = secret('JF_CELL_KEY')",  # e.g. tagged
        "%%step use_key --on local\nk = key[::-1]",
        "print('k', k == key[::-1])",
        "headers = {'Authorization': 'Bearer ' + token}",
        "%%step call --on local\nstatus = len(headers)",
        "token = 'typed-over'",
        "%%step again --on local\nsize2 = len(token)",
    ]
    save_notebook(cells)
    nb = execute(cells, allow_errors=True)
    out = [text_of(c) for c in nb.cells]

    assert "✓ use" in out[2]
    assert f"size {len(TOKEN) * 2}" in out[3]
    assert "k True" in out[6]  # a secret() outside %%params ships as a reference too
    assert "'headers', which holds the value of a secret" in out[8]
    assert "nothing was submitted" in out[8]
    assert "declared secret('JF_CELL_TOKEN') in %%params" in out[10]
    assert "re-run the cell that reads it" in out[10]
    for text in out:
        assert TOKEN not in text and KEY not in text

    stored = b"".join(p.read_bytes() for p in (tmp_path / "store").rglob("*") if p.is_file())
    assert TOKEN.encode() not in stored and KEY.encode() not in stored
    assert b"JF_CELL_TOKEN" in stored  # the reference is what was kept
    assert b"using ********" in stored  # the step had the value; its log is masked
    assert not list((tmp_path / "store").rglob("CallCell")) or not list(
        (tmp_path / "store").rglob("CallCell/*/run.json")
    )

    from jupyter_flow.client import latest_run

    run = latest_run("UseCell", root=str(tmp_path / "store"))
    assert repr(run.params.token) == "Secret('JF_CELL_TOKEN')" and run.params.n == 2


def test_on_kubernetes_the_pod_reads_the_secret_from_the_cluster(
    root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kernel's value never travels: the pod gets the cluster's Secret (here a
    different value, to tell them apart), and a run that could not reach one is refused
    before anything is submitted."""
    import base64
    import json

    from jupyter_flow import Secret
    from jupyter_flow.errors import ParameterError
    from jupyter_flow.kernel import remote_cell
    from jupyter_flow.notebook.cells import Cell, parse_step_line
    from tests.fakes.backends import kube_settings
    from tests.fakes.k8s_api import FakeKubeAPI

    monkeypatch.setenv("JF_CELL_TOKEN", TOKEN)  # as secret() left it in the kernel
    declared = {"token": Secret("JF_CELL_TOKEN")}
    options = parse_step_line("peek --image python:3", Cell(1, None, ""))
    cell = "prefix = token.split('-')[0]"
    with FakeKubeAPI() as kube:
        unconfigured = kube_settings(kube, root)
        with pytest.raises(ParameterError) as refused:
            remote_cell.run_cell(
                options,
                cell,
                {"token": TOKEN},
                on="kubernetes",
                settings=unconfigured,
                declared=declared,
            )
        assert "[kubernetes] secrets names no Secret" in refused.value.format()
        assert not kube.cluster.jobs

        value = base64.b64encode(b"cluster-side-value").decode()
        with kube.cluster.lock:
            kube.cluster.secrets[("default", "cell-creds")] = {
                "metadata": {"name": "cell-creds"},
                "data": {"JF_CELL_TOKEN": value},
            }
        ns: dict[str, Any] = {"token": TOKEN}
        settings = kube_settings(kube, root, secrets=["cell-creds"])
        remote_cell.run_cell(
            options, cell, ns, on="kubernetes", settings=settings, declared=declared
        )
        assert ns["prefix"] == "cluster"  # read in the pod, from the cluster's Secret
        with kube.cluster.lock:
            manifests = json.dumps(list(kube.cluster.jobs.values()))
    assert TOKEN not in manifests
    stored = b"".join(p.read_bytes() for p in Path(root).rglob("*") if p.is_file())
    assert TOKEN.encode() not in stored and b"cluster-side-value" not in stored
