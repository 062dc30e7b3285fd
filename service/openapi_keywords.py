"""How the OpenAPI document publishes the keywords a field takes instead of a value ("auto", "all-linear").

Litestar writes a one-value Literal as `const`; inside a oneOf (`integer` or "auto"), openapi-python-client then
generates a parser that refuses every other member's values, so the generated client could not read a job whose
`batch_size` was resolved to 2. Published as an enum of one value, the client tries each member in turn.
"""

from typing import Any

from litestar.openapi.spec import OpenAPIType, Schema
from litestar.plugins import OpenAPISchemaPlugin
from litestar.typing import FieldDefinition

from jobs.spec import KEYWORDS


class KeywordsAsEnums(OpenAPISchemaPlugin):
    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        return field_definition.is_literal and len(field_definition.args) == 1 and field_definition.args[0] in KEYWORDS

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        return Schema(type=OpenAPIType.STRING, enum=[field_definition.args[0]])
