"""One ``Settings`` object, built on demand and passed in; nothing is read at import.

Precedence, highest first: explicit arguments (CLI flags), environment variables
(``JUPYTER_FLOW_*``), the config file's active profile, defaults. The config file is the
first of ``./jupyter_flow.toml`` and ``~/.config/jupyter_flow/config.toml``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import ConfigError

DEFAULT_ROOT_NAME = ".jupyter_flow"
CONFIG_NAMES = ("jupyter_flow.toml",)
_ENV = {
    "root": "JUPYTER_FLOW_ROOT",
    "executor": "JUPYTER_FLOW_EXECUTOR",
    "max_workers": "JUPYTER_FLOW_MAX_WORKERS",
    "retry_backoff": "JUPYTER_FLOW_RETRY_BACKOFF",
    "profile": "JUPYTER_FLOW_PROFILE",
}


@dataclass(frozen=True)
class Settings:
    """Where artifacts live and how tasks run. Backend-specific options live in ``extra``
    under the backend's name (e.g. ``extra["kubernetes"]["namespace"]``)."""

    root: str = DEFAULT_ROOT_NAME
    executor: str = "local"
    max_workers: int = 0  # 0: one per CPU
    retry_backoff: float = 1.0  # seconds before the first retry; doubles, capped at 60 s
    profile: str = "default"
    extra: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(
        cls,
        cwd: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> Settings:
        """Settings for a process working in ``cwd``; ``None`` overrides are ignored."""
        env = os.environ if env is None else env
        base = Path(cwd or Path.cwd())
        values: dict[str, Any] = {}
        profile = overrides.get("profile") or env.get(_ENV["profile"]) or "default"
        file_values = _read_config(base, profile)
        values.update(file_values)
        for key, var in _ENV.items():
            if env.get(var):
                values[key] = env[var]
        values.update({k: v for k, v in overrides.items() if v is not None})
        values["profile"] = profile
        settings = cls._coerce(values)
        return replace(settings, root=resolve_root(settings.root, base))

    @classmethod
    def _coerce(cls, values: dict[str, Any]) -> Settings:
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        extra = {k: values.pop(k) for k in list(unknown) if isinstance(values[k], Mapping)}
        if set(values) - known:
            bad = ", ".join(sorted(set(values) - known))
            raise ConfigError(
                f"unknown setting(s): {bad}",
                hint=f"known settings: {', '.join(sorted(known - {'extra'}))}",
            )
        try:
            if "max_workers" in values:
                values["max_workers"] = int(values["max_workers"])
            if "retry_backoff" in values:
                values["retry_backoff"] = float(values["retry_backoff"])
        except ValueError as err:
            raise ConfigError(f"bad setting value: {err}") from None
        values["extra"] = {**values.get("extra", {}), **extra}
        return cls(**values)

    @classmethod
    def from_pinned(cls, document: Mapping[str, Any], root: str) -> Settings:
        """The settings a schedule pinned for its driver (``schedule/settings_pin.py``):
        exactly those, with no config file or environment read."""
        if document.get("format") != 1:
            raise ConfigError(
                f"pinned settings of format {document.get('format')!r} are not understood",
                hint="re-create the schedule (--update) with this version of jupyter_flow",
            )
        return cls(
            root=root,
            executor=str(document["executor"]),
            max_workers=int(document.get("max_workers", 0)),
            retry_backoff=float(document.get("retry_backoff", 1.0)),
            extra={k: dict(v) for k, v in document.get("extra", {}).items()},
        )

    def backend_options(self, name: str) -> Mapping[str, Any]:
        return self.extra.get(name, {})

    @property
    def workers(self) -> int:
        return self.max_workers if self.max_workers > 0 else max(1, os.cpu_count() or 1)


def _check_tables(path: Path, section: str, values: Mapping[str, Any]) -> None:
    """A table that names no backend (``[default.bacth]``) is a typo: refused, not ignored
    (its settings would silently not apply). Built-in names cost no entry-point scan."""
    from . import plugins

    tables = {k for k, v in values.items() if isinstance(v, Mapping)}
    builtin = {name for kind in plugins.BUILTIN.values() for name in kind}
    if tables <= builtin:
        return
    known = builtin | {name for kind in plugins.KINDS for name in plugins.names(kind)}
    import difflib

    for table in sorted(tables - known):
        near = difflib.get_close_matches(table, sorted(known), n=1)
        raise ConfigError(
            f"{path} [{section}.{table}]: no backend is named {table!r}"
            + (f" (did you mean [{section}.{near[0]}]?)" if near else ""),
            hint=f"a table under [{section}] names a backend: {', '.join(sorted(known))}",
        )


def resolve_root(root: str, base: Path) -> str:
    """URLs stay as they are; local paths become absolute (relative to ``base``)."""
    if "://" in root:
        return root
    path = Path(root).expanduser()
    return str(path if path.is_absolute() else (base / path).resolve())


def section_label(settings: Settings, backend: str) -> str:
    """``jupyter_flow.toml [profiles.gpu.batch]``: where a backend's settings were read,
    for errors that name the key to fix."""
    section = "default" if settings.profile == "default" else f"profiles.{settings.profile}"
    path = config_file()
    return f"{path or 'the settings'} [{section}.{backend}]"


def _candidates(base: Path) -> list[Path]:
    candidates = [base / name for name in CONFIG_NAMES]
    candidates.append(Path.home() / ".config" / "jupyter_flow" / "config.toml")
    return candidates


def config_file(cwd: str | os.PathLike[str] | None = None) -> Path | None:
    """The config file ``Settings.load`` reads (for errors that say where a setting is)."""
    return next((p for p in _candidates(Path(cwd or Path.cwd())) if p.is_file()), None)


def _read_config(base: Path, profile: str) -> dict[str, Any]:
    for path in _candidates(base):
        if path.is_file():
            data = _load_toml(path)
            section = dict(data.get("default", {}))
            _check_tables(path, "default", section)
            if profile != "default":
                profiles = data.get("profiles", {})
                if profile not in profiles:
                    raise ConfigError(
                        f"profile {profile!r} is not defined in {path}",
                        hint=f"defined profiles: {', '.join(profiles) or 'none'}",
                    )
                _check_tables(path, f"profiles.{profile}", profiles[profile])
                for key, value in profiles[profile].items():  # a backend table: its keys
                    inherited = section.get(key)
                    both = isinstance(value, Mapping) and isinstance(inherited, Mapping)
                    section[key] = {**inherited, **value} if both else value  # type: ignore[dict-item]
            if "root" in section and "://" not in str(section["root"]):
                section["root"] = str((path.parent / str(section["root"])).resolve())
            return section
    return {}


def _load_toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, ValueError) as err:
        raise ConfigError(f"cannot read config file {path}: {err}") from None
