import pytest

from jupyter_flow import Flow
from jupyter_flow.errors import FlowDefinitionError, ParameterError


def make(**params):
    return Flow("T", parameters=params, module_file=__file__)


def test_dag_follows_signatures_and_definition_order():
    flow = make(n=3)

    @flow.step(outputs="a")
    def first(n):
        return n

    @flow.step(outputs="b")
    def side(n):
        return n

    @flow.step(outputs="c")
    def last(a, b):
        return a + b

    dag = flow.dag()
    assert dag.order == ("first", "side", "last")
    assert dag.upstream["last"] == ("first", "side")
    assert dag.upstream["side"] == ()
    assert dag.final == {"a": "first", "b": "side", "c": "last"}


def test_a_step_reads_the_latest_earlier_writer():
    flow = make()

    @flow.step(outputs="df")
    def load():
        return 1

    @flow.step(outputs="df")
    def clean(df):
        return df + 1

    @flow.step(outputs="out")
    def use(df):
        return df

    dag = flow.dag()
    assert dag.sources["use"]["df"] == "clean"
    assert dag.final["df"] == "clean"


def test_unknown_input_lists_available_names():
    flow = make(n=1)

    @flow.step(outputs="data")
    def load(n):
        return n

    @flow.step
    def train(dta):
        pass

    with pytest.raises(FlowDefinitionError) as err:
        flow.dag()
    text = str(err.value)
    assert "step 'train'" in text
    assert "'dta'" in text
    assert "did you mean 'data'" in text
    assert "n" in text


def test_input_written_only_later_says_to_move_the_step():
    flow = make()

    @flow.step
    def early(model):
        pass

    @flow.step(outputs="model")
    def train():
        return 1

    with pytest.raises(FlowDefinitionError, match="move step 'train' above 'early'"):
        flow.dag()


def test_unordered_writers_of_one_name_are_refused():
    flow = make()

    @flow.step(outputs="result")
    def a():
        return 1

    @flow.step(outputs="result")
    def b():
        return 2

    with pytest.raises(FlowDefinitionError, match="both write 'result'"):
        flow.dag()


def test_after_orders_writers_and_cycles_are_refused():
    flow = make()

    @flow.step(outputs="result")
    def a():
        return 1

    @flow.step(outputs="result", after="a")
    def b():
        return 2

    assert flow.dag().final["result"] == "b"

    cyclic = make()

    @cyclic.step(after="y")
    def x():
        pass

    @cyclic.step(after="x")
    def y():
        pass

    with pytest.raises(FlowDefinitionError, match="cycle"):
        cyclic.dag()


def test_foreach_item_must_be_a_parameter_and_list_must_exist():
    flow = make()
    with pytest.raises(FlowDefinitionError, match="foreach item 'x'"):

        @flow.step(foreach="x in xs")
        def bad(y):
            pass

    with pytest.raises(FlowDefinitionError, match="ITEM in LIST"):

        @flow.step(foreach="xs")
        def worse(x):
            pass

    ok = make()

    @ok.step(foreach="x in xs")
    def each(x):
        pass

    with pytest.raises(FlowDefinitionError, match="unknown foreach list 'xs'"):
        ok.dag()


def test_duplicate_step_names_and_bad_options():
    flow = make()

    @flow.step
    def a():
        pass

    with pytest.raises(FlowDefinitionError, match="two steps"):
        flow.step(name="a")(lambda: None)
    with pytest.raises(FlowDefinitionError, match="16Gi"):
        flow.step(name="m", memory="16 gigs")(lambda: None)
    with pytest.raises(FlowDefinitionError, match="retries"):
        flow.step(name="r", retries=-1)(lambda: None)


@pytest.mark.parametrize(
    ("default", "text", "value"),
    [
        (1, "7", 7),
        (0.5, "2", 2.0),
        (True, "false", False),
        ("a", "b", "b"),
        ([1], "[1, 2]", [1, 2]),
        ({"a": 1}, '{"b": 2}', {"b": 2}),
    ],
)
def test_parameters_are_converted_to_their_defaults_type(default, text, value):
    flow = make(p=default)
    assert flow.resolve_parameters({"p": text}) == {"p": value}


def test_bad_parameters_are_explained():
    flow = make(n=1, grid=[1])
    with pytest.raises(ParameterError, match=r"(?s)unknown parameter 'm'.*n, grid"):
        flow.resolve_parameters({"m": "1"})
    with pytest.raises(ParameterError, match="expects a int"):
        flow.resolve_parameters({"n": "one"})
    with pytest.raises(ParameterError, match="expects a list"):
        flow.resolve_parameters({"grid": '{"a": 1}'})
