"""The code generator: Python source for one selection *shape*, compiled once and cached across requests.

A shape (:data:`Shape`, made by :func:`gateway.execution.plan.object_builder`) lists the response keys of a selection
and how each is read and checked. The generated ``build(source, env)`` answers the object's dict, or None at the first
value it cannot take; the interpreted plan then completes that object from the start, so the code only reads
attributes, checks exact types and makes the side-effect-free checks of the interpreted path (awaitability,
exceptions, Strawberry's own ``is_type_of``). Values are read first and nested objects completed after, so that a
give-up usually costs only the reads.

Shape entries: ``(key, "typename", name)``; ``(key, attr, null, "str" | "bool" | "int" | "float")``;
``(key, attr, null, "enum", slot)``; ``(key, attr, null, "leaves", item_null, "str" | "bool")``;
``(key, attr, null, "object", typed, slot, inline)``; ``(key, attr, null, "objects", item_null, typed, slot,
inline)``. ``slot`` indexes ``env``; ``inline`` is a nested leaf-only shape written into this code, or ``()``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from gateway.execution.compat import GRAPHQL_MAX_INT, GRAPHQL_MIN_INT

#: Generated code for a selection: ``builder(source, env)`` is the object's answer, or None when any value needs more
#: than the checks it makes (then the interpreted plan completes the object, as stock would, from the start).
Builder = Callable[[Any, tuple[Any, ...]], dict[str, Any] | None]
#: A selection's description for the generator (see the module docstring).
Shape = tuple[tuple[Any, ...], ...]


def _check_object(
    lines: list[str], indent: str, var: str, typed: str, inline: Any, names: tuple[str, str, str, str, str, str]
) -> None:
    """Code giving up unless ``var`` passes ``_object_ok``, then completing it with the nested builder (or its code,
    written here when ``inline`` holds its shape). ``names``: the expressions for the nested builder, its env, its
    ``is_type_of``, ``is_awaitable``, the map of plain classes and the function that fills it."""
    sub, sub_env, is_type_of, is_awaitable, known, learn = names
    lines.append(f"{indent}plain = {known}.get(type({var}))")
    lines.append(f"{indent}if plain is None:")
    lines.append(f"{indent}    plain = {learn}(type({var}))")
    lines.append(f"{indent}if (not plain or '__await__' in {var}.__dict__) and (")
    lines.append(f"{indent}    {is_awaitable}({var}) or isinstance({var}, Exception)")
    lines.append(f"{indent}):")
    lines.append(f"{indent}    return None")
    if typed == "checked":
        lines.append(f"{indent}if {is_type_of}({var}, None) is not True:")
        lines.append(f"{indent}    return None")
    if inline:
        values = []
        for index, item in enumerate(inline):
            key = item[0]
            if item[1] == "typename":
                values.append(f"{key!r}: {item[2]!r}")
                continue
            _key, attr, null, check = item
            leaf = f"w{index}"
            values.append(f"{key!r}: {leaf}")
            lines.append(f"{indent}{leaf} = {var}.{attr}")
            lines.append(f"{indent}if {_leaf_refused(leaf, null, check)}:")
            lines.append(f"{indent}    return None")
        lines.append(f"{indent}{var} = {{" + ", ".join(values) + "}")
        return
    lines.append(f"{indent}{var} = {sub}({var}, {sub_env})")
    lines.append(f"{indent}if {var} is None:")
    lines.append(f"{indent}    return None")


def _leaf_refused(var: str, null: str, check: str) -> str:
    """The condition under which a leaf of exact type ``check`` (str, bool, int, float) is not copied as it is."""
    guard = "" if null == "non-null" else f"{var} is not None and "
    condition = f"type({var}) is not {check}"
    if check == "int":
        condition += f" or not {GRAPHQL_MIN_INT} <= {var} <= {GRAPHQL_MAX_INT}"
    elif check == "float":
        condition += f" or {var} - {var} != 0.0"  # NaN and infinities are not finite: stock refuses them
    return f"{guard}({condition})"


@functools.lru_cache(maxsize=512)
def compile_builder(shape: Shape) -> Builder:
    """Python source for one selection shape, compiled once (bounded: a server sees few distinct selections)."""
    lines = ["def build(source, env):", "    try:", "        pass"]  # a selection of __typename only reads nothing
    nested: list[str] = []  # completions of nested objects, after every value of this object has been read
    values = []
    for index, item in enumerate(shape):
        key = item[0]
        if item[1] == "typename":
            values.append(f"{key!r}: {item[2]!r}")
            continue
        _key, attr, null, check, *rest = item
        var = f"v{index}"
        values.append(f"{key!r}: {var}")
        lines.append(f"        {var} = source.{attr}")
        guard = "" if null == "non-null" else f"{var} is not None and "
        if check == "enum":
            slot = int(rest[0])
            lines.append(f"        if {guard}type({var}) is not env[{slot}]:")
            lines.append("            return None")
            lines.append(f"        if {var} is not None:")
            lines.append(f"            {var} = env[{slot + 1}][{var}]")
        elif check == "leaves":
            item_null, item_type = rest
            lines.append(f"        if {guard}type({var}) is not list and type({var}) is not tuple:")
            lines.append("            return None")
            lines.append(f"        if {var} is not None:")
            lines.append(f"            for x in {var}:")
            item_guard = "" if item_null == "non-null" else "x is not None and "
            lines.append(f"                if {item_guard}type(x) is not {item_type}:")
            lines.append("                    return None")
            lines.append(f"            {var} = list({var})")
        elif check == "object":
            typed, slot_text, inline = rest
            slot = int(slot_text)
            if null == "non-null":
                lines.append(f"        if {var} is None:")
                lines.append("            return None")
            nested.append(f"        if {var} is not None:")
            names = tuple(f"env[{slot + offset}]" for offset in range(6))
            _check_object(nested, " " * 12, var, typed, inline, names)  # type: ignore[arg-type]
        elif check == "objects":
            item_null, typed, slot_text, inline = rest
            slot = int(slot_text)
            lines.append(f"        if {guard}type({var}) is not list and type({var}) is not tuple:")
            lines.append("            return None")
            nested.append(f"        if {var} is not None:")
            # What every item needs, read from env once per list rather than once per item.
            nested.append(f"            sub, sub_env, is_type_of, is_awaitable, known, learn = env[{slot}:{slot + 6}]")
            nested.append("            out = []")
            nested.append("            append = out.append")
            nested.append(f"            for x in {var}:")
            nested.append("                if x is None:")
            if item_null == "non-null":
                nested.append("                    return None")
            else:
                nested.append("                    append(None)")
                nested.append("                    continue")
            names = ("sub", "sub_env", "is_type_of", "is_awaitable", "known", "learn")
            _check_object(nested, " " * 16, "x", typed, inline, names)
            nested.append("                append(x)")
            nested.append(f"            {var} = out")
        else:
            lines.append(f"        if {_leaf_refused(var, null, check)}:")
            lines.append("            return None")
    lines.extend(nested)
    lines.append("    except Exception:")  # an attribute that raises: the interpreted plan reports it
    lines.append("        return None")
    lines.append("    return {" + ", ".join(values) + "}")
    namespace: dict[str, Any] = {}
    exec(compile("\n".join(lines), "<hookgate execution builder>", "exec"), namespace)  # noqa: S102 - our own code
    builder: Builder = namespace["build"]
    return builder
