"""The one field of a `multipart/form-data` upload that socialhub reads: `file`.

Written on `bytes.find` rather than the email parser: the email parser splits a body into lines
in Python, so a 5 MiB body made of line breaks costs seconds of CPU under the GIL; finding the
boundaries costs milliseconds whatever the bytes are. The site does not let twisted.web parse
forms (it would do it on the reactor thread, for every path).
"""

from __future__ import annotations

from collections.abc import Iterator
from email.message import Message

from socialhub.errors import InvalidRequest

FIELD = "file"
_CRLF = b"\r\n"


def boundary(content_type: str) -> bytes:
    """The boundary parameter of a multipart Content-Type (RFC 2046: 1-70 characters)."""
    header = Message()
    header["content-type"] = content_type
    value = header.get_param("boundary")
    if not isinstance(value, str) or not 1 <= len(value) <= 70 or not value.isascii():
        raise InvalidRequest("the multipart body has no valid boundary")
    return value.encode("ascii")


def file_field(body: bytes, content_type: str) -> bytes:
    """The content of the first part named `file`; 400 when there is none or the body is broken."""
    for headers, content in _parts(body, boundary(content_type)):
        if _field_name(headers) == FIELD:
            return content
    raise InvalidRequest(f"the multipart body has no `{FIELD}` field")


def _parts(body: bytes, separator: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(headers, content) of each part between the delimiters, up to the closing one."""
    delimiter = b"--" + separator
    start = body.find(delimiter)
    if start < 0 or (start > 0 and body[start - 2 : start] != _CRLF):
        raise InvalidRequest("the multipart body does not start with its boundary")
    position = start + len(delimiter)
    while not body.startswith(b"--", position):  # "--boundary--" closes the body
        if not body.startswith(_CRLF, position):
            raise InvalidRequest("the multipart body is malformed")
        end = body.find(_CRLF + delimiter, position)
        if end < 0:
            raise InvalidRequest("the multipart body is incomplete")
        yield _split_part(body[position + 2 : end])
        position = end + 2 + len(delimiter)


def _split_part(part: bytes) -> tuple[bytes, bytes]:
    """A part's header block and its content (a part may have no headers at all)."""
    if part.startswith(_CRLF):
        return b"", part[2:]
    headers, separator, content = part.partition(_CRLF + _CRLF)
    if not separator:
        raise InvalidRequest("a multipart part has no end of headers")
    return headers, content


def _field_name(headers: bytes) -> str | None:
    """The `name` of a part's Content-Disposition (RFC 7578), if it has one."""
    for line in headers.decode("latin-1").split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-disposition":
            header = Message()
            header["content-disposition"] = value.strip()
            field = header.get_param("name", header="content-disposition")
            return field if isinstance(field, str) else None
    return None
