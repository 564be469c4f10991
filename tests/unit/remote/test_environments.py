"""Resolving a step's packages on the driver (``environments``) and installing them in its
container (``env_install``), on a local store with hand-made wheels (no PyPI)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from jupyter_flow.runtime.env_install import install_environment
from jupyter_flow.runtime.environments import (
    Environments,
    PackagesError,
    Target,
    doc_path,
    environment_key,
    lock_of,
    pack,
)
from jupyter_flow.store import open_store
from tests.fakes.wheels import write_wheel


@pytest.fixture
def index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "index"
    folder.mkdir()
    write_wheel(folder, "jftiny", "1.1", requires=("jfdep",))
    write_wheel(folder, "jfdep", "2.0")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    return folder


def test_the_target_comes_from_the_image_tag_else_the_setting_else_the_driver() -> None:
    here = Target.here().python
    assert Target.of_image("python:3.12-slim").python == "3.12"
    assert Target.of_image("ghcr.io/acme/python:3.10.4-bookworm").python == "3.10"
    assert Target.of_image("acme/trainer:7").python == here
    assert Target.of_image("acme/trainer:7", python="3.13").python == "3.13"
    assert Target.of_image(None, "arm64").platform == "linux/arm64"


def test_a_bad_target_setting_is_refused_with_what_to_write() -> None:
    with pytest.raises(PackagesError, match="unknown architecture 'x86'"):
        Target.of_image(None, "x86")
    with pytest.raises(PackagesError, match=r"as a string: '3\.10'") as caught:
        Target.of_image(None, python=3.1)  # type: ignore[arg-type]  # TOML: 3.10 is a float
    assert "python_version = 3.1 is not" in str(caught.value)


def test_pip_is_asked_for_the_targets_wheels_not_the_drivers() -> None:
    options = Target("3.12", "linux/arm64").pip_options()
    assert options[:5] == [
        "--only-binary=:all:",
        "--python-version",
        "3.12",
        "--implementation",
        "cp",
    ]
    assert "cp312" in options and "manylinux_2_28_aarch64" in options
    assert "manylinux2014_aarch64" in options and not any("x86_64" in o for o in options)


def test_the_lock_names_every_wheel_normalized() -> None:
    wheels = ["Foo_Bar-1.0-py3-none-any.whl", "numpy-2.1.0-cp311-cp311-manylinux_2_17_x86_64.whl"]
    assert lock_of(wheels) == ("foo-bar==1.0", "numpy==2.1.0")
    with pytest.raises(PackagesError, match="not a wheel"):
        lock_of(["foo-1.0.tar.gz"])


def test_the_same_wheels_pack_to_the_same_key(tmp_path: Path, index: Path) -> None:
    store = open_store(str(tmp_path / "store"))
    wheels = sorted(index.glob("*.whl"))
    assert store.put_blob(pack(wheels, b"{}")) == store.put_blob(pack(wheels[::-1], b"{}"))


def test_a_set_is_resolved_once_then_reused_and_a_damaged_record_resolved_again(
    tmp_path: Path, index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = open_store(str(tmp_path / "store"))
    target = Target.here()
    first = Environments(store)
    env = first.get("train", ["jftiny", "jftiny"], target)
    assert first.get("train", ["jftiny"], target) == env
    assert first.resolved == 1 and env.lock == ("jfdep==2.0", "jftiny==1.1")

    later = Environments(store)  # the next run
    assert later.get("train", ["jftiny"], target) == env and later.resolved == 0

    store.put(doc_path(environment_key(["jftiny"], target)), b"{not json")
    again = Environments(store)
    assert again.get("train", ["jftiny"], target).blob == env.blob and again.resolved == 1
    assert "environments/" in capsys.readouterr().err


def test_the_container_installs_from_the_store_once_and_imports_it(
    tmp_path: Path, index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(str(tmp_path / "store"))
    env = Environments(store).get("train", ["jftiny"], Target.here())
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))  # no wheels: nothing from an index
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setenv("PYTHONPATH", "")
    cache = tmp_path / "cache"

    folder = install_environment(store, env.blob, cache)
    assert install_environment(store, env.blob, cache) == folder
    assert sorted(p.name for p in (folder / "site").iterdir() if not p.name.endswith("-info")) == [
        "jfdep",
        "jftiny",
    ]
    assert sys.path[1] == str(folder / "site")
    assert list(cache.iterdir()) == [folder]


def test_wheels_for_another_cpu_are_refused_before_pip(tmp_path: Path, index: Path) -> None:
    store = open_store(str(tmp_path / "store"))
    other = Target(
        Target.here().python, "linux/arm64" if "amd64" in Target.here().platform else "linux/amd64"
    )
    env = Environments(store).get("train", ["jftiny"], other)
    with pytest.raises(PackagesError, match=f"resolved for Python .* on {other.platform}"):
        install_environment(store, env.blob, tmp_path / "cache")
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_a_pod_without_a_driver_finds_the_environment_stored_for_its_platform(
    tmp_path: Path, index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Argo's step pods: the spec names no environment; one an earlier run resolved for this
    container's platform is installed offline rather than pip from the index."""
    from jupyter_flow.runtime.bootstrap import cache_dir
    from jupyter_flow.runtime.env_install import install_step_packages
    from jupyter_flow.runtime.taskspec import CodeRef, TaskSpec

    store = open_store(str(tmp_path / "store"))
    Environments(store).get("train", ["jftiny"], Target.here())
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))  # the index is gone
    monkeypatch.setenv("JUPYTER_FLOW_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(sys, "path", list(sys.path))
    spec = TaskSpec(
        "F", "r1", "train", 0, 1, store.url, CodeRef("f.py", "f"), (), (), packages=("jftiny",)
    )
    install_step_packages(store, spec, cache_dir)
    assert any((tmp_path / "cache" / "environments").iterdir())
    assert not (tmp_path / "cache" / "packages").exists()
