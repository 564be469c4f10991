import pytest

from jupyter_flow.errors import FlowDefinitionError
from jupyter_flow.flow.resources import parse_cpu, parse_duration, parse_memory


@pytest.mark.parametrize(
    ("text", "mib"),
    [
        ("16G", 16384),
        ("16Gi", 16384),
        ("16GB", 16384),
        ("512M", 512),
        ("512Mi", 512),
        ("1.5T", 1572864),
        ("4096", 4096),
        (2048, 2048),
        ("1g", 1024),
    ],
)
def test_memory_forms_are_understood(text, mib):
    assert parse_memory(text) == mib


@pytest.mark.parametrize("text", ["16 gigs", "lots", "-1G", "0", "G16"])
def test_bad_memory_is_refused_with_the_accepted_forms(text):
    with pytest.raises(FlowDefinitionError) as err:
        parse_memory(text)
    assert repr(text) in str(err.value) or "more than zero" in str(err.value)
    assert "16Gi" in str(err.value)


@pytest.mark.parametrize(("text", "cpus"), [("2", 2.0), (0.5, 0.5), ("500m", 0.5), (4, 4.0)])
def test_cpu_forms(text, cpus):
    assert parse_cpu(text) == cpus


@pytest.mark.parametrize("text", ["two", "0", "-1"])
def test_bad_cpu_is_refused(text):
    with pytest.raises(FlowDefinitionError, match="cpu"):
        parse_cpu(text)


@pytest.mark.parametrize(
    ("text", "seconds"), [("30m", 1800), ("1h30m", 5400), ("90", 90), ("2.5h", 9000), (12, 12)]
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


def test_bad_duration_names_the_forms():
    with pytest.raises(FlowDefinitionError, match="30m"):
        parse_duration("half an hour")
