"""Bearer API keys → tenant. A request without a valid key never reaches a handler."""

import hmac

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from service.errors import AuthenticationFailed

PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/schema", "/schema/openapi.json"})


def tenant_for_key(api_key: str, tenants_by_key: dict[str, str]) -> str | None:
    # Compare against every key in constant time, so timing does not reveal a key prefix.
    found = None
    for key, tenant in tenants_by_key.items():
        if hmac.compare_digest(key.encode(), api_key.encode()):
            found = tenant
    return found


def authenticate(connection: ASGIConnection, tenants_by_key: dict[str, str]) -> str:
    header = connection.headers.get("authorization", "")
    scheme, _, api_key = header.partition(" ")
    if scheme.lower() != "bearer" or not api_key.strip():
        raise AuthenticationFailed("missing API key: send `Authorization: Bearer <key>`")
    tenant = tenant_for_key(api_key.strip(), tenants_by_key)
    if tenant is None:
        raise AuthenticationFailed("invalid API key")
    return tenant


def require_api_key(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Litestar guard: stores the caller's tenant in `connection.state.tenant`."""
    if connection.scope["path"] in PUBLIC_PATHS:
        return
    connection.state.tenant = authenticate(connection, connection.app.state.settings.tenants_by_key)
