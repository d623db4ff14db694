"""The sandbox a learner's code runs in (loaded by child.py, standard library only; nothing here
imports the tutor). Two layers:

- the kernel's, where the system has it: die with the tutor (PR_SET_PDEATHSIG), no new privileges,
  new user, network and mount namespaces (no network; every filesystem read-only but the work
  directory; the home folders hidden under empty tmpfs), and a seccomp filter that refuses new
  processes, programs, sockets, signals to other processes, ptrace and mounts. Each is tried and
  reported: a system without it (macOS, Windows, a kernel with user namespaces off) goes on
  without it;
- the floor everywhere: resource limits, and an audit hook (installed before the learner's code is
  compiled, and impossible to remove) refusing what the kernel layer may not have refused.
"""

from __future__ import annotations

import os
import struct
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # ctypes itself is loaded only where the kernel's isolation is tried
    import ctypes
    from types import ModuleType

# ---- kernel isolation (Linux) --------------------------------------------------------------------

PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 1, 38, 22, 2
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET, CLONE_THREAD = 0x20000, 0x10000000, 0x40000000, 0x10000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND = 1, 2, 4, 8, 32, 4096
MS_NOATIME, MS_NODIRATIME, MS_REC, MS_PRIVATE, MS_RELATIME = 1024, 2048, 16384, 1 << 18, 1 << 21
EPERM, ENOSYS = 1, 38

# syscall numbers: (audit arch, x32 bit, refused, refused but for this process, clone, clone3)
ARCHES = {
    "x86_64": (
        0xC000003E,
        True,
        # fork vfork execve execveat socket ptrace rt_sigqueueinfo rt_tgsigqueueinfo
        # pidfd_send_signal unshare setns mount umount2 pivot_root chroot process_vm_readv/writev
        (57, 58, 59, 322, 41, 101, 129, 297, 424, 272, 308, 165, 166, 155, 161, 310, 311),
        (62, 200, 234),
        56,
        435,
    ),  # kill tkill tgkill; clone; clone3
    "aarch64": (
        0xC00000B7,
        False,
        (221, 281, 198, 117, 138, 240, 424, 97, 268, 40, 39, 41, 51, 270, 271),
        (129, 130, 131),
        220,
        435,
    ),
}


def _libc() -> tuple[ModuleType, ctypes.CDLL]:
    import ctypes

    # the process's own symbols, libc's among them (ctypes.util.find_library would start ldconfig,
    # and leave subprocess loaded for the learner's code to find)
    return ctypes, ctypes.CDLL(None, use_errno=True)


def confine(
    work: str, hide: list[str], keep: list[str], parent: int, kernel: bool
) -> dict[str, Any]:
    """Apply what the kernel offers (namespaces and seccomp only where `kernel`); returns what
    held. Called while the process has one thread."""
    level: dict[str, Any] = {
        "platform": sys.platform,
        "die_with_tutor": False,
        "no_new_privs": False,
        "namespaces": [],
        "read_only_fs": False,
        "home_hidden": False,
        "seccomp": False,
    }
    if not sys.platform.startswith("linux"):
        return level
    try:
        _, libc = _libc()
    except OSError:
        return level
    import signal

    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
        level["die_with_tutor"] = True
    if os.getppid() != parent:  # the tutor ended before the line above took effect
        os._exit(3)
    if kernel:
        for flags, names in (
            (CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWNS, ["user", "network", "mount"]),
            (CLONE_NEWUSER | CLONE_NEWNET, ["user", "network"]),
            (CLONE_NEWNET, ["network"]),
        ):
            if libc.unshare(flags) == 0:
                level["namespaces"] = names
                break
        if "mount" in level["namespaces"]:
            _mounts(libc, work, hide, keep, level)
    level["no_new_privs"] = libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0
    if level["no_new_privs"] and kernel:
        level["seccomp"] = _seccomp(libc)
    return level


def _mounts(
    libc: ctypes.CDLL, work: str, hide: list[str], keep: list[str], level: dict[str, Any]
) -> None:
    """In the new mount namespace (seen by this process only): the work directory stays writable,
    every other mount becomes read-only, and the home folders are covered by empty tmpfs."""

    def mount(
        src: str | None, target: str, kind: str | None, flags: int, data: str | None = None
    ) -> bool:
        return bool(
            libc.mount(
                src and src.encode(),
                target.encode(),
                kind and kind.encode(),
                flags,
                data and data.encode(),
            )
            == 0
        )

    if not mount(None, "/", None, MS_REC | MS_PRIVATE):
        return
    if not mount(work, work, None, MS_BIND):
        return
    os.chdir(work)  # the working directory, seen through the new (writable) mount
    points = []
    with open("/proc/self/mounts", "rb") as f:
        for line in f.read(1 << 20).splitlines():
            fields = line.split()
            if len(fields) > 1:
                points.append(fields[1].decode("utf-8", "replace").replace("\\040", " "))
    root_ok = False
    for point in points:
        if point == work:
            continue
        try:
            st = os.statvfs(point)
        except OSError:
            continue
        # a remount must keep the flags locked by the namespace that made the mount
        keepflags = sum(
            ms
            for st_flag, ms in (
                (os.ST_NOSUID, MS_NOSUID),
                (os.ST_NODEV, MS_NODEV),
                (os.ST_NOEXEC, MS_NOEXEC),
                (os.ST_NOATIME, MS_NOATIME),
                (os.ST_NODIRATIME, MS_NODIRATIME),
                (os.ST_RELATIME, MS_RELATIME),
            )
            if st.f_flag & st_flag
        )
        ok = mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | keepflags)
        root_ok = root_ok or (ok and point == "/")
    level["read_only_fs"] = root_ok
    hidden = []
    for folder in hide:
        inside = any(k == folder or k.startswith(folder.rstrip("/") + "/") for k in keep + [work])
        if (
            folder
            and os.path.isdir(folder)
            and not inside
            and mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, "size=16k,mode=500")
        ):
            hidden.append(folder)
    level["home_hidden"] = bool(hidden)


def _seccomp(libc: ctypes.CDLL) -> bool:
    import ctypes  # loaded by _libc already

    arch = ARCHES.get(os.uname().machine)
    if arch is None:
        return False
    audit, x32, refused, self_only, clone, clone3 = arch
    me = os.getpid()
    allow, deny, nosys = 0x7FFF0000, 0x00050000 | EPERM, 0x00050000 | ENOSYS
    LD, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06
    prog = [(LD, 0, 0, 4), (JEQ, 1, 0, audit), (RET, 0, 0, deny), (LD, 0, 0, 0)]
    if x32:
        prog += [(JGE, 0, 1, 0x40000000), (RET, 0, 0, deny)]
    for nr in refused:
        prog += [(JEQ, 0, 1, nr), (RET, 0, 0, deny)]
    prog += [(JEQ, 0, 1, clone3), (RET, 0, 0, nosys)]  # glibc then falls back to clone
    for nr in self_only:  # signals to this process only
        prog += [
            (JEQ, 0, 4, nr),
            (LD, 0, 0, 16),
            (JEQ, 0, 1, me),
            (RET, 0, 0, allow),
            (RET, 0, 0, deny),
        ]
    prog += [
        (JEQ, 0, 4, clone),
        (LD, 0, 0, 16),
        (JSET, 0, 1, CLONE_THREAD),
        (RET, 0, 0, allow),
        (RET, 0, 0, deny),
    ]
    prog += [(RET, 0, 0, allow)]
    raw = b"".join(struct.pack("HBBI", *ins) for ins in prog)
    buf = ctypes.create_string_buffer(raw, len(raw))

    class Fprog(ctypes.Structure):
        _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))

    fprog = Fprog(len(prog), ctypes.cast(buf, ctypes.c_void_p))
    return bool(libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) == 0)


# ---- resource limits -----------------------------------------------------------------------------


def limit(memory: int, cpu: int, files: int = 1_000_000, descriptors: int = 64) -> list[str]:
    """Set the limits this system has; returns their names."""
    try:
        import resource
    except ImportError:  # Windows
        return []

    got = []
    for name, value in (
        ("RLIMIT_AS", memory),
        ("RLIMIT_CPU", cpu),
        ("RLIMIT_FSIZE", files),
        ("RLIMIT_NOFILE", descriptors),
        ("RLIMIT_NPROC", 0),
        ("RLIMIT_CORE", 0),
    ):
        kind = getattr(resource, name, None)
        if kind is None:
            continue
        try:
            resource.setrlimit(kind, (value, value + (1 if name == "RLIMIT_CPU" else 0)))
            got.append(name[7:].lower())
        except (ValueError, OSError):
            pass  # macOS has no RLIMIT_AS: the wall-time watchdog still holds
    return got


# ---- the audit hook: the floor -------------------------------------------------------------------

REFUSED = (
    "socket.",
    "subprocess.",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "os.forkpty",
    "os.kill",
    "os.killpg",
    "signal.pthread_kill",
    "ctypes.",
    "os.startfile",
    "pty.",
    "gc.get_",
    "sys._current_frames",
    "sys.setprofile",
    "sys.settrace",
    "os.setsid",
    "os.chdir",
    "os.fchdir",
    "os.chroot",
    "winreg.",
    "_winapi.",
    "msvcrt.",
    "webbrowser.",
    "urllib.",
    "http.",
    "ftplib.",
    "smtplib.",
    "poplib.",
    "imaplib.",
    "nntplib.",
    "telnetlib.",
)
MODULES = (
    "subprocess",
    "_posixsubprocess",
    "socket",
    "_socket",
    "multiprocessing",
    "_multiprocessing",
    "pty",
    "ctypes",
    "_ctypes",
    "asyncio",
    "select",
    "selectors",
    "ssl",
    "_ssl",
    "mmap",
    "_winapi",
    "urllib",
    "http",
    "shutil",
    "tempfile",
    "threading",
    "_thread",
    "signal",
    "_signal",
    "fcntl",
    "resource",
    "termios",
    "pickle",
    "_pickle",
    "marshal",
    "importlib",
    "runpy",
    "code",
    "pdb",
)
# path events: the index of each path argument
PATHS = {
    "os.remove": (0,),
    "os.rmdir": (0,),
    "os.mkdir": (0,),
    "os.rename": (0, 1),
    "os.replace": (0, 1),
    "os.symlink": (0, 1),
    "os.link": (0, 1),
    "os.chmod": (0,),
    "os.chown": (0,),
    "os.truncate": (0,),
    "os.utime": (0,),
    "os.chflags": (0,),
    "os.lchflags": (0,),
    "os.setxattr": (0,),
    "os.removexattr": (0,),
    "os.mkfifo": (0,),
    "os.mknod": (0,),
    "shutil.rmtree": (0,),
    "shutil.copyfile": (0, 1),
    "shutil.move": (0, 1),
    "os.listdir": (0,),
    "os.scandir": (0,),
    "glob.glob": (0,),
    "os.listxattr": (0,),
    "os.getxattr": (0,),
}


def guard(work: str, read_roots: list[str]) -> None:
    """Install the audit hook. From here on: no file outside `work` is written, none outside
    `work` and `read_roots` (Python's and numpy's own files) is read, and the events in REFUSED
    raise. A hook cannot be removed; its settings are captured, not global."""
    work = os.path.realpath(work)
    roots = tuple(os.path.realpath(r) for r in read_roots)
    realpath, fspath, sep = os.path.realpath, os.fspath, os.sep

    def inside(path: Any, folders: tuple[str, ...]) -> bool:  # what the audited call was given
        if isinstance(path, int):
            return False  # an inherited descriptor, or a dir_fd route
        try:
            p = fspath(path)
            p = p.decode("utf-8", "surrogateescape") if isinstance(p, bytes) else p
            p = realpath(p)
        except (TypeError, ValueError, OSError):
            return False
        return any(p == f or p.startswith(f.rstrip(sep) + sep) for f in folders)

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            path, mode, flags = args
            writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int)
                and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND)
            )
            if path is None or inside(path, (work,)) or (not writes and inside(path, roots)):
                return
            raise PermissionError(
                f"{'writing' if writes else 'reading'} files outside the exercise's folder is not allowed here"
            )
        if event == "import" and args[0].split(".")[0] in MODULES:
            raise PermissionError(f"import {args[0]}: not allowed here")
        if event in PATHS:
            for i in PATHS[event]:
                if (
                    i < len(args)
                    and args[i] is not None
                    and not inside(args[i], (work,))
                    and not (
                        event in ("os.listdir", "os.scandir", "glob.glob")
                        and inside(args[i], roots)
                    )
                ):
                    raise PermissionError(
                        f"{event}: outside the exercise's folder is not allowed here"
                    )
            if len(args) > 2 and any(isinstance(a, int) and a >= 0 for a in args[-1:]):
                raise PermissionError(f"{event} with a dir_fd is not allowed here")
            return
        if event.startswith(REFUSED):
            raise PermissionError(f"{event}: not allowed here")

    sys.addaudithook(hook)
