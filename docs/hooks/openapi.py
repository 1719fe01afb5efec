"""MkDocs hook: the HTTP API page's reference, rendered from the server's own OpenAPI document.

The server builds its document from the routes' code, so a page made from it cannot drift from
what the server does; the fuzz test (`tests/test_fuzz_api.py`) holds the server to the same document.
At build time this hook creates the app (dlib engine, a throw-away data dir, nothing served),
writes the document to the site as `openapi.json`, and replaces the markers below in
`http-api.md` with one section per operation and one per schema, and with the table of error
types from `plasticvision.server.errors`. Plain Markdown, no script
and no CDN, so the page reads the same offline.
"""

from __future__ import annotations

import json
import logging
import tempfile
from functools import cache
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

MARKER = "<!-- openapi: operations -->"
TYPES_MARKER = "<!-- errors: types -->"
PAGE = "http-api.md"
METHODS = ("get", "post", "put", "patch", "delete")
log = logging.getLogger("mkdocs.hooks.openapi")

Schema = dict[str, Any]
BOUNDS = (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("exclusiveMaximum", "<"))


@cache
def openapi_document() -> Schema:
    """The document `GET /openapi.json` serves, from a server with the default limits."""
    from plasticvision.config import ServerConfig
    from plasticvision.server.app import create_app

    with tempfile.TemporaryDirectory(prefix="plasticvision-docs-") as data_dir:
        return create_app(ServerConfig(engine="dlib", data_dir=data_dir)).openapi()


def on_files(files: Files, config: MkDocsConfig) -> Files:
    document = json.dumps(openapi_document(), indent=2)
    files.append(File.generated(config, "openapi.json", content=document))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    if page.file.src_uri != PAGE:
        return markdown
    for marker in (MARKER, TYPES_MARKER):
        if marker not in markdown:
            log.warning("%s lost its marker %s: that part is not rendered", PAGE, marker)
    return markdown.replace(MARKER, render(openapi_document())).replace(TYPES_MARKER, error_types_table())


def error_types_table() -> str:
    """The error types, their HTTP status and stream close code, from the server's one map."""
    from plasticvision.server.errors import ERROR_TYPES

    rows = [
        f"| `{name}` | {kind.status} | {kind.close_code} | {cell(kind.meaning)} |" for name, kind in ERROR_TYPES.items()
    ]
    return "\n".join(["| type | HTTP status | stream close code | meaning |", "|---|---|---|---|", *rows])


def render(document: Schema) -> str:
    parts = ["## Operations", ""]
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                parts.append(render_operation(method, path, item[method]))
    parts += ["## Schemas", ""]
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        parts.append(render_schema(name, schema))
    return "\n".join(parts)


def render_operation(method: str, path: str, operation: Schema) -> str:
    title = operation.get("summary") or operation.get("operationId", "")
    lines = [f"### `{method.upper()} {path}`", "", f"**{cell(title)}**", ""]
    if operation.get("description"):
        lines += [operation["description"].strip(), ""]
    parameters = operation.get("parameters", [])
    if parameters:
        lines += ["| parameter | in | type | required | description |", "|---|---|---|---|---|"]
        for parameter in parameters:
            lines.append(
                f"| `{parameter['name']}` | {parameter['in']} | {type_of(parameter.get('schema', {}))} | "
                f"{yes(parameter.get('required'))} | {cell(parameter.get('description', ''))} |"
            )
        lines.append("")
    body = operation.get("requestBody")
    if body:
        for media_type, content in body.get("content", {}).items():
            lines += [f"Request body, `{media_type}`{' (required)' if body.get('required') else ''}:", ""]
            lines += fields_table(content.get("schema", {}))
    lines += ["| status | meaning | body |", "|---|---|---|"]
    events: list[str] = []
    responses = operation.get("responses", {})
    successes = {status: response for status, response in responses.items() if int(status) < 400}
    for status, response in successes.items():
        bodies = []
        for media_type, content in response.get("content", {}).items():
            if "itemSchema" in content:
                bodies.append(f"`{media_type}`: a stream of events")
                events += events_list(content["itemSchema"])
            else:
                bodies.append(f"`{media_type}`: {type_of(content.get('schema', {}))}")
        lines.append(f"| {status} | {cell(response.get('description', ''))} | {'<br>'.join(bodies) or '—'} |")
    failures = [status for status in responses if status not in successes]
    if failures:  # each code's meaning and the error types are in the page's Errors section
        bodies = {media_type for status in failures for media_type in responses[status].get("content", {})}
        body = ", ".join(f"`{media_type}`" for media_type in sorted(bodies)) or "—"
        lines.append(f"| {', '.join(failures)} | refusals, see [Errors](#errors) | {body}: [an error](#errors) |")
    lines.append("")
    if events:
        lines += ["Events:", "", *events, ""]
    return "\n".join(lines)


def fields_table(schema: Schema) -> list[str]:
    """A table of an object's fields; a `$ref` is followed to its schema section."""
    schema = resolved(schema)
    properties = schema.get("properties", {})
    if not properties:
        return [type_of(schema), ""]
    required = set(schema.get("required", []))
    lines = ["| field | type | required | description |", "|---|---|---|---|"]
    for name, field in properties.items():
        description = field.get("description") or field.get("title", "")
        lines.append(f"| `{name}` | {type_of(field)} | {yes(name in required)} | {cell(description)} |")
    return [*lines, ""]


def events_list(item: Schema) -> list[str]:
    """One line per event a `text/event-stream` sends: its name and its `data`'s schema."""
    lines = []
    for variant in item.get("oneOf", [item]):
        properties = variant.get("properties", {})
        name = properties.get("event", {}).get("const", "message")
        data = properties.get("data", {})
        shape = type_of(data.get("contentSchema", data))
        meaning = f" — {cell(variant['description'])}" if variant.get("description") else ""
        lines.append(f"- `{name}`: {shape}{meaning}")
    return lines


def render_schema(name: str, schema: Schema) -> str:
    lines = [f"### {name} {{#schema-{anchor(name)}}}", ""]
    if schema.get("description"):
        lines += [cell(schema["description"]), ""]
    return "\n".join(lines + fields_table(schema))


def resolved(schema: Schema) -> Schema:
    """Follow a local `$ref` (the document is FastAPI's: every ref points into components/schemas)."""
    ref = schema.get("$ref")
    if not ref:
        return schema
    return openapi_document()["components"]["schemas"][ref.rsplit("/", 1)[-1]]


def type_of(schema: Schema) -> str:
    """A short, readable type: `integer ≥ 1`, `array of file`, a link to a named schema, ..."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#schema-{anchor(name)})"
    for union in ("anyOf", "oneOf"):
        if union in schema:
            return " or ".join(type_of(option) for option in schema[union])
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    if "enum" in schema:
        return "one of " + ", ".join(f"`{json.dumps(value)}`" for value in schema["enum"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {type_of(schema.get('items', {}))}"
    if kind == "string" and (schema.get("format") == "binary" or "contentMediaType" in schema):
        return "file" if "contentMediaType" not in schema else f"`{schema['contentMediaType']}` file"
    if isinstance(kind, list):
        kind = " or ".join(kind)
    bounds = [
        f"{symbol} {schema[key]}"
        for key, symbol in BOUNDS
        if key in schema
    ]
    if "maxLength" in schema:
        bounds.append(f"at most {schema['maxLength']} characters")
    if "pattern" in schema:
        bounds.append(f"matching `{schema['pattern']}`")
    default = f", default `{json.dumps(schema['default'])}`" if "default" in schema else ""
    return cell(f"{kind}{' ' + ', '.join(bounds) if bounds else ''}{default}")


def anchor(name: str) -> str:
    return name.lower().replace("_", "-")


def cell(text: str) -> str:
    """Text that stays inside one Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def yes(flag: object) -> str:
    return "yes" if flag else "no"
