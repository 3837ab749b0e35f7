"""The reports route: any signed-in user reports a post, comment, message or user."""

from __future__ import annotations

from socialhub.handlers.reports import Reports
from socialhub.http.api import Api, Call, Reply
from socialhub.http.rest import bodies


def register_routes(api: Api, reports: Reports) -> None:
    @api.route("/api/reports", "POST", ok=201, body=bodies.file_report)
    async def file_report(call: Call) -> Reply:
        report = bodies.file_report(call.body)
        report_id = await reports.file(call.user_viewer.user, report)
        return Reply(body={"id": report_id}, status=201)
