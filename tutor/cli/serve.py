"""`backprop-tutor serve`: the tutor for a class, in browsers (tutor/serve/server.py)."""

from __future__ import annotations

import argparse
import ipaddress
import sys
from pathlib import Path

from tutor.cli.common import Parser


def parser() -> argparse.ArgumentParser:
    ap = Parser(
        prog="backprop-tutor serve",
        description="Serve the tutor to browsers: one tutor per tab, each learner's progress in the class "
        "directory. Needs the serve extra: pip install 'backprop-tutor[serve]'.",
    )
    ap.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only)",
    )
    ap.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    ap.add_argument(
        "--code",
        metavar="WORD",
        help="the class code a browser must give first (generated and printed when listening beyond "
        "this machine without one)",
    )
    ap.add_argument(
        "--class",
        dest="class_dir",
        metavar="DIR",
        type=Path,
        help="the class directory: one folder per learner (default: class/ in the user data directory)",
    )
    ap.add_argument(
        "--max-learners",
        type=int,
        metavar="N",
        help="learners at once; the next is asked to come back later (default: from the free memory)",
    )
    ap.add_argument("--ascii", action="store_true", help="the tutors' own text in ASCII")
    return ap


def loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def class_code(host: str, given: str | None, new_code) -> str | None:
    """The code a browser must give: the one given; else, beyond loopback, a new one; else none."""
    if given:
        return given.strip()
    return None if loopback(host) else new_code()


def address(host: str, port: int) -> str:
    """The address to open: this machine's name where it listens on every interface."""
    import socket

    if host in ("0.0.0.0", "::", ""):
        host = socket.getfqdn()
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/"


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    if not 0 <= args.port <= 65535:
        return _fail(f"--port must be within 0..65535, not {args.port}")
    if args.max_learners is not None and args.max_learners < 1:
        return _fail("--max-learners must be at least 1")
    if args.code is not None and not (
        args.code.strip() and args.code.isprintable() and len(args.code) <= 64
    ):
        return _fail("--code must be one printable word of at most 64 characters")
    try:
        from tutor.serve.server import ClassServer, listen, new_code
    except ImportError as exc:
        return _fail(
            f"serving needs the serve extra ({exc.name} is missing): pip install 'backprop-tutor[serve]'"
        )
    from tutor.progress import default_class_dir

    class_dir = args.class_dir or default_class_dir()
    try:
        class_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return _fail(f"the class directory {class_dir} cannot be made: {exc.strerror}")
    code = class_code(args.host, args.code, new_code)
    try:
        sock = listen(args.host, args.port)
    except OSError as exc:
        return _fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror}")
    server = ClassServer(
        class_dir,
        host=args.host,
        port=args.port,
        code=code,
        max_learners=args.max_learners,
        ascii=args.ascii,
    )
    host, port = sock.getsockname()[:2]
    print(
        f"backprop-tutor: serving the class in {server.class_dir} to at most {server.max_learners} learners"
    )
    print(f"open {address(host, port)}" + (f"  (class code: {code})" if code else ""))
    print("ctrl+c stops it, and every learner's tutor with it", flush=True)
    server.run(sock)
    print("backprop-tutor: stopped", flush=True)
    return 0


def _fail(message: str) -> int:
    sys.stderr.write(f"backprop-tutor serve: {message}\n")
    return 2
