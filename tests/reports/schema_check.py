"""A small JSON Schema (2020-12) checker for the keywords ``export.schema.json`` uses: type,
const, enum, required, properties, additionalProperties, propertyNames, items, pattern,
minimum, $ref (local), allOf, oneOf. ``format`` is an annotation (as by default in 2020-12)."""

from __future__ import annotations

import re

_TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "null": type(None),
}


def _is_type(value, name: str) -> bool:
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, _TYPES[name])


def errors(value, schema: dict, root: dict | None = None, path: str = "$") -> list[str]:
    """Every place where ``value`` breaks ``schema`` (empty: valid)."""
    root = root or schema
    found: list[str] = []
    if "$ref" in schema:
        target = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        found += errors(value, target, root, path)
    for sub in schema.get("allOf", []):
        found += errors(value, sub, root, path)
    if "oneOf" in schema:
        passing = [s for s in schema["oneOf"] if not errors(value, s, root, path)]
        if len(passing) != 1:
            found.append(f"{path}: matches {len(passing)} of oneOf")
    types = schema.get("type")
    if types is not None:
        names = types if isinstance(types, list) else [types]
        if not any(_is_type(value, name) for name in names):
            return [*found, f"{path}: {type(value).__name__} is not {types}"]
    if "const" in schema and value != schema["const"]:
        found.append(f"{path}: {value!r} is not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{path}: {value!r} not in {schema['enum']}")
    if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
        found.append(f"{path}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, int | float) and "minimum" in schema and value < schema["minimum"]:
        found.append(f"{path}: {value} < {schema['minimum']}")
    if isinstance(value, dict):
        found += _object(value, schema, root, path)
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            found += errors(item, schema["items"], root, f"{path}[{index}]")
    return found


def _object(value: dict, schema: dict, root: dict, path: str) -> list[str]:
    found = [f"{path}: missing {key}" for key in schema.get("required", []) if key not in value]
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    names = schema.get("propertyNames", {})
    for key, item in value.items():
        if names and errors(key, names, root, f"{path} key {key!r}"):
            found.append(f"{path}: key {key!r} breaks propertyNames")
        if key in properties:
            found += errors(item, properties[key], root, f"{path}.{key}")
        elif extra is False:
            found.append(f"{path}: unexpected key {key!r}")
        elif isinstance(extra, dict):
            found += errors(item, extra, root, f"{path}.{key}")
    return found
