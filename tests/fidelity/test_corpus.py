"""The corpus is what the brief asks for, and the committed files are the generator's."""

from __future__ import annotations

from .generate import OUT, all_specs, render
from .harness import notebooks

CLASSES = {"1", "2", "3", "4", "5", "6", "7"}
FEATURES = {"params", "foreach", "helpers", "imports", "inline", "pip", "plain"}


def test_every_committed_notebook_is_the_generators_output() -> None:
    specs = all_specs()
    assert sorted(s.name for s in specs) == [p.name for p in notebooks()]
    for spec in specs:
        folder = OUT / spec.name
        committed = (folder / f"{spec.name}.ipynb").read_text(encoding="utf-8")
        assert committed == render(spec), f"{spec.name}: run python -m tests.fidelity.generate"
        for rel, content in spec.files.items():
            assert (folder / rel).read_text(encoding="utf-8") == content.lstrip("\n")


def test_the_corpus_covers_every_failure_class_and_feature() -> None:
    specs = all_specs()
    assert len(specs) >= 22
    covered = {c for s in specs for c in s.classes}
    assert covered >= CLASSES | FEATURES, sorted((CLASSES | FEATURES) - covered)
    for spec in specs:
        first_code = next(c for c in spec.cells if c.kind == "code")
        assert first_code.source == "%load_ext jupyter_flow", spec.name
        assert spec.compare, spec.name
        assert any(c.source.startswith("%%step") for c in spec.cells), spec.name
    assert any(c.tags == ("parameters",) for s in specs for c in s.cells)
    assert any(c.source.startswith("%%params") for s in specs for c in s.cells)
    assert [s.name for s in specs if s.fails_at] == ["runtime_failure_located"]
