"""What a report may show of text that came from configs and logs (anyone could write it).

Control characters (C0 but tab and newline, C1, DEL) could drive a terminal (OSC 52 clipboard
writes, title changes); bidi overrides and zero-width characters make a name read as another.
They are shown as visible escapes (``<U+202E>``), never passed through; so are the bytes of a
file name that are not UTF-8 (Python gives them as lone surrogates, which no UTF-8 file or
terminal takes: a report that named such a log crashed as it was written). A CSV cell starting with
``= + - @`` (or a tab or carriage return) would run as a spreadsheet formula: it gets a leading
apostrophe (OWASP's rule).
"""
from __future__ import annotations

import re

UNSAFE_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e"
                       "\u2060-\u2069\ud800-\udfff\ufeff]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def printable(text: str) -> str:
    """``text`` with every unsafe character shown as ``<U+XXXX>`` (newlines and tabs kept)."""
    return UNSAFE_RE.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)


def one_line(text: str) -> str:
    """``text`` as printable() shows it, its newlines too: a message that is one line (a
    warning, what could not be read of a log) even where a file's name holds a newline,
    which would have begun a line of the file's choosing in the report."""
    return printable(text).replace("\n", "<U+000A>")


def csv_cell(value: object) -> object:
    """A CSV cell that a spreadsheet will not run as a formula; unsafe characters shown."""
    if not isinstance(value, str):
        return value
    value = printable(value)
    return "'" + value if value.startswith(FORMULA_START) else value
