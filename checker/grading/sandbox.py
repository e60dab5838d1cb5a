"""The sandbox every student kernel runs in: bubblewrap, and the one place its command is built.

    box = sandbox.find()                                   # or SandboxUnavailable: how to get it
    view = sandbox.plan(python, kernel_site, hide=[out, *submissions, scratch], etc=folder)
    argv = sandbox.command(box, view, inbox=…, writable=…, cwd=…, env={…}, argv=[python, "-m", …])

Inside, a kernel has its own PID, mount, network, IPC, UTS and user namespaces (no network at
all, not even to the host), no capabilities, a new session (no terminal to push keys into), a
private /proc, a minimal /dev and a small tmpfs /tmp.  It sees, read-only and at the same paths
as outside: the system (/usr and its /bin, /lib links), a few files of /etc (never passwd or
shadow: a two-line passwd is made for it), the Python installation and environment it runs
in, every folder on that Python's sys.path, and the reduced ``checker`` (kernel_package.py);
and two folders of its own: ``inbox``, which only the grader writes (read-only inside), and
``writable``, the only place on disk it can write (its notebook's copy, its sockets, its
answers).  Its root, /dev and the masks are read-only; /tmp and /dev/shm are size-capped tmpfs.
Everything else of the machine does not exist for it: the output folder, the submissions, the
grader's scratch, the real ``checker`` and the checkout around it, the home directory.  Paths
that would otherwise show through a read-only bind (a checkout holding the virtual environment,
a site-packages holding a non-editable ``checker``) are covered with an empty read-only folder.

When the kernel's bwrap ends — the kernel exits, or the grader kills it — every process started
inside ends with it (``--die-with-parent`` and the PID namespace).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field

TMP_BYTES = 256 * 2**20        # the kernel's private /tmp (memory-backed)
SHM_BYTES = 64 * 2**20         # its /dev/shm (memory-backed)
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "timezone", "alternatives", "fonts",
       "mime.types", "nsswitch.conf", "host.conf", "locale.alias")
SITE_DIRS = ("site-packages", "dist-packages")
HOSTNAME = "grading-sandbox"

NOT_INSTALLED = (
    "bubblewrap (the `bwrap` command) is not installed, and the grader runs every student's kernel in it.\n"
    "Install it:  sudo apt-get install bubblewrap   (Fedora: sudo dnf install bubblewrap; "
    "Arch: sudo pacman -S bubblewrap)\n"
    "To grade without a sandbox — only a class you trust: a notebook could then read other students' work "
    "and the grader's files — add --trust-notebooks.")
NO_NAMESPACES = (
    "bubblewrap is installed but cannot create the namespaces a sandboxed kernel needs:\n  {error}\n"
    "Allow unprivileged user namespaces (Debian: sudo sysctl -w kernel.unprivileged_userns_clone=1; "
    "Ubuntu 23.10+: sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor profile "
    "for bwrap; in a container: run it with --privileged or a seccomp profile that allows unshare), "
    "or run the grader as root.\n"
    "To grade without a sandbox — only a class you trust — add --trust-notebooks.")


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces here; the message says what to do."""


@dataclass(frozen=True)
class Sandbox:
    """A working bubblewrap: its path, its version line, and whether it makes a user namespace."""
    bwrap: str
    version: str                  # e.g. "bubblewrap 0.8.0"
    userns: bool = True           # False: a setuid bwrap on a system without user namespaces

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class View:
    """What a kernel sees of the machine, worked out once per run (plan) and reused for every kernel."""
    readonly: list = field(default_factory=list)   # host paths bound read-only at the same path
    hidden: list = field(default_factory=list)     # paths under those binds, covered by an empty folder
    etc: str | None = None                         # folder with the passwd and group files made for it,
                                                   # and "empty", the read-only folder bound over hidden paths
    python: str = sys.executable

    def to_json(self) -> dict:
        return asdict(self)


# --- is there a sandbox? --------------------------------------------------------------------------

def _namespace_flags(userns: bool) -> list:
    flags = ["--unshare-all"]
    if userns:
        flags += ["--unshare-user", "--disable-userns"]
    flags += ["--die-with-parent", "--new-session"]
    if os.geteuid() == 0:
        flags += ["--cap-drop", "ALL"]     # as root, bwrap would otherwise keep every capability inside
    return flags


def find() -> Sandbox:
    """The bubblewrap this machine can use; SandboxUnavailable (with the fix) when there is none."""
    path = shutil.which("bwrap")
    if path is None:
        raise SandboxUnavailable(NOT_INSTALLED)
    try:
        version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError) as error:
        raise SandboxUnavailable(NO_NAMESPACES.format(error=error)) from None
    true = shutil.which("true") or "/bin/true"
    error = ""
    for userns in (True, False):
        argv = [path, *_namespace_flags(userns), *_system_mounts(), "--proc", "/proc", "--dev", "/dev", true]
        try:
            run = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.SubprocessError) as exc:
            error = str(exc)
            continue
        if run.returncode == 0:
            return Sandbox(path, version or "bubblewrap (unknown version)", userns)
        error = error or run.stderr.strip() or f"exit code {run.returncode}"
    raise SandboxUnavailable(NO_NAMESPACES.format(error=error))


# --- what a kernel sees -----------------------------------------------------------------------------

def _system_mounts() -> list:
    """/usr read-only, and /bin, /lib… as the links or folders they are on this machine."""
    args = []
    for path in SYSTEM:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    return args


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def python_paths(python: str, env: dict) -> list:
    """Every folder the kernel's Python needs: its prefixes and its sys.path (with .pth additions)."""
    code = ("import json, os, sys; print(json.dumps([sys.prefix, sys.base_prefix, sys.exec_prefix, "
            "sys.base_exec_prefix, os.path.dirname(os.path.realpath(sys.executable))] + sys.path[1:]))")
    with tempfile.TemporaryDirectory() as empty:   # a relative entry (PYTHONPATH=.) means nothing there
        run = subprocess.run([python, "-c", code], capture_output=True, text=True, env=env, timeout=60, cwd=empty)
    if run.returncode != 0:
        raise RuntimeError(f"{python} could not report its paths: {run.stderr.strip()[-500:]}")
    paths = []
    for path in json.loads(run.stdout):
        if isinstance(path, str) and os.path.isabs(path) and os.path.exists(path):
            paths.append(os.path.realpath(path))
    if "PYTHONHOME" in env:
        paths.append(os.path.realpath(env["PYTHONHOME"]))
    return list(dict.fromkeys(paths))


def write_etc(folder: str) -> str:
    """A passwd and group for the sandbox (the real ones stay outside); returns the folder."""
    os.makedirs(folder, exist_ok=True)
    uid, gid = os.getuid(), os.getgid()
    users = {0: "root", uid: "grader", 65534: "nobody"}
    groups = {0: "root", gid: "grader", 65534: "nogroup"}
    with open(os.path.join(folder, "passwd"), "w", encoding="utf-8") as f:
        f.writelines(f"{name}:x:{n}:{n if n in groups else 65534}:{name}:/tmp:/bin/false\n"
                     for n, name in users.items())
    with open(os.path.join(folder, "group"), "w", encoding="utf-8") as f:
        f.writelines(f"{name}:x:{n}:\n" for n, name in groups.items())
    for name in ("passwd", "group"):
        os.chmod(os.path.join(folder, name), 0o444)
    os.makedirs(os.path.join(folder, "empty"), exist_ok=True)
    os.chmod(os.path.join(folder, "empty"), 0o555)
    return folder


def plan(python: str, kernel_site: str, *, package: str, hide=(), etc: str | None = None,
         env: dict | None = None) -> View:
    """The read-only binds and masks for every kernel of a run.

    ``package`` is the real ``checker`` folder; it, and the checkout around it when it is not in a
    site-packages folder, are never bound, and are masked where a bind would show them.  ``hide``
    adds more such paths (the output folder, the submissions, the scratch folder).
    """
    package = os.path.realpath(package)
    parent = os.path.dirname(package)
    secret = [package] + ([] if os.path.basename(parent) in SITE_DIRS else [parent])
    secret += [os.path.realpath(h) for h in hide]
    env = dict(os.environ if env is None else env)
    # A folder on sys.path that holds one of these (or is the root) would show its neighbours too.
    never_above = [s for s in secret if s != package] + [os.path.realpath(os.path.expanduser("~"))]
    readonly = []
    for path in python_paths(python, env):
        if path == os.sep or _under(path, package) or any(_under(s, path) for s in never_above):
            continue   # e.g. a checkout on sys.path: the kernel gets the reduced copy instead
        readonly.append(path)
    readonly.append(os.path.realpath(kernel_site))
    readonly = [p for p in dict.fromkeys(readonly) if not any(_under(p, s) for s in SYSTEM if os.path.isdir(s)
                                                                   and not os.path.islink(s))]
    bound = readonly + [s for s in SYSTEM if os.path.isdir(s) and not os.path.islink(s)]
    hidden = sorted({s for s in secret if os.path.isdir(s) and any(_under(s, b) and s != b for b in bound)})
    return View(readonly=readonly, hidden=hidden, etc=etc, python=python)


def command(box: Sandbox, view: View, *, inbox: str, writable: str, cwd: str, env: dict, argv: list,
            tmp_bytes: int = TMP_BYTES) -> list:
    """The bwrap command line that runs ``argv`` in the sandbox (see the module docstring)."""
    args = [box.bwrap, *_namespace_flags(box.userns), "--hostname", HOSTNAME, "--clearenv",
            "--unsetenv", "JPY_PARENT_PID"]   # ipykernel would see bwrap's pid 1 as a dead parent and quit
    for key, value in sorted(env.items()):
        args += ["--setenv", key, value]
    mounts = [("/proc", ["--proc", "/proc"]), ("/dev", ["--dev", "/dev"]),
              ("/dev/shm", ["--size", str(SHM_BYTES), "--tmpfs", "/dev/shm"]),
              ("/tmp", ["--size", str(tmp_bytes), "--tmpfs", "/tmp"])]
    for path in SYSTEM:
        if os.path.islink(path):
            mounts.append((path, ["--symlink", os.readlink(path), path]))
        elif os.path.isdir(path):
            mounts.append((path, ["--ro-bind", path, path]))
    etc = [("/etc/" + name, ["--ro-bind", "/etc/" + name, "/etc/" + name]) for name in ETC
           if os.path.exists("/etc/" + name)]
    if view.etc:
        etc += [(f"/etc/{name}", ["--ro-bind", os.path.join(view.etc, name), f"/etc/{name}"])
                for name in ("passwd", "group")]
    mounts += etc
    mounts += [(path, ["--ro-bind", path, path]) for path in view.readonly]
    empty = os.path.join(view.etc, "empty") if view.etc else None
    mounts += [(path, ["--ro-bind", empty, path] if empty else ["--tmpfs", path]) for path in view.hidden]
    mounts += [(inbox, ["--ro-bind", inbox, inbox]), (writable, ["--bind", writable, writable])]
    # Shallow before deep: a mask covers what a bind above it shows, and a deeper bind shows through a mask.
    for _, mount in sorted(mounts, key=lambda m: m[0].rstrip("/").count("/")):
        args += mount
    # Last: the sandbox's own root and /dev become read-only (else memory-backed space without a cap).
    return args + ["--remount-ro", "/dev", "--remount-ro", "/", "--chdir", cwd, "--", *argv]
