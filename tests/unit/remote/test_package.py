"""The code package: what goes in, what never does, and that it is byte-for-byte stable."""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import shutil
import tarfile
import textwrap
from pathlib import Path

import pytest

from jupyter_flow.errors import FlowDefinitionError, StoreError
from jupyter_flow.runtime import cli_package
from jupyter_flow.runtime.package import build_package, ensure_package, fetch_package
from jupyter_flow.store.blobs import LocalBlobs, blob_path

FLOW = """
    import numpy
    import helpers
    import nsp.part
    from mylib import thing
    from jupyter_flow import Flow

    flow = Flow("P")

    @flow.step
    def go():
        import lazy_mod
"""


def write(path: Path, text: str | bytes = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    write(root / "flow.py", textwrap.dedent(FLOW))
    write(root / "helpers.py", "import deep\n")
    write(root / "deep.py", "X = 1\n")
    write(root / "lazy_mod.py", "")
    write(root / "unrelated.py", "")  # never imported
    write(root / "nsp" / "part.py", "")  # a namespace package (no __init__)
    write(root / "mylib" / "__init__.py", "from .sub import thing\n")
    write(root / "mylib" / "sub.py", "thing = 1\n")
    write(root / "mylib" / "data.yaml", "a: 1\n")
    write(root / "mylib" / "big.bin", b"\0" * (2 << 20))
    write(root / "mylib" / "credentials.json", "{}")
    write(root / "mylib" / ".env", "TOKEN=x")
    write(root / "mylib" / "venv" / "pyvenv.cfg", "")
    write(root / "mylib" / "venv" / "lib" / "mod.py", "")
    write(root / "mylib" / "__pycache__" / "sub.cpython-311.pyc", b"x")
    write(root / "mylib" / ".git" / "config", "")
    for secret in (".env", "id_rsa", "server.pem", "tls.key"):
        write(root / secret, "secret")
    write(root / ".venv" / "pyvenv.cfg", "")
    write(root / ".venv" / "lib" / "helpers.py", "")
    write(root / "node_modules" / "x" / "index.js", "")
    write(root / ".git" / "HEAD", "ref")
    return root / "flow.py"


def project_files(package) -> set[str]:
    return {p for p, _ in package.files if not p.startswith("jupyter_flow/")}


def test_the_module_and_the_project_code_it_imports_are_packaged(project):
    files = project_files(build_package(project))
    assert files == {
        "flow.py",
        "helpers.py",
        "deep.py",  # imported by helpers: followed transitively
        "lazy_mod.py",  # imported inside a step function
        "nsp/part.py",
        "mylib/__init__.py",
        "mylib/sub.py",
        "mylib/data.yaml",  # a package goes in whole, with its data files
    }


def test_secrets_venvs_caches_and_large_files_are_left_out_and_reported(project):
    package = build_package(project)
    skipped = dict(package.skipped)
    assert "mylib/credentials.json" in skipped and "mylib/.env" in skipped
    assert "larger than 1 MB" in skipped["mylib/big.bin"]
    names = {p for p, _ in package.files}
    assert not any("venv" in n or ".git" in n or "__pycache__" in n for n in names)
    with_large = build_package(project, include_large=True)
    assert "mylib/big.bin" in project_files(with_large)
    assert "mylib/credentials.json" not in project_files(with_large)


def test_jupyter_flow_itself_is_packaged_without_browser_assets(project):
    names = {p for p, _ in build_package(project).files}
    assert "jupyter_flow/runtime/task.py" in names and "jupyter_flow/store/s3.py" in names
    assert not any(n.startswith("jupyter_flow/labextension") for n in names)


def test_same_tree_same_bytes_wherever_and_whenever_it_is(project, tmp_path):
    first = build_package(project)
    copy = tmp_path / "elsewhere" / "proj"
    shutil.copytree(project.parent, copy)
    for file in copy.rglob("*"):
        os.utime(file, (1, 1))
    (copy / "helpers.py").chmod(0o755)
    second = build_package(copy / "flow.py")
    assert second.data == first.data and second.key == first.key
    (copy / "deep.py").write_text("X = 2\n")
    assert build_package(copy / "flow.py").key != first.key


def test_archive_entries_are_plain_files_with_fixed_metadata(project):
    with tarfile.open(fileobj=io.BytesIO(build_package(project).data)) as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == sorted(m.name for m in members)
    assert {(m.mtime, m.mode, m.uid, m.gid, m.uname) for m in members} == {(0, 0o644, 0, 0, "")}


def test_ensure_uploads_once_and_fetch_unpacks_once(project, tmp_path):
    class Counting(LocalBlobs):
        puts = 0

        def put(self, path, data):
            Counting.puts += 1
            return super().put(path, data)

    store = Counting(tmp_path / "store")
    ref = ensure_package(store, project)
    assert ensure_package(store, project) == ref and Counting.puts == 1
    assert (ref.module_path, ref.module_name) == ("flow.py", "flow")
    assert ref.package_key is not None

    folder = fetch_package(store, ref.package_key, tmp_path / "code")
    assert (folder / "flow.py").is_file() and (folder / "jupyter_flow" / "task.py").is_file()
    (tmp_path / "store" / "blobs" / ref.package_key[:2] / ref.package_key).unlink()
    assert fetch_package(store, ref.package_key, tmp_path / "code") == folder  # cached


def test_fetch_refuses_corrupt_or_escaping_packages(tmp_path):
    store = LocalBlobs(tmp_path / "store")
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        info = tarfile.TarInfo("../escape.py")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    key = hashlib.sha256(raw.getvalue()).hexdigest()  # packages are named by SHA-256
    store.put(blob_path(key), raw.getvalue())
    with pytest.raises(StoreError, match="not a plain relative file"):
        fetch_package(store, key, tmp_path / "code")
    assert not (tmp_path / "escape.py").exists()

    good = hashlib.sha256(b"not a tarball").hexdigest()
    store.put(blob_path(good), b"not a tarball")
    (tmp_path / "store" / blob_path(good)).write_bytes(b"tampered")
    with pytest.raises(StoreError, match="corrupt"):
        fetch_package(store, good, tmp_path / "code")


def test_cli_shows_size_files_and_what_was_skipped(project, capsys):
    parser = argparse.ArgumentParser()
    cli_package.add_parser(parser.add_subparsers())
    args = parser.parse_args(["package", str(project)])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "code package" in out and "8 from the project" in out
    assert "mylib/sub.py" in out and "jupyter_flow/cli.py" not in out
    assert "skipped    mylib/credentials.json: looks like a secret" in out

    args = parser.parse_args(["package", str(project), "--list", "--include-large"])
    args.func(args)
    out = capsys.readouterr().out
    assert "jupyter_flow/cli.py" in out and "mylib/big.bin" in out and "2.1 MB" in out


CREDENTIALS = {
    ".pgpass": "db:5432:*:me:hunter2",
    ".s3cfg": "[default]\naccess_key = x",
    ".boto": "[Credentials]",
    ".envrc": "export TOKEN=x",
    ".htpasswd": "me:$apr1$x",
    "service-account.json": "{}",
    "client_secret_123.apps.json": "{}",
    "secret.json": "{}",
    "token.txt": "abc",
    "terraform.tfstate": "{}",
    "analysis.ipynb": '{"cells": [], "metadata": {}}',
    "settings.yaml": "aws_access_key_id: AKIAIOSFODNN7EXAMPLE\n",
    "deploy.txt": "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n",
    "gcp.json": '{"type": "x", "private_key": "-----BEGIN PRIVATE KEY-----\\n"}',
    "notes.md": "ci token ghp_abcdefghijklmnopqrstuvwxyz0123456789",
}


def test_credential_shaped_files_and_symlinks_out_are_never_packaged(project, tmp_path):
    lib = project.parent / "mylib"
    for name, text in CREDENTIALS.items():
        write(lib / name, text)
    outside = tmp_path / "outside.yaml"
    write(outside, "a: 1\n")
    (lib / "linked.yaml").symlink_to(outside)
    package = build_package(project)
    names = project_files(package)
    for name in (*CREDENTIALS, "linked.yaml"):
        assert f"mylib/{name}" not in names, name
    skipped = dict(package.skipped)
    assert skipped["mylib/settings.yaml"] == "seems to contain an AWS access key id"
    assert skipped["mylib/deploy.txt"] == "seems to contain a private key"
    assert skipped["mylib/gcp.json"].startswith(("looks like", "seems to contain"))
    assert skipped["mylib/notes.md"] == "seems to contain a GitHub token"
    assert skipped["mylib/linked.yaml"] == "a symlink to outside the project"
    assert "mylib/data.yaml" in names  # ordinary data still goes in


def test_a_module_holding_a_credential_is_refused_naming_it(project):
    write(project.parent / "deep.py", 'KEY = "AKIAIOSFODNN7EXAMPLE"\n')
    with pytest.raises(FlowDefinitionError, match=r"deep\.py seems to contain an AWS access"):
        build_package(project)


def test_list_shows_why_each_file_is_in(project, capsys):
    parser = argparse.ArgumentParser()
    cli_package.add_parser(parser.add_subparsers())
    args = parser.parse_args(["package", str(project), "--list"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "flow.py  (the flow module)" in out
    assert "deep.py  (imported by helpers.py)" in out
    assert "mylib/data.yaml  (in package mylib)" in out
    assert "(jupyter_flow, the runtime)" in out
