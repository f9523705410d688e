"""Receive a multipart/form-data request body straight to disk, in chunks, with constant memory.

Starlette's `request.form()` spools every file to a temporary file before the endpoint runs, so a size
limit could only be checked after the whole body had arrived (and been written twice). This parser feeds
the request stream to python-multipart's push parser and writes the single file part to its final folder
as it arrives, stopping with 413 at the first byte over the limit. A few named small parts (a marker file)
may come either as a file or as a text field; they are kept in memory as bytes, under their own limit.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import anyio
from fastapi import HTTPException, Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import (
    DEFAULT_MAX_HEADER_SIZE,
    MultipartParseError,
    MultipartParser,
    parse_options_header,
)
from starlette.requests import ClientDisconnect

from storage.files import safe_filename, strip_control_characters

log = logging.getLogger(__name__)

#: Bytes buffered in memory before they are written out (the only per-request memory besides small fields).
WRITE_CHUNK = 1 << 20
#: Room for the multipart framing and the option fields on top of the file limit.
FORM_OVERHEAD = 1 << 20
MAX_FIELD_BYTES = 16 << 10
MAX_FIELDS = 20


class UploadRejected(HTTPException):
    """An HTTP error raised while receiving the body (413, 415, 422)."""


@dataclass
class ReceivedForm:
    """The text fields, the small parts (raw bytes, file or text), and the one file part written to `path`
    (`size` bytes, client name `filename`)."""

    fields: dict[str, str] = field(default_factory=dict)
    small: dict[str, bytes] = field(default_factory=dict)
    path: Path | None = None
    filename: str | None = None
    size: int = 0


class _Receiver:
    """python-multipart callbacks: collect small fields in memory, queue file bytes for writing."""

    def __init__(
        self,
        *,
        dest_dir: Path,
        file_field: str,
        max_file_bytes: int,
        limit_message: str,
        small_parts: Mapping[str, int],
    ):
        self.dest_dir, self.file_field, self.small_parts = dest_dir, file_field, small_parts
        self.max_file_bytes, self.limit_message = max_file_bytes, limit_message
        self.form = ReceivedForm()
        self.pending: list[bytes] = []
        self.pending_bytes = 0
        self.file: BinaryIO | None = None
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._part_name: str | None = None
        self._in_file = False
        self._field_value = bytearray()

    # Parser callbacks (synchronous; no I/O here).

    def on_part_begin(self) -> None:
        self._disposition, self._part_name, self._in_file = b"", None, False
        self._field_value = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_name.strip().lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name, self._header_value = b"", b""

    def on_headers_finished(self) -> None:
        _, params = parse_options_header(self._disposition)
        name = params.get(b"name")
        if name is None:
            raise _reject(422, "a form part has no name")
        self._part_name = name.decode("utf-8", "replace")
        if self._part_name in self.small_parts:
            if self._part_name in self.form.small:
                raise _reject(422, f"send at most one {self._part_name!r} part")
            return
        if b"filename" not in params:
            if len(self.form.fields) >= MAX_FIELDS:
                raise _reject(422, "too many form fields")
            return
        if self._part_name != self.file_field:
            raise _reject(
                422, f"unexpected file field {self._part_name!r}; send the file as {self.file_field!r}"
            )
        if self.form.path is not None:
            raise _reject(422, "send exactly one file per request")
        self.form.filename = strip_control_characters(params[b"filename"].decode("utf-8", "replace"))
        self.form.path = self.dest_dir / safe_filename(self.form.filename)
        self._in_file = True

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self.form.size += end - start
            if self.form.size > self.max_file_bytes:
                raise _reject(413, self.limit_message)
            self.pending.append(data[start:end])
            self.pending_bytes += end - start
        elif self._part_name in self.small_parts:
            self._field_value += data[start:end]
            limit = self.small_parts[self._part_name]
            if len(self._field_value) > limit:
                raise _reject(413, f"the {self._part_name!r} part exceeds the limit of {limit / 1024:g} kB")
        else:
            self._field_value += data[start:end]
            if len(self._field_value) > MAX_FIELD_BYTES:
                raise _reject(422, f"form field {self._part_name!r} is too long")

    def on_part_end(self) -> None:
        if self._part_name in self.small_parts:
            self.form.small[self._part_name] = bytes(self._field_value)
        elif not self._in_file and self._part_name is not None:
            value = self._field_value.decode("utf-8", "replace")
            self.form.fields[self._part_name] = strip_control_characters(value)

    def callbacks(self) -> dict:
        return {
            name: getattr(self, name)
            for name in (
                "on_part_begin",
                "on_header_field",
                "on_header_value",
                "on_header_end",
                "on_headers_finished",
                "on_part_data",
                "on_part_end",
            )
        }

    # File writes happen in a worker thread, outside the event loop.

    async def flush(self, force: bool = False) -> None:
        if not self.pending or (self.pending_bytes < WRITE_CHUNK and not force):
            return
        data = b"".join(self.pending)
        self.pending, self.pending_bytes = [], 0
        if self.file is None:
            assert self.form.path is not None
            self.file = await anyio.to_thread.run_sync(self.form.path.open, "wb")
        await anyio.to_thread.run_sync(self.file.write, data)

    async def close(self) -> None:
        if self.file is not None:
            await anyio.to_thread.run_sync(self.file.close)
            self.file = None


def multipart_openapi(file_description: str, **fields: dict) -> dict:
    """`openapi_extra` for a route that reads its multipart form by hand (streamed, not buffered)."""
    properties = {"file": {"type": "string", "format": "binary", "description": file_description}, **fields}
    schema = {"type": "object", "required": ["file"], "properties": properties}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}


def _reject(code: int, detail: str) -> UploadRejected:
    return UploadRejected(status_code=code, detail=detail)


def _parse_error(exc: FormParserError) -> UploadRejected:
    """A 422 that says what is wrong with the body, rather than only that it is malformed."""
    if isinstance(exc, MultipartParseError) and "header size" in str(exc):
        return _reject(
            422,
            f"a form part's header is longer than {DEFAULT_MAX_HEADER_SIZE} bytes "
            "(is the file name that long? send a shorter one)",
        )
    return _reject(422, f"malformed multipart body ({exc})")


async def _chunks(request: Request, idle_timeout_s: float) -> AsyncIterator[bytes]:
    """The request body; 408 when the client sends nothing for `idle_timeout_s` (a stalled upload)."""
    stream = request.stream().__aiter__()
    while True:
        try:
            with anyio.fail_after(idle_timeout_s):
                chunk = await anext(stream)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise _reject(408, f"the upload stalled: no data for {idle_timeout_s:g} s") from None
        yield chunk


async def receive_form(
    request: Request,
    *,
    dest_dir: Path,
    file_field: str,
    max_file_bytes: int,
    limit_message: str,
    idle_timeout_s: float,
    small_parts: Mapping[str, int] | None = None,
) -> ReceivedForm:
    """Parse the request body; the file part lands in `dest_dir` (which the caller creates and removes);
    `small_parts` maps the names of parts kept in memory (`ReceivedForm.small`) to their limits in bytes.

    Raises `UploadRejected`: 415 (not multipart), 413 (file over `max_file_bytes`, judged from
    Content-Length before reading when possible, or a small part over its limit), 408 (no data for
    `idle_timeout_s`), 422 (malformed form, no file, several files), 400 (the client went away mid-upload;
    logged as one INFO line, since nobody is left to answer).
    """
    content_type, params = parse_options_header(request.headers.get("content-type"))
    if content_type != b"multipart/form-data" or b"boundary" not in params:
        raise _reject(415, f"send multipart/form-data with the file in a part named {file_field!r}")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_file_bytes + FORM_OVERHEAD:
        raise _reject(413, limit_message)
    receiver = _Receiver(
        dest_dir=dest_dir,
        file_field=file_field,
        max_file_bytes=max_file_bytes,
        limit_message=limit_message,
        small_parts=small_parts or {},
    )
    try:
        parser = MultipartParser(params[b"boundary"], receiver.callbacks())
        async for chunk in _chunks(request, idle_timeout_s):
            parser.write(chunk)
            await receiver.flush()
        parser.finalize()
        await receiver.flush(force=True)
        if receiver.form.path is not None and receiver.file is None:  # an empty file part
            await anyio.to_thread.run_sync(receiver.form.path.write_bytes, b"")
    except FormParserError as exc:
        raise _parse_error(exc) from None
    except ClientDisconnect:
        log.info(
            "upload to %s aborted by the client after %d bytes of the file",
            request.url.path,
            receiver.form.size,
        )
        raise _reject(400, "the client closed the connection before the upload was complete") from None
    except UploadRejected as exc:
        if exc.status_code == 408:
            log.info("upload to %s stalled after %d bytes of the file", request.url.path, receiver.form.size)
        raise
    finally:
        await receiver.close()
    if receiver.form.path is None:
        raise _reject(422, f"no file in the form part {file_field!r}")
    return receiver.form
