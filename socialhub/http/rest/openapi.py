"""The route of the API's own description: GET /api/openapi.json (no session; it is public)."""

from __future__ import annotations

from socialhub.http.api import Api, Call, Reply
from socialhub.http.openapi import document

# The document changes only with the server's version: caches may keep it for a while.
CACHE = "public, max-age=300"


def register_routes(api: Api) -> None:
    @api.route("/api/openapi.json", "GET", auth=False)
    async def openapi_document(call: Call) -> Reply:
        return Reply(body=document(api), headers={"cache-control": CACHE})
