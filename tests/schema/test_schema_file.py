"""The checked-in schema.graphql is the schema the gateway serves (``hookgate schema``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    build_schema,
    print_schema,
)

from schema.schema import print_sdl

ROOT = Path(__file__).resolve().parents[2]


def test_checked_in_schema_equals_hookgate_schema_output() -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "gateway", "schema"], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert printed == (ROOT / "schema.graphql").read_text(encoding="utf-8"), "run `make schema` and commit it"
    assert printed == print_sdl()


def without_descriptions(sdl: str) -> str:
    """``sdl`` printed without its descriptions: fields and their arguments on one line each, as CONTRACT.md shows
    them (an argument with a description is printed on a line of its own)."""
    schema = build_schema(sdl)
    for named in schema.type_map.values():
        named.description = None
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            for field in named.fields.values():
                field.description = None
                for argument in field.args.values():
                    argument.description = None
        elif isinstance(named, GraphQLInputObjectType):
            for input_field in named.fields.values():
                input_field.description = None
        elif isinstance(named, GraphQLEnumType):
            for value in named.values.values():
                value.description = None
    return print_schema(schema)


def test_schema_has_every_contract_name() -> None:
    sdl = without_descriptions(print_sdl())
    for name in (
        "enum Provider",
        "enum Capability",
        "enum CircuitState",
        "interface Node",
        "type Webhook implements Node",
        "type WorkflowRequest implements Node",
        "type WorkflowAction implements Node",
        "type InboundEvent implements Node",
        "webhooks(source: String",
        "deliveryLog(",
        "first: Int = 20",
        "createRequest(input: CreateRequestInput!): CreateRequestPayload!",
        "startFlows(input: StartFlowsInput!): StartFlowsPayload!",
        "events(source: String",
        "input WebhookAuthorizationInput @oneOf",
    ):
        assert name in sdl, name
