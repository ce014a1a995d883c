"""GraphiQL served entirely by the app: Strawberry's page with its CDN scripts replaced by
copies vendored in ``opsknight/static/graphiql`` (the same files, checked by the same
subresource-integrity hashes), so the IDE works on a machine without internet."""

from __future__ import annotations

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from strawberry.http.ides import get_graphql_ide_html

ASSETS = Path(__file__).resolve().parent.parent / "static" / "graphiql"
ASSET_PATH = "/graphql/assets"

# Each CDN address in Strawberry's page, and the vendored file that replaces it.
_VENDORED = {
    "https://unpkg.com/react@18.2.0/umd/react.production.min.js": "react-18.2.0.production.min.js",
    "https://unpkg.com/react-dom@18.2.0/umd/react-dom.production.min.js":
        "react-dom-18.2.0.production.min.js",
    "https://unpkg.com/js-cookie@3.0.5/dist/js.cookie.min.js": "js.cookie-3.0.5.min.js",
    "https://unpkg.com/graphiql@3.8.3/graphiql.min.css": "graphiql-3.8.3.min.css",
    "https://unpkg.com/graphiql@3.8.3/graphiql.min.js": "graphiql-3.8.3.min.js",
    "https://unpkg.com/@graphiql/plugin-explorer@1.0.2/dist/style.css":
        "plugin-explorer-1.0.2.css",
    "https://unpkg.com/@graphiql/plugin-explorer@1.0.2/dist/index.umd.js":
        "plugin-explorer-1.0.2.umd.js",
}  # fmt: skip


def page_html() -> str:
    """Strawberry's GraphiQL page pointing at the vendored files (relative to /graphql)."""
    html = get_graphql_ide_html("graphiql")
    for remote, local in _VENDORED.items():
        if remote not in html:
            # A Strawberry upgrade changed the page: vendor its new files.
            raise RuntimeError(f"GraphiQL page no longer loads {remote}")
        html = html.replace(remote, f"{ASSET_PATH.lstrip('/')}/{local}")
    html = html.replace("crossorigin\n", "\n")
    if "https://" in html.replace("https://github.com", ""):
        raise RuntimeError("GraphiQL page still loads something from the internet")
    return html


async def asset(request: Request) -> Response:
    """One vendored file; names are versioned, so a browser may keep it for a year."""
    name = request.path_params["name"]
    if name not in _VENDORED.values():
        raise HTTPException(404)
    return FileResponse(
        ASSETS / name, headers={"Cache-Control": "public, max-age=31536000, immutable"}
    )
