"""Rasa's graph run without dask gives what dask's run gives, for every set of targets, inputs and
failures; and it is the runner Rasa's message processor loads models with in the product."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest
import rasa.core.processor
from rasa.engine.exceptions import GraphComponentException, GraphRunError
from rasa.engine.graph import ExecutionContext, GraphComponent, GraphSchema, SchemaNode
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.engine.storage.local_model_storage import LocalModelStorage

import persistence.tracker_store  # noqa: F401 - installs the runner, as in every Rasa process of the product
from persistence.graph_runner import SequentialGraphRunner

CALLS: List[str] = []


class Step(GraphComponent):
    """Adds its configured amount to what it is given; remembers that it ran."""

    def __init__(self, config: Dict[str, Any]) -> None:
        self.config = config

    @classmethod
    def create(cls, config, model_storage, resource, execution_context) -> "Step":  # type: ignore[no-untyped-def]
        return cls(config)

    def add(self, **parts: Any) -> int:
        CALLS.append(self.config["name"])
        if self.config.get("fails"):
            raise ValueError("this step fails")
        return int(self.config["amount"]) + sum(int(value) for value in parts.values())


def step(name: str, amount: int, needs: Dict[str, str], fails: bool = False) -> SchemaNode:
    return SchemaNode(
        needs=needs,
        uses=Step,
        constructor_name="create",
        fn="add",
        config={"name": name, "amount": amount, "fails": fails},
    )


# start -> a, b (b also reads the message input) -> joined -> last; c hangs off a alone; broken fails.
SCHEMA = GraphSchema(
    {
        "start": step("start", 1, {}),
        "a": step("a", 10, {"x": "start"}),
        "b": step("b", 100, {"x": "start", "message": "__message__"}),
        "joined": step("joined", 1000, {"left": "a", "right": "b"}),
        "last": step("last", 0, {"x": "joined"}),
        "c": step("c", 5, {"x": "a"}),
        "broken": step("broken", 0, {"x": "a"}, fails=True),
    }
)


@pytest.fixture(params=[DaskGraphRunner, SequentialGraphRunner])
def runner(request, tmp_path):
    return request.param(SCHEMA, LocalModelStorage(tmp_path), ExecutionContext(SCHEMA, "test"))


@pytest.mark.parametrize(
    "targets, expected",
    [
        (["last"], {"last": 11 + 108 + 1000}),
        (["c", "a"], {"c": 16, "a": 11}),
        (["joined", "c"], {"joined": 11 + 108 + 1000, "c": 16}),
    ],
)
def test_every_set_of_targets_gets_what_dask_gives_and_runs_each_node_once(runner, targets, expected):
    for _ in range(2):  # the second run takes the order remembered from the first
        CALLS.clear()
        assert runner.run(inputs={"__message__": 7}, targets=targets) == expected
        assert sorted(CALLS) == sorted(set(CALLS))


def test_only_the_nodes_the_targets_need_run(runner):
    CALLS.clear()
    runner.run(inputs={"__message__": 7}, targets=["c"])
    assert sorted(CALLS) == ["a", "c", "start"]


def test_a_missing_input_and_a_failing_node_fail_as_with_dask(runner):
    with pytest.raises(GraphRunError, match="Missing input"):
        runner.run(inputs={}, targets=["b"])
    with pytest.raises(GraphComponentException, match="broken"):
        runner.run(inputs={"__message__": 7}, targets=["broken"])


def test_rasas_message_processor_loads_models_with_it():
    assert rasa.core.processor.DaskGraphRunner is SequentialGraphRunner
