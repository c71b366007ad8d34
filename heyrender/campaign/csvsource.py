"""Reading the recipients CSV: UTF-8 (BOM or not), any newline style, rows with their lines."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from heyrender.campaign.paths import PathRefused, open_regular
from heyrender.errors import CsvError, excerpt, shorten

MAX_CELL = 16 * 1024 * 1024  # characters: a script is far shorter; Python's default is 128 Ki
csv.field_size_limit(MAX_CELL)  # once, at import: forked validation workers inherit it


def first_undecodable(path: Path) -> tuple[int, int]:
    """The physical line and value of the first byte that is not UTF-8."""
    with open_regular(path) as raw:
        for number, line in enumerate(raw, 1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                return number, line[exc.start]
    return 0, 0


@dataclass(frozen=True)
class Span:
    """Bytes [start, end) of a CSV, starting at a record boundary on physical line `line`."""

    start: int
    end: int
    line: int


class SpanReader(io.RawIOBase):
    """A file's bytes from one offset up to another, as a raw stream."""

    def __init__(self, path: Path, span: Span) -> None:
        self._raw = open_regular(path)
        self._raw.seek(span.start)
        self._left = span.end - span.start

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = min(len(buffer), self._left)
        data = self._raw.read(size)
        buffer[: len(data)] = data
        self._left -= len(data)
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()


@dataclass(frozen=True)
class Row:
    line: int
    values: dict[str, str]
    width: int


def open_text(path: Path, span: Span | None) -> io.TextIOBase:
    encoding = "utf-8-sig" if span is None or span.start == 0 else "utf-8"
    if span is None:
        return io.TextIOWrapper(open_regular(path), encoding=encoding, newline="")
    raw = io.BufferedReader(SpanReader(path, span))
    return io.TextIOWrapper(raw, encoding=encoding, newline="")


class CsvSource:
    """A CSV opened for one pass: the header is read at once, rows on iteration."""

    def __init__(self, path: Path, span: Span | None = None) -> None:
        self.path = path
        try:
            self._file = open_text(path, span)
        except PathRefused as exc:
            raise CsvError(path, str(exc)) from None
        self._reader = csv.reader(self._file, strict=True)
        self._line_offset = 0
        try:
            if span is None or span.start == 0:
                self.header = self._read_header()
            else:
                with CsvSource(path) as whole:
                    self.header = whole.header
                self._line_offset = span.line - 1
        except BaseException:
            self._file.close()
            raise

    def _read_header(self) -> list[str]:
        header = self._next()
        if header is None or not any(name.strip() for name in header):
            raise CsvError(self.path, "is empty; its first line must name the columns")
        header = [name.strip() for name in header]
        seen: set[str] = set()
        for name in header:
            if name in seen:
                raise CsvError(
                    self.path, f"column {excerpt(name)} appears twice in the header", line=1
                )
            seen.add(name)
        return header

    def _next(self) -> list[str] | None:
        try:
            return next(self._reader)
        except StopIteration:
            return None
        except UnicodeDecodeError:
            line, byte = first_undecodable(self.path)
            raise CsvError(
                self.path,
                f"is not UTF-8 text (byte 0x{byte:02x} cannot be decoded); save it as UTF-8",
                line=line,
            ) from None
        except csv.Error as exc:
            if "field limit" in str(exc):
                raise self._oversized() from None
            raise CsvError(
                self.path,
                f"malformed CSV: {shorten(str(exc), 120)}",
                line=self._reader.line_num + self._line_offset,
            ) from None

    def _oversized(self) -> CsvError:
        """The error for a cell past MAX_CELL, naming its line and column (found by reading
        the file again without the limit: only on this error)."""
        line, column = self._reader.line_num + self._line_offset, None
        csv.field_size_limit(2**31 - 1)
        try:
            with open_text(self.path, None) as text:
                reader = csv.reader(text)
                header: list[str] = []
                start = 1
                for fields in reader:
                    header = header or fields
                    long = [i for i, cell in enumerate(fields) if len(cell) > MAX_CELL]
                    if long:
                        line = start
                        index = long[0]
                        column = header[index].strip() if index < len(header) else None
                        break
                    start = reader.line_num + 1
        except (OSError, csv.Error, UnicodeDecodeError):
            pass
        finally:
            csv.field_size_limit(MAX_CELL)
        where = f" in column {excerpt(column)}" if column else ""
        return CsvError(
            self.path, f"a cell{where} is longer than {MAX_CELL:,} characters", line=line
        )

    def __iter__(self) -> Iterator[Row]:
        header, width, offset = self.header, len(self.header), self._line_offset + 1
        reader = self._reader
        line = reader.line_num + offset
        while (fields := self._next()) is not None:
            if fields:
                values = dict(zip(header, fields, strict=False))
                if len(fields) < width:
                    values.update(dict.fromkeys(header[len(fields) :], ""))
                yield Row(line, values, len(fields))
            line = reader.line_num + offset

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> CsvSource:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
