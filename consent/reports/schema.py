"""The JSON Schema of the export (``export.schema.json``), published at
``/api/v1/me/export.schema.json`` and put in every ZIP export. The file describes the document
and consent's own stores; an app above describes the data of its own stores from its
``AppConfig.ready()`` (``describe_store``), so the published schema covers them without
``consent`` naming them."""

from __future__ import annotations

import copy
import json
from pathlib import Path

SCHEMA_PATH = Path(__file__).with_name("schemas") / "export.schema.json"

_stores: dict[str, dict] = {}
_defs: dict[str, dict] = {}


def describe_store(name: str, *, data: dict, defs: dict[str, dict] | None = None) -> None:
    """Publish the schema of ``data`` for the store ``name``; ``defs`` go to ``$defs``."""
    _stores[name] = data
    _defs.update(defs or {})


def export_schema_document() -> dict:
    schema = json.loads(SCHEMA_PATH.read_bytes())
    described = schema["properties"]["stores"]["properties"]
    for name, data in _stores.items():
        described[name] = {
            "allOf": [{"$ref": "#/$defs/store"}],
            "properties": {"data": copy.deepcopy(data)},
        }
    schema["$defs"].update(copy.deepcopy(_defs))
    return schema


def export_schema() -> bytes:
    return json.dumps(export_schema_document(), ensure_ascii=False, indent=2).encode()
