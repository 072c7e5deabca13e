"""Problems: the one-line format users see."""

from __future__ import annotations

from transformer.problems import WARNING, Problem, Resource, has_errors


def test_format_with_namespace() -> None:
    resource = Resource("apps/v1", "Deployment", "prod", "api")
    problem = Problem("chart.yaml", 12, 9, "something is wrong", resource)
    assert problem.format() == "chart.yaml:12:9: something is wrong (Deployment/prod/api)"


def test_format_without_namespace_or_resource() -> None:
    assert Resource("v1", "Pod", "", "web").signature() == "Pod/web"
    assert Problem("-", 1, 1, "bad").format() == "-:1:1: bad"


def test_warning_says_so_and_is_not_an_error() -> None:
    warning = Problem("-", 3, 1, "careful", severity=WARNING)
    assert warning.format() == "-:3:1: warning: careful"
    assert not has_errors([warning])
    assert has_errors([warning, Problem("-", 1, 1, "bad")])


def test_resource_of() -> None:
    obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "n"}}
    assert Resource.of(obj) == Resource("v1", "Pod", "n", "p")
    assert Resource.of({"kind": 5, "metadata": "x"}) == Resource("", "", "", "")
    assert Resource.of(["not", "a", "mapping"]) is None
    assert Resource("", "", "", "").signature() == "?/?"
