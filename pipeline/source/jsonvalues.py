"""Parsed JSON values as the source reader keeps them: duplicate keys, long integers and
values nested below the published shape survive as small, picklable markers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.constants import MAX_INT_DIGITS


@dataclass(frozen=True)
class LongInteger:
    """An integer literal too long to be a coordinate, kept as its digit count."""

    digits: int

    def __str__(self) -> str:
        return f"an integer of {self.digits} digits"


@dataclass(frozen=True)
class NestedValue:
    """An array or object found below the published shape, replaced by what it was."""

    kind: str  # "an array" or "an object"
    depth: int

    def __str__(self) -> str:
        return f"{self.kind} nested {self.depth} levels deep" if self.depth > 1 else self.kind


class JsonObject(list):
    """A JSON object kept as its list of (key, value) pairs, so duplicate keys survive."""


def is_json_object(value: Any) -> bool:
    """True for a JSON object parsed by this package's readers."""
    return isinstance(value, JsonObject)


def parse_int(literal: str) -> int | LongInteger:
    """json's `parse_int` hook: a literal over MAX_INT_DIGITS digits is never converted."""
    digits = len(literal.lstrip("-"))
    return LongInteger(digits) if digits > MAX_INT_DIGITS else int(literal)


def _children(container: list) -> list:
    return [v for _, v in container] if is_json_object(container) else container


def nesting_depth(value: Any) -> int:
    """How many arrays and objects deep `value` nests (0 for a scalar); iterative."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, NestedValue):
            deepest = max(deepest, depth + item.depth)
        elif isinstance(item, list):
            deepest = max(deepest, depth + 1)
            stack.extend((child, depth + 1) for child in _children(item))
    return deepest


def cut_below(value: Any, max_depth: int) -> Any:
    """`value` with every array or object deeper than `max_depth` replaced by a NestedValue.

    `value` itself is at depth 1. Iterative, never recursive.
    """
    stack = [(value, 1)] if isinstance(value, list) else []
    while stack:
        container, depth = stack.pop()
        is_object = is_json_object(container)
        for i, item in enumerate(container):
            child = item[1] if is_object else item
            if not isinstance(child, list):
                continue
            if depth < max_depth:
                stack.append((child, depth + 1))
                continue
            marker = NestedValue(json_kind(child), nesting_depth(child))
            container[i] = (item[0], marker) if is_object else marker
    return value


def json_kind(value: Any) -> str:
    """What sort of JSON value this is: "an object", "an array", "a string", ..."""
    if is_json_object(value):
        return "an object"
    if isinstance(value, NestedValue):
        return value.kind
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def describe_value(value: Any, limit: int = 40) -> str:
    """A short description of a parsed JSON value for a message; never its whole text."""
    if isinstance(value, list):
        depth = nesting_depth(value)
        if depth > 2:
            return f"{json_kind(value)} nested {depth} levels deep"
        n = len(value)
        return f"{json_kind(value)} of {n} item{'s' if n != 1 else ''}"
    if isinstance(value, LongInteger | NestedValue):
        return str(value)
    text = repr(value[: limit + 1]) if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
