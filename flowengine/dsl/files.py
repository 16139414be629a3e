"""Reading what a user names: files, standard input and JSON text, bounded and strict.

Every place that reads a user's file goes through :func:`read_bytes` (app files and ASL
definitions, ``definition_file:``, MockConfigFiles, ``--input @file``, ``--event``,
``--object``, ``graph --path``), so one rule holds everywhere:

* only **regular files** are read.  A device (``/dev/zero``), a FIFO or a socket has no end
  and no size, so it is refused before it is opened (and again after, on the open file, in
  case the path was swapped in between); opening never blocks (``O_NONBLOCK``);
* the **bytes actually read** are capped: a file that is larger than the limit, or grows past
  it while it is read (``/proc`` files report a size of 0), is refused, never buffered whole.

Every JSON document a user gives (definitions, inputs, events, mock configurations, option
values) is parsed by :func:`loads`, which refuses what AWS's JSON parsers refuse and Python's
``json`` module lets through or crashes on:

* ``NaN``, ``Infinity`` and ``-Infinity`` (not JSON: RFC 8259 numbers are finite), and numbers
  too large for a double (``1e400``), which Python would read as infinity;
* integers of more digits than Python converts (``sys.get_int_max_str_digits()``, 4,300 by
  default), which raise a bare ``ValueError`` in :func:`json.loads`.  AWS's own services bound
  JSON integers far lower (EventBridge's PutEvents takes 64-bit integers);
* lone UTF-16 surrogates (``"\\ud800"``): they are not Unicode text, cannot be written as UTF-8,
  and crashed later, far from the input.

Each refusal is a :class:`json.JSONDecodeError` (so a ``ValueError``) with the line and column
of the offending text, and nesting too deep for the parser stays a ``RecursionError``, as
from :func:`json.loads`: callers keep their existing handlers.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import sys
from collections.abc import Callable
from typing import IO, Any

from flowengine.errors import FlowengineError

#: The most bytes read from one file (or standard input) unless a caller says otherwise: a
#: definition is at most 1 MiB on AWS and an app file embeds several; an execution input or
#: an event is at most 256 KiB.
MAX_FILE_BYTES = 8 * 1024 * 1024
#: The most bytes read from an ``--object`` file (the S3 object an event names).
MAX_OBJECT_BYTES = 64 * 1024 * 1024

_CHUNK = 1024 * 1024


class FileProblem(FlowengineError):
    """A file that cannot be read as asked, with a diagnostic code.

    ``code`` is ``FE101`` (missing, a directory, not a regular file, unreadable), ``FE102``
    (binary or not UTF-8) or ``FE103`` (over the size limit); ``problem`` says what is wrong
    without naming the file (callers prefix their own wording), ``line`` locates a decoding
    error, and ``hint`` says what to do.
    """

    def __init__(self, path: str, code: str, problem: str, *, line: int = 1, hint: str | None = None) -> None:
        self.path, self.code, self.problem, self.line, self.hint = path, code, problem, line, hint
        super().__init__(f"{path}: {problem}")


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _mib(n: int) -> str:
    return f"{n // 1048576} MiB" if n % 1048576 == 0 else f"{n} bytes"


def _too_large(path: str, limit: int, size: int | None) -> FileProblem:
    said = f"file is {size / 1048576:.1f} MiB" if size is not None else "file is larger"
    return FileProblem(path, "FE103", f"{said}; the limit is {_mib(limit)}",
                       hint="an ASL definition is at most 1 MiB on AWS, an input or event 256 KiB")


def read_bytes(path: str | os.PathLike[str], *, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; :class:`FileProblem` otherwise."""
    name = os.fsdecode(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileProblem(name, "FE101", "file not found", hint="check the path") from None
    except OSError as exc:
        raise FileProblem(name, "FE101", f"cannot read file: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise FileProblem(name, "FE101", "is a directory, not a file", hint="name a file")
    if not stat.S_ISREG(st.st_mode):
        raise FileProblem(name, "FE101", f"is {_kind(st.st_mode)}, not a regular file",
                          hint="flowengine reads regular files only: a device or a pipe has no end")
    if st.st_size > limit:
        raise _too_large(name, limit, st.st_size)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise FileProblem(name, "FE101", f"cannot read file: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):  # swapped for something else since the stat above
            raise FileProblem(name, "FE101", f"is {_kind(mode)}, not a regular file",
                              hint="flowengine reads regular files only: a device or a pipe has no end")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = _read_capped(fh, limit)
    except OSError as exc:
        raise FileProblem(name, "FE101", f"cannot read file: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if data is None:
        raise _too_large(name, limit, None)
    return data


def _read_capped(fh: IO[bytes], limit: int) -> bytes | None:
    """At most ``limit`` bytes from ``fh``; None when there are more."""
    parts: list[bytes] = []
    total = 0
    while total <= limit:
        chunk = fh.read(min(_CHUNK, limit + 1 - total))
        if not chunk:
            return b"".join(parts)
        parts.append(chunk)
        total += len(chunk)
    return None


def read_stream(stream: IO[Any], *, limit: int = MAX_FILE_BYTES, name: str = "standard input") -> bytes:
    """At most ``limit`` bytes from an open stream (standard input: ``cmd - < /dev/zero`` ends
    here too); :class:`FileProblem` ``FE103`` when it holds more."""
    binary = getattr(stream, "buffer", stream)
    try:
        data = _read_capped(binary, limit)
    except OSError as exc:
        raise FileProblem(name, "FE101", f"cannot read: {exc.strerror or exc}") from None
    if data is None:
        raise FileProblem(name, "FE103", f"more than the {_mib(limit)} limit")
    if isinstance(data, str):  # a text stream without a buffer (a test's StringIO)
        return data.encode("utf-8", "surrogateescape")
    return data


def decode_text(data: bytes, name: str) -> str:
    """UTF-8 text (a leading BOM dropped); :class:`FileProblem` ``FE102`` for binary data."""
    if b"\x00" in data[:8192]:
        raise FileProblem(name, "FE102", "binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileProblem(name, "FE102", f"not UTF-8 text (byte 0x{data[exc.start]:02x})", line=line) from None


def read_text(path: str | os.PathLike[str], *, limit: int = MAX_FILE_BYTES) -> str:
    """A regular file of at most ``limit`` bytes as UTF-8 text; :class:`FileProblem` otherwise."""
    return decode_text(read_bytes(path, limit=limit), os.fsdecode(path))


# -- strict JSON ---------------------------------------------------------------------------


class _Refused(Exception):
    def __init__(self, what: str) -> None:
        self.what = what


def _refuse_constant(name: str) -> Any:
    raise _Refused("constant")


def _parse_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _Refused("float")
    return value


def _parse_int(text: str) -> int:
    limit = sys.get_int_max_str_digits()
    if limit and len(text.lstrip("-")) > limit:
        raise _Refused("int")
    return int(text)


# Strings are consumed whole, so a match of the second group stands outside any string.
_BARE_CONSTANT = re.compile(r'"(?:[^"\\]|\\.)*"|(-?(?:NaN|Infinity))')
_BARE_NUMBER = re.compile(r'"(?:[^"\\]|\\.)*"|(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)')
_ESCAPED_SURROGATE = re.compile(r"\\\\|(\\u[dD][89abAB][0-9a-fA-F]{2})(\\u[dD][c-fC-F][0-9a-fA-F]{2})?"
                                r"|(\\u[dD][c-fC-F][0-9a-fA-F]{2})")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _error(message: str, text: str, pos: int) -> json.JSONDecodeError:
    return json.JSONDecodeError(message, text, max(0, min(pos, len(text))))


def _locate_number(text: str, accept: Callable[[str], bool]) -> tuple[int, str]:
    for m in _BARE_NUMBER.finditer(text):
        if m.group(1) and accept(m.group(1)):
            return m.start(1), m.group(1)
    return 0, ""


def _lone_surrogate(text: str) -> tuple[int, str] | None:
    """Where the first lone surrogate of JSON text stands (raw, or as a ``\\u`` escape)."""
    m = _SURROGATE.search(text)
    raw = (m.start(), f"U+{ord(m.group()):04X}") if m else None
    for e in _ESCAPED_SURROGATE.finditer(text):
        if raw is not None and e.start() > raw[0]:
            break
        if e.group(1) and not e.group(2):
            return e.start(), e.group(1)
        if e.group(3):
            return e.start(), e.group(3)
    return raw


def loads(text: str | bytes | bytearray, *, object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None
          ) -> Any:
    """Parse JSON text as AWS does: :func:`json.loads`, refusing ``NaN``/``Infinity``, numbers
    out of a double's range, integers of more digits than Python converts, and lone
    surrogates, each as a located :class:`json.JSONDecodeError`."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise json.JSONDecodeError(f"not UTF-8 text (byte 0x{text[exc.start]:02x})", "", 0) from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_parse_float, parse_int=_parse_int,
                           object_pairs_hook=object_pairs_hook)
    except _Refused as exc:
        if exc.what == "constant":
            m = next((m for m in _BARE_CONSTANT.finditer(text) if m.group(1)), None)
            name = m.group(1) if m else "NaN"
            raise _error(f"{name} is not a JSON number (JSON numbers are finite)", text,
                         m.start(1) if m else 0) from None
        if exc.what == "float":
            pos, number = _locate_number(text, lambda n: not n.lstrip("-").isdigit() and math.isinf(float(n)))
            raise _error(f"the number {number[:20]}{'...' if len(number) > 20 else ''} is out of range "
                         "(larger than a double)", text, pos) from None
        limit = sys.get_int_max_str_digits()
        pos, number = _locate_number(text, lambda n: len(n.lstrip("-")) > limit and n.lstrip("-").isdigit())
        raise _error(f"an integer of {len(number.lstrip('-')) or 'more than ' + str(limit)} digits is too large "
                     f"(at most {limit} digits)", text, pos) from None
    if text.isascii() and "\\u" not in text:
        return value
    found = _lone_surrogate(text)
    if found is not None:
        pos, shown = found
        raise _error(f"a lone surrogate ({shown}) is not Unicode text", text, pos)
    return value


__all__ = ["MAX_FILE_BYTES", "MAX_OBJECT_BYTES", "FileProblem", "decode_text", "loads",
           "read_bytes", "read_stream", "read_text"]
