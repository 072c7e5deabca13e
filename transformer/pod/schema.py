"""The pod-annotation schema (schemas/pod-annotations.schema.json): its loading, a fast
interpreter of the few keywords it uses, and jsonschema to explain a failure.

A clean pod's annotations are checked by :func:`conforms`; jsonschema, whose import costs
more than everything else a small release does (bench/render_bench.py), is loaded only
when they fail, to say why. tests/pod/test_annotations.py checks that both agree.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema.protocols import Validator


@cache
def annotation_schema() -> dict[str, Any]:
    # A plain path, not importlib.resources: that costs more to import than the
    # read (the package is always installed unpacked).
    package = os.path.dirname(os.path.dirname(__file__))
    path = os.path.join(package, "schemas", "pod-annotations.schema.json")
    with open(path, encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema


@cache
def validator() -> Validator:
    # jsonschema is slow to import (bench/render_bench.py): only annotations that fail
    # :func:`conforms` pay for it, to have their errors explained.
    from jsonschema import Draft202012Validator

    validator: Validator = Draft202012Validator(annotation_schema())
    return validator


def property_schema(key: str) -> Mapping[str, Any]:
    schema = annotation_schema()
    if key in schema["properties"]:
        return schema["properties"][key]  # type: ignore[no-any-return]
    for pattern, subschema in schema["patternProperties"].items():
        if re.search(pattern, key):
            return subschema  # type: ignore[no-any-return]
    return {}


#: The JSON Schema keywords :func:`conforms` evaluates; others are annotations
#: (no effect on validity) or make it defer to jsonschema.
_ASSERTIONS = frozenset(
    {
        "type",
        "enum",
        "const",
        "pattern",
        "properties",
        "patternProperties",
        "additionalProperties",
        "$ref",
    }
)
_ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "title", "description"})
_TYPES: Mapping[str, type | tuple[type, ...]] = {"string": str, "object": Mapping}


def conforms(instance: Any, schema: Mapping[str, Any], root: Mapping[str, Any]) -> bool | None:
    """Does ``instance`` validate against ``schema``? None: a keyword this does not know.

    The fast path of validation: a clean pod's annotations are checked by this
    small interpreter of the schema's own keywords, and jsonschema (slow to
    import, more than everything else a small release costs) is loaded only to
    explain a failure. tests/pod/test_annotations.py checks that both always agree.
    """
    if not _ASSERTIONS.issuperset(schema.keys() - _ANNOTATIONS):
        return None
    results: list[bool | None] = []
    if "$ref" in schema:
        reference = schema["$ref"]
        if not isinstance(reference, str) or not reference.startswith("#/$defs/"):
            return None
        results.append(conforms(instance, root["$defs"][reference[len("#/$defs/") :]], root))
    if "type" in schema:
        expected = _TYPES.get(schema["type"]) if isinstance(schema["type"], str) else None
        if expected is None:
            return None
        results.append(isinstance(instance, expected))
    if "enum" in schema:
        results.append(isinstance(instance, str) and instance in schema["enum"])
    if "const" in schema:
        results.append(isinstance(instance, str) and instance == schema["const"])
    if "pattern" in schema and isinstance(instance, str):
        results.append(re.search(schema["pattern"], instance) is not None)
    if isinstance(instance, Mapping) and {
        "properties",
        "patternProperties",
        "additionalProperties",
    } & (schema.keys()):
        properties = schema.get("properties", {})
        patterns = schema.get("patternProperties", {})
        additional = schema.get("additionalProperties", True)
        for key, value in instance.items():
            matched = False
            if key in properties:
                matched = True
                results.append(conforms(value, properties[key], root))
            for pattern, subschema in patterns.items():
                if re.search(pattern, key):
                    matched = True
                    results.append(conforms(value, subschema, root))
            if not matched:
                if additional is False:
                    results.append(False)
                elif additional is not True:
                    results.append(conforms(value, additional, root))
    if None in results:
        return None
    return all(results)
