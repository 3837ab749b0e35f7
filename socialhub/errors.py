"""The error type every layer raises, and the contract's error codes.

Handlers raise these; the HTTP layer turns them into `{"error", "message"}` bodies with the
status, and the WebSocket layer into `error` frames with the code. Nothing else reaches a client.
"""

from __future__ import annotations


class SocialHubError(Exception):
    """An error the client caused or must be told about: an HTTP status and a contract code."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(SocialHubError):
    status = 400
    code = "invalid_request"


class Unauthorized(SocialHubError):
    status = 401
    code = "unauthorized"


class Forbidden(SocialHubError):
    status = 403
    code = "forbidden"


class InvalidToken(InvalidRequest):
    """A mailed one-time token that is unknown, used or expired."""

    code = "invalid_token"


class RegistrationClosed(Forbidden):
    code = "registration_closed"


class InvalidRegistrationToken(Forbidden):
    """A registration token that is unknown, expired or used up."""

    code = "invalid_registration_token"


class EmailNotVerified(Forbidden):
    code = "email_not_verified"


class AccountDisabled(Forbidden):
    """The account was deactivated by an administrator: it cannot log in."""

    code = "account_disabled"


class NotFound(SocialHubError):
    status = 404
    code = "not_found"


class MethodNotAllowed(SocialHubError):
    status = 405
    code = "method_not_allowed"


class RequestTimeout(SocialHubError):
    """A request's headers or body did not arrive in time (a slow or stalled client)."""

    status = 408
    code = "request_timeout"


class UpgradeRequired(SocialHubError):
    """A request to /ws that is not a WebSocket upgrade."""

    status = 426
    code = "upgrade_required"


class Conflict(SocialHubError):
    status = 409
    code = "conflict"


class PayloadTooLarge(SocialHubError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(SocialHubError):
    status = 415
    code = "unsupported_media_type"


class RateLimited(SocialHubError):
    """Too many attempts; `retry_after` is the whole number of seconds to wait."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(SocialHubError):
    """A backing service (the database, the bus) cannot be reached: nothing was done."""

    status = 503
    code = "unavailable"
