"""What a cell run elsewhere may ship of the kernel's values: references, never secrets."""

from __future__ import annotations

import pytest

from jupyter_flow import Secret, secret
from jupyter_flow.errors import ParameterError
from jupyter_flow.kernel.secret_inputs import with_secret_refs


def test_a_value_from_secret_ships_as_its_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JF_UNIT_A", "value-of-a-123")
    token = secret("JF_UNIT_A")  # in any cell, not only %%params
    shipped = with_secret_refs("s", {"token": token, "n": 3, "word": "plain"}, {})
    assert shipped == {"token": Secret("JF_UNIT_A"), "n": 3, "word": "plain"}


def test_a_value_built_from_a_secret_is_refused_naming_it(monkeypatch) -> None:
    monkeypatch.setenv("JF_UNIT_B", "value-of-b-456")
    token = secret("JF_UNIT_B")
    with pytest.raises(ParameterError) as err:
        with_secret_refs("call", {"rows": [("auth", {"h": "Bearer " + token})]}, {})
    assert "step 'call' reads 'rows', which holds the value of a secret" in err.value.format()


def test_a_secret_whose_variable_changed_since_is_refused(monkeypatch) -> None:
    monkeypatch.setenv("JF_UNIT_C", "value-of-c-789")
    token = secret("JF_UNIT_C")
    monkeypatch.setenv("JF_UNIT_C", "rotated-value")  # the task would read this one
    with pytest.raises(ParameterError) as err:
        with_secret_refs("s", {"token": token}, {})
    assert "no longer $JF_UNIT_C's" in err.value.format()


def test_a_declared_secret_overwritten_in_the_kernel_is_refused(monkeypatch) -> None:
    monkeypatch.setenv("JF_UNIT_D", "value-of-d-000")
    declared = {"token": Secret("JF_UNIT_D")}
    assert with_secret_refs("s", {"token": "value-of-d-000"}, declared) == declared
    with pytest.raises(ParameterError) as err:
        with_secret_refs("s", {"token": "typed over"}, declared)
    assert "declared secret('JF_UNIT_D') in %%params" in err.value.format()
