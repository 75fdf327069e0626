"""A contract CSV file as text: decoded, checked for structure, cut into rows or columns.

`csvio` reads files through here. Rows come from the csv module (`parse_rows`), which
knows quoting and names the line of a syntax error. Most files have no quote character
at all: for those, `split_columns` cuts the text with `str.split` straight into columns
(a million rows in a fraction of the time `csv.reader` takes to build a list per row),
giving the cells, lines and blank-row handling the csv module gives; any file it is not
sure of (a quote, a bare CR, a line past the csv field limit) goes through the csv
module instead.
"""

from __future__ import annotations

import csv
import io
import itertools
from dataclasses import dataclass
from pathlib import Path

from ceasewatch.errors import InvalidInput, Problem
from ceasewatch.records._csvbytes import Cells, body_cells

__all__ = [
    "Grid", "blank", "decode", "line_at", "no_edge_blanks", "parse_rows", "read_grid",
    "read_text", "split_columns",
]  # fmt: skip

#: Largest CSV file read in one go (bytes); a larger one is refused with advice.
MAX_FILE_BYTES = 1 << 30

# The ASCII characters str.strip() removes (besides the line breaks, which end a row).
_ASCII_BLANKS = [bytes([c]) for c in b" \t\x0b\x0c\x1c\x1d\x1e\x1f"]
_BOM = b"\xef\xbb\xbf"


def line_at(data: bytes | str, offset: int) -> int:
    """The 1-based line of `offset`, counting CRLF, CR and LF breaks as the csv reader does."""
    head = data[:offset]
    if isinstance(head, bytes):
        return head.count(b"\n") + head.count(b"\r") - head.count(b"\r\n") + 1
    return head.count("\n") + head.count("\r") - head.count("\r\n") + 1


def decode(path: Path, max_bytes: int = MAX_FILE_BYTES) -> str:
    """The file's text (UTF-8, a BOM dropped); refused whole if it is no such text."""
    return read_text(path, max_bytes)[0]


def read_text(path: Path, max_bytes: int = MAX_FILE_BYTES) -> tuple[str, bytes]:
    """`decode`, and the bytes it decoded."""
    data = _read_bytes(path, max_bytes)
    return _decoded(path, data), data


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(
            f"{path}: cannot read ({exc.strerror})", [Problem(str(path), "cannot be read")]
        ) from exc
    if size > max_bytes:
        raise InvalidInput(
            f"{path}: {size} bytes is larger than {max_bytes}; split it",
            [Problem(str(path), f"{size} bytes; split it into files under {max_bytes}")],
        )
    return data


def _decoded(path: Path, data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = line_at(data, exc.start)
        raise InvalidInput(
            f"{path}:{line}: not UTF-8 (byte {exc.start}); save the file as UTF-8 CSV",
            [
                Problem(
                    f"{path}:{line}",
                    f"byte 0x{data[exc.start]:02x} (offset {exc.start}) is not UTF-8; "
                    "save the file as UTF-8 CSV (Excel: 'CSV UTF-8')",
                )
            ],
        ) from None
    nul = text.find("\x00")
    if nul >= 0:
        line = line_at(text, nul)
        raise InvalidInput(
            f"{path}:{line}: contains a NUL character; nothing was loaded",
            [
                Problem(
                    f"{path}:{line}",
                    "contains a NUL character: the file is not UTF-8 text (UTF-16? "
                    "a spreadsheet or binary file?); save it as UTF-8 CSV",
                )
            ],
        )
    return text


def _csv_error_text(exc: csv.Error) -> str:
    msg = str(exc)
    if "unexpected end of data" in msg:
        return "a quoted field that starts on this line is never closed (is the file truncated?)"
    if "field larger than field limit" in msg:
        return f"a field is too long ({msg}); is a closing quote missing?"
    return f'not valid CSV ({msg}); a quote inside a quoted field must be doubled ("")'


def parse_rows(path: Path, text: str) -> list[tuple[int, list[str]]]:
    """Every row with the line it starts on; a CSV syntax error refuses the whole file.

    After a syntax error the csv reader restarts at the next physical line, which may be in
    the middle of a quoted field: rows read after that point cannot be trusted, so a file
    with one is never loaded in part, whatever `on_error` says.
    """
    try:
        every = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error:
        every = None  # read again below, row by row, to find the line
    if every is not None:
        # When there are as many rows as lines, no row spans two: row k is on line k + 1.
        lines = text.count("\n") + text.count("\r") - text.count("\r\n")
        lines += 1 if text and not text.endswith(("\n", "\r")) else 0
        if len(every) == lines:
            return list(enumerate(every, start=1))
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return rows
        except csv.Error as exc:
            raise InvalidInput(
                f"{path}:{line}: not valid CSV; nothing was loaded",
                [Problem(f"{path}:{line}", _csv_error_text(exc))],
            ) from None
        rows.append((line, row))


def blank(row: list[str]) -> bool:
    """A row of empty (or all-blank) cells: skipped without a word, as an empty line is."""
    return not "".join(row).strip()


@dataclass(frozen=True, slots=True)
class Grid:
    """A CSV file's header row and, as columns, the body rows that have as many cells.

    Attributes:
        columns: one list of raw (unstripped) cells per header cell; row k of every
            column is the row on `lines[k]`. Blank rows are left out.
        misfits: (line, number of cells) of each non-blank row with another width.
        rows_read: the non-blank rows after the header (fitting or not).
        plain: no cell has a blank at either end (stripping would change nothing);
            False when that was not looked at.
    """

    header_line: int
    header: list[str]
    lines: range | list[int]
    columns: list[list[str]]
    misfits: list[tuple[int, int]]
    rows_read: int
    plain: bool
    #: The body as byte offsets, when it is plain (then `columns` is empty: see `row`).
    cells: Cells | None = None

    def row(self, k: int) -> list[str]:
        """The raw cells of fitting row k."""
        if self.cells is not None:
            return self.cells.row(k)
        return [col[k] for col in self.columns]


def read_grid(path: Path, max_bytes: int = MAX_FILE_BYTES) -> Grid | None:
    """`split_columns` of the file's text (refused as `decode` refuses it).

    A file of plain ASCII bytes (after a BOM) is its own text: its cells are read from
    the bytes without decoding them first.
    """
    data = _read_bytes(path, max_bytes)
    body = data[len(_BOM) :] if data.startswith(_BOM) else data
    if body.isascii():
        grid = _plain_grid(body)
        if grid is not None:
            return grid
    return split_columns(path, _decoded(path, data))


def split_columns(path: Path, text: str) -> Grid | None:
    """The file's header and body columns (None: there is no non-blank row at all).

    Raises:
        InvalidInput: the text is not valid CSV (only files with a quote can fail so).
    """
    plain = text
    if "\r" in text:
        if text.count("\r") != text.count("\r\n"):
            return _grid_of_rows(parse_rows(path, text))  # a bare CR ends a row too
        plain = text.replace("\r\n", "\n")
    if '"' in plain:
        return _grid_of_rows(parse_rows(path, text))
    fast = _plain_grid(plain) if plain.isascii() else None
    if fast is not None:
        return fast
    lines = plain.split("\n")
    if plain.endswith("\n"):
        lines.pop()  # the last line's break ends it; no empty row follows
    if lines and max(map(len, lines)) > csv.field_size_limit():
        return _grid_of_rows(parse_rows(path, text))  # the csv module names the error
    # Without quotes a row is its line, split at every comma (an empty line: no cells).
    start = next((i for i, line in enumerate(lines) if line.replace(",", "").strip()), None)
    if start is None:
        return None
    header = lines[start].split(",")
    width = len(header)
    body = lines[start + 1 :]
    first = start + 2  # the line of body[0]
    commas = [line.count(",") for line in body]
    lines_of: range | list[int] = range(first, first + len(body))
    misfits: list[tuple[int, int]] = []
    fitting = body
    if commas.count(width - 1) != len(body):
        fits = [c == width - 1 for c in commas]
        lines_of = list(itertools.compress(lines_of, fits))
        fitting = list(itertools.compress(body, fits))
        misfits = [
            (i, c + 1)
            for i, c, line in zip(range(first, first + len(body)), commas, body, strict=True)
            if c != width - 1 and line.replace(",", "").strip()
        ]
    # One split of the rows joined: row k's cells are flat[k * width : (k + 1) * width].
    flat = ",".join(fitting).split(",") if fitting else []
    columns = [flat[j::width] for j in range(width)]
    grid = Grid(
        header_line=start + 1,
        header=header,
        lines=lines_of,
        columns=columns,
        misfits=misfits,
        rows_read=len(lines_of) + len(misfits),
        plain=no_edge_blanks(plain),
    )
    return _without_blank_rows(grid)


def _plain_grid(text: str | bytes) -> Grid | None:
    """The grid of a plain ASCII text (or its bytes) as byte offsets (`_csvbytes`): its
    header on line 1, no quote, CR or NUL, no blank at a cell's ends, every row fitting
    (else None)."""
    raw = text.encode("ascii") if isinstance(text, str) else text
    end = raw.find(b"\n")
    head = (raw if end < 0 else raw[:end]).decode("ascii")
    if not head.replace(",", "").strip() or len(head) > csv.field_size_limit():
        return None
    if any(c in head for c in '\x00"\r') or not no_edge_blanks(head):
        return None
    header = head.split(",")
    cells = body_cells(memoryview(raw)[len(head) + 1 :], len(header))
    if cells is None:
        return None
    return Grid(
        header_line=1,
        header=header,
        lines=range(2, 2 + len(cells)),
        columns=[],
        misfits=[],
        rows_read=len(cells),
        plain=True,
        cells=cells,
    )


def no_edge_blanks(text: str | bytes) -> bool:
    """No cell of this quote-free LF text (or its ASCII bytes) starts or ends with what
    str.strip() removes."""
    if not text.isascii():
        return False
    raw = text.encode("ascii") if isinstance(text, str) else text
    for c in _ASCII_BLANKS:
        if c in raw and (
            b"," + c in raw
            or c + b"," in raw
            or b"\n" + c in raw
            or c + b"\n" in raw
            or raw.startswith(c)
            or raw.endswith(c)
        ):
            return False
    return True


def _grid_of_rows(rows: list[tuple[int, list[str]]]) -> Grid | None:
    """The grid of rows the csv module read (with their lines)."""
    start = next((i for i, (_, row) in enumerate(rows) if not blank(row)), None)
    if start is None:
        return None
    header_line, header = rows[start]
    width = len(header)
    body = [(line, row) for line, row in rows[start + 1 :] if not blank(row)]
    fits = [(line, row) for line, row in body if len(row) == width]
    columns = [list(col) for col in zip(*(row for _, row in fits), strict=True)]
    return Grid(
        header_line=header_line,
        header=header,
        lines=[line for line, _ in fits],
        columns=columns or [[] for _ in header],
        misfits=[(line, len(row)) for line, row in body if len(row) != width],
        rows_read=len(body),
        plain=False,
    )


def _without_blank_rows(grid: Grid) -> Grid:
    """The grid without its blank fitting rows (all cells empty or blank: ",,,")."""
    first = grid.columns[0]
    if grid.plain and "" not in first:
        return grid
    cols = grid.columns
    blanks = {k for k, cell in enumerate(first) if not cell.strip()}
    blanks = {k for k in blanks if blank([col[k] for col in cols])}
    if not blanks:
        return grid
    keep = [k not in blanks for k in range(len(first))]
    return Grid(
        header_line=grid.header_line,
        header=grid.header,
        lines=list(itertools.compress(grid.lines, keep)),
        columns=[list(itertools.compress(col, keep)) for col in cols],
        misfits=grid.misfits,
        rows_read=grid.rows_read - len(blanks),
        plain=grid.plain,
    )
