"""Line numbers for dotted key paths in a TOML file.

`tomllib` gives values but no positions; a teacher needs the line of a bad key. This scanner
records where each table header and each `key =` line sits, which is all an error needs.
Paths look like `graph.nodes[1].expr` (array-of-tables entries counted from 0).
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\[\[?\s*([^\]]+?)\s*\]\]?")
_KEY = re.compile(r"""^("[^"]*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=""")


def _clean(name: str) -> str:
    return ".".join(part.strip().strip("\"'") for part in name.split("."))


def key_lines(text: str) -> dict[str, int]:
    lines: dict[str, int] = {}
    current = ""
    counters: dict[str, int] = {}
    in_string: str | None = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if in_string:
            if line.count(in_string) % 2 == 1:
                in_string = None
            continue
        if not line or line.startswith("#"):
            continue
        header = _HEADER.match(line)
        if header:
            name = _clean(header.group(1))
            if line.startswith("[["):
                index = counters.get(name, -1) + 1
                counters[name] = index
                # a new entry restarts the numbering of tables nested in the previous one
                for other in [k for k in counters if k.startswith(name + ".")]:
                    del counters[other]
                current = f"{name}[{index}]"
            else:
                current = _indexed(name, counters)
            lines.setdefault(current, lineno)
            continue
        match = _KEY.match(line)
        if match:
            key = _clean(match.group(1))
            path = f"{current}.{key}" if current else key
            lines.setdefault(path, lineno)
            rest = line[match.end():]
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2 == 1:
                    in_string = quote
                    break
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
