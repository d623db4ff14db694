"""Line numbers for dotted key paths in a TOML file.

`tomllib` gives values but no positions; a teacher needs the line of a bad key. This scanner
records where each table header and each `key =` line sits, which is all an error needs.
Paths look like `graph.nodes[1].expr` (array-of-tables entries counted from 0).

It runs on a stranger's file whenever that file has an error, so it takes linear time: each line
is scanned a fixed number of times, and no pattern here can backtrack over a line.
"""

from __future__ import annotations

import re

_NAME = re.compile(
    r"""\s*(?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+)(?:\s*\.\s*(?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+))*\s*"""
)
_KEY = re.compile(r"""^("[^"]*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=""")


def _clean(name: str) -> str:
    return ".".join(part.strip().strip("\"'") for part in name.split("."))


def _header(line: str) -> str | None:
    """The table name of a `[name]` or `[[name]]` line (a comment may follow), else None."""
    if not line.startswith("["):
        return None
    start = 2 if line.startswith("[[") else 1
    end = line.find("]", start)
    if end < 0 or not _NAME.fullmatch(line, start, end):
        return None
    rest = line[end + (2 if start == 2 else 1) :].lstrip()
    if rest and not rest.startswith("#"):
        return None
    return line[start:end]


def _depth(line: str) -> int:
    """Brackets opened minus brackets closed on a line, outside strings and comments."""
    depth, quote, i = 0, "", 0
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\" and quote == '"':
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            break
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        i += 1
    return depth


def key_lines(text: str) -> dict[str, int]:
    lines: dict[str, int] = {}
    current = ""
    counters: dict[str, int] = {}
    in_string: str | None = None
    open_brackets = 0  # inside a value that spans lines (an array of rows)
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if in_string:
            if line.count(in_string) % 2 == 1:
                in_string = None
            continue
        if open_brackets > 0:
            open_brackets = max(0, open_brackets + _depth(line))
            continue
        if not line or line.startswith("#"):
            continue
        header = _header(line)
        if header is not None:
            name = _clean(header)
            if line.startswith("[["):
                index = counters.get(name, -1) + 1
                counters[name] = index
                # a new entry restarts the numbering of tables nested in the previous one
                for other in [k for k in counters if k.startswith(name + ".")]:
                    del counters[other]
                current = f"{name}[{index}]"
                lines.setdefault(
                    _indexed(name, counters), lineno
                )  # the array itself: its first entry
            else:
                current = _indexed(name, counters)
            lines.setdefault(current, lineno)
            continue
        match = _KEY.match(line)
        if match:
            key = _clean(match.group(1))
            path = f"{current}.{key}" if current else key
            lines.setdefault(path, lineno)
            rest = line[match.end() :]
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2 == 1:
                    in_string = quote
                    break
            else:
                open_brackets = max(0, _depth(rest))
    return lines


def _indexed(name: str, counters: dict[str, int]) -> str:
    """`[train.dataset]` after `[[train.variants]]` sits in the latest variant only if named so;
    a plain table header whose prefix is an array of tables belongs to its latest entry."""
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        prefix = ".".join(parts[:cut])
        if prefix in counters:
            return f"{prefix}[{counters[prefix]}]." + ".".join(parts[cut:])
    return name


def line_of(lines: dict[str, int], path: str) -> int | None:
    """The line of `path`, or of its nearest enclosing key that has one."""
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        if cut <= 0:
            break
        path = path[:cut]
    return lines.get(path)
