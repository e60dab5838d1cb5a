"""A student's kernel, kept at arm's length.

``KernelSession`` gives one submission a fresh ipykernel — in the sandbox (sandbox.py) unless
the run trusts its notebooks, with the reduced ``checker`` (kernel_package.py), a memory cap, a
file-size cap and a small environment — runs the notebook's cells under time limits, and then
calls the student's functions *inside that kernel*.  Only data comes back (see transfer.py): the
grader never evaluates anything the kernel says about passing, and never holds an object the
kernel made.

A ``Kernel`` is one kernel process with its own folders.  It is *launched* (the process boots on
its own) and later made *ready* for one notebook: its copy of the notebook is written into its
working folder, and the grader waits for its first reply.  ``Spares`` launches the next kernel
while the current notebook is graded, so that a worker grading one notebook after another
(worker.py) never waits for a kernel to boot; each notebook still gets a kernel no other
notebook has run in, in a sandbox of its own.

Folders of one kernel:

    kernels/kernel-XXXX/      the kernel's only writable folder (bound read-write at the same path;
                              ``kernels`` is the run's short folder, for the socket paths):
        work/                 its working folder: the notebook's copy, HOME
        z-<port>              the ZMQ sockets it binds (ipc: no network needed)
        done                  a FIFO made (and opened) by the grader before the kernel starts: the
                              kernel names each call it has answered there
        <tag>.status.json …   its answers to the grader's requests
    <parent>/kernel-XXXX/     the grader's own (never visible inside):
        inbox/                written by the grader only, read-only inside: the connection file, the
            go                FIFO on which the grader hands out calls (mode 0400: unwritable inside), and
            c<k>/             each call's name and inputs (call.json, in.npz)
        kernelspec/           the kernelspec whose argv is the bwrap command
        stderr.log            the kernel's stderr

The grader writes nothing into a folder the kernel can write once student code has run there
(the notebook's copy is written before its first cell, with O_EXCL and without following links),
reads what the kernel wrote without following links and with size limits, and never reads the
kernel's output: the IOPub channel is never subscribed (the kernel's prints go nowhere), and every
message larger than MAX_MESSAGE_BYTES is refused by ZMQ before it is read.

Calls are served: one execute request (the helper's ``serve``, kernel_helper.py) answers every
call of the functions, one at a time, each handed out through the FIFO ``go`` once the grader has
judged the one before — exactly the calls ``evaluate`` makes, in its order, without a round trip
through IPython for each.  Where there are no FIFOs (Windows) each call is its own request.

Every way a kernel can misbehave ends in a status, never in an exception here:
'ok' / 'error' (the cell raised) / 'timeout' (interrupted after its limit) / 'hung' (did not
stop when interrupted: killed) / 'died' (the process exited: os._exit, a crash, the memory cap).
"""
from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from checker.grading import sandbox, transfer
from checker.grading.kernel_package import HELPER_MODULE
from checker.runner import ErrorInfo, Outcome

IO_ALLOWANCE = 1.0        # seconds on top of a call's limit for moving its inputs and outputs,
IO_BYTES_PER_SECOND = 20e6  # plus this much per byte sent (the answer is about as large again)
INTERRUPT_GRACE = 3.0     # seconds a kernel has to come back after an interrupt
FILE_SIZE_LIMIT = 1 * 2**30
MAX_MESSAGE_BYTES = 16 * 2**20   # a ZMQ message from the kernel (replies are small; data goes through files)
RECEIVE_QUEUE = 4                # messages ZMQ holds for the grader before it stops reading the kernel
SHELL_BATCH = 64                 # shell messages read between two looks at the clock
KERNEL_NAME = "checker-grader"
KERNEL_OPTIONS = ["--HistoryManager.hist_file=:memory:"]   # no SQLite history written per cell
SOCKET_PATH_MAX = 100            # a Unix socket's path must fit in 108 bytes
# Variables passed through to the kernel; everything else in the grader's environment stays out.
PASS_ENV = ("PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "PYTHONPATH", "VIRTUAL_ENV",
            "CONDA_PREFIX", "SYSTEMROOT", "COMSPEC", "PATHEXT", "WINDIR")


@dataclass
class Executed:
    """How one execute request ended."""
    status: str                 # 'ok' | 'error' | 'timeout' | 'hung' | 'died'
    ename: str | None = None
    evalue: str | None = None
    seconds: float = 0.0


def _tree_cpu(pid: int) -> float:
    """CPU seconds used so far by a process and all its descendants (Linux /proc; 0 elsewhere).

    Read just before a kernel is killed: a sandboxed kernel's processes are never waited for by
    the grader, so its own accounting (getrusage) would not see them.
    """
    total, stack, seen = 0.0, [pid], set()
    try:
        tick = os.sysconf("SC_CLK_TCK")
    except (ValueError, OSError, AttributeError):
        return 0.0
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            with open(f"/proc/{current}/stat", encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += sum(int(n) for n in fields[11:15]) / tick   # utime stime cutime cstime
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children", encoding="ascii") as f:
                    stack += [int(n) for n in f.read().split()]
        except (OSError, ValueError, IndexError):
            continue
    return total


def _request_code(request: dict) -> str:
    """One short line per request: the helper is imported once per kernel from the read-only copy."""
    return f"__import__({HELPER_MODULE!r}).__checker_grader__({request!r}, globals())"


def _limits(memory_bytes: int | None):
    """preexec_fn for the kernel: cap its address space, the files it writes, no core dumps."""
    def apply():
        import resource
        if memory_bytes:
            resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return apply


def kernel_env(work: str, site: str, *, sandboxed: bool, python: str = sys.executable) -> dict:
    """The kernel's whole environment: a few of the grader's variables, its own HOME and temp folder,
    the reduced checker first on PYTHONPATH, one BLAS thread."""
    env = {k: os.environ[k] for k in PASS_ENV if k in os.environ}
    home = os.path.join(work, ".home")
    tmp = "/tmp" if sandboxed else os.path.join(work, ".tmp")
    os.makedirs(home, exist_ok=True)
    if not sandboxed:
        os.makedirs(tmp, exist_ok=True)
    if sandboxed:
        env["PATH"] = os.pathsep.join([os.path.dirname(python), "/usr/local/bin", "/usr/bin", "/bin"])
    env["PYTHONPATH"] = os.pathsep.join([site] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.update(HOME=home, USERPROFILE=home, TMPDIR=tmp, TEMP=tmp, TMP=tmp,
               IPYTHONDIR=os.path.join(home, ".ipython"), MPLCONFIGDIR=os.path.join(home, ".matplotlib"),
               MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1",
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               VECLIB_MAXIMUM_THREADS="1", NUMEXPR_NUM_THREADS="1")
    return env


def _fifo(path: str, mode: int = 0o600) -> int | None:
    """A FIFO at ``path``, opened by the grader for reading and writing (so it never blocks, never sees
    an end of file, and its reads and writes never fail for want of a peer), then given ``mode``;
    None where there are none."""
    if not hasattr(os, "mkfifo"):
        return None
    os.mkfifo(path, 0o600)
    fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    # A read-only bind does not stop a write to a FIFO (it is not a file of that file system); only its
    # mode does, for a kernel without capabilities, which cannot chmod it there either.
    os.chmod(path, mode)
    return fd


def _drain(fd: int, limit: int = 1 << 16) -> bytes:
    """Whatever can be read from a non-blocking fd now (at most ``limit`` bytes)."""
    out = b""
    while len(out) < limit:
        try:
            chunk = os.read(fd, limit - len(out))
        except (BlockingIOError, InterruptedError):
            break
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    return out


class Kernel:
    """One kernel process and its folders (see the module docstring): launch(), then ready(notebook)."""

    def __init__(self, parent: str, environment, *, memory_bytes: int | None = None, startup_timeout: float = 60.0,
                 interrupt_grace: float = INTERRUPT_GRACE, tell=None):
        self.parent = parent
        self.env = environment
        self.memory_bytes = memory_bytes
        self.startup_timeout = startup_timeout
        self.interrupt_grace = interrupt_grace
        self.tell = tell                # tell(pgid, alive: bool): the worker's list of its live kernels
        self.km = self.kc = self.context = self.outbox = None
        self.root = self.inbox = self.writable = self.workdir = None
        self.go = self.done = None      # the FIFOs' fds (None: a request per call)
        self.serving = None             # msg_id of the serve request under way
        self.pgid = None
        self.launched_at = 0.0
        self.cpu_seconds = 0.0
        self.last = None
        self._calls = 0
        self._log = None
        self._log_path = None

    @property
    def sandboxed(self) -> bool:
        return self.env.box is not None

    # lifecycle

    def launch(self) -> "Kernel":
        """Fresh folders, the FIFOs and the outbox opened, the kernel process started; it boots on its own."""
        import zmq
        from jupyter_client import KernelManager
        from jupyter_client.kernelspec import KernelSpecManager

        self.root = tempfile.mkdtemp(prefix="kernel-", dir=self.parent)
        self.inbox = os.path.join(self.root, "inbox")
        os.makedirs(self.inbox)
        self.writable = tempfile.mkdtemp(prefix="kernel-", dir=self.env.kernels or self.root)
        self.workdir = os.path.join(self.writable, "work")
        os.makedirs(self.workdir)
        self._log_path = os.path.join(self.root, "stderr.log")
        env = kernel_env(self.workdir, self.env.site, sandboxed=self.sandboxed, python=self.env.python)
        # opened before the kernel can touch the folder: what the kernel later puts at these paths is not these
        self.outbox = transfer.Outbox(self.writable)
        self.go = _fifo(os.path.join(self.inbox, "go"), 0o400)
        self.done = _fifo(os.path.join(self.writable, "done")) if self.go is not None else None

        ipc = os.path.join(self.writable, "z")
        use_ipc = os.name == "posix" and len(ipc) + 8 < SOCKET_PATH_MAX
        if self.sandboxed and not use_ipc:
            raise RuntimeError(f"the grader's scratch folder path is too long for the kernel's Unix sockets "
                               f"({ipc}); set TMPDIR to a shorter folder, e.g. TMPDIR=/tmp")
        argv = [self.env.python, "-m", "ipykernel_launcher", "-f", "{connection_file}", *KERNEL_OPTIONS]
        if self.sandboxed:
            argv = sandbox.command(self.env.box, self.env.view, inbox=self.inbox, writable=self.writable,
                                   cwd=self.workdir, env=env, argv=argv)
        self.context = zmq.Context()
        # Larger messages are dropped by ZMQ before the grader reads them (a 500 MiB traceback, …).
        self.context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        # ... and few are queued: a kernel that sends large replies without end holds little of the grader's memory
        self.context.setsockopt(zmq.RCVHWM, RECEIVE_QUEUE)
        self.km = KernelManager(kernel_name=KERNEL_NAME, context=self.context,
                                **({"transport": "ipc", "ip": ipc} if use_ipc else {}),
                                kernel_spec_manager=KernelSpecManager(kernel_dirs=[self._kernelspec(argv)]))
        self.km.connection_file = os.path.join(self.inbox, "connection.json")
        self._log = open(self._log_path, "ab")
        kwargs = {"cwd": self.workdir, "env": env, "stdout": subprocess.DEVNULL, "stderr": self._log}
        if os.name == "posix":
            kwargs["preexec_fn"] = _limits(self.memory_bytes)
        self.launched_at = time.monotonic()
        self.km.start_kernel(**kwargs)
        try:
            self.pgid = os.getpgid(self.km.provisioner.pid) if hasattr(os, "getpgid") else None
        except (OSError, AttributeError):
            self.pgid = None
        if self.tell is not None and self.pgid:
            self.tell(self.pgid, True)
        # Shell and control only: IOPub (everything the kernel prints or shows) is never subscribed.
        self.kc = self.km.client(context=self.context)
        self.kc.start_channels(shell=True, iopub=False, stdin=False, hb=False, control=False)
        return self

    def _kernelspec(self, argv: list) -> str:
        spec_dir = os.path.join(self.root, "kernelspec")
        os.makedirs(os.path.join(spec_dir, KERNEL_NAME))
        with open(os.path.join(spec_dir, KERNEL_NAME, "kernel.json"), "w", encoding="utf-8") as f:
            # "message": an interrupt travels on the control channel; a signal would stop at bwrap.
            json.dump({"argv": argv, "display_name": "checker grader", "language": "python",
                       "interrupt_mode": "message" if self.sandboxed else "signal"}, f)
        return spec_dir

    def ready(self, notebook: bytes | None, name: str) -> None:
        """The notebook's copy in the working folder, then the first reply; RuntimeError if none comes."""
        if notebook is not None:
            self._write_notebook(notebook, os.path.basename(name) or "notebook.ipynb")
        # startup_timeout from the launch; a kernel launched ahead that waited longer has booted (or died) since
        deadline = max(self.launched_at + self.startup_timeout, time.monotonic() + min(self.startup_timeout, 10.0))
        while True:
            msg_id = self.kc.kernel_info()
            reply = self._await_reply(msg_id, min(deadline, time.monotonic() + 1.0))
            if reply == "died":
                raise RuntimeError(f"Kernel died before replying to kernel_info {self.stderr_tail()}".strip())
            if reply is not None:
                return
            if time.monotonic() >= deadline:
                raise RuntimeError(f"Kernel didn't respond in {self.startup_timeout:g} seconds "
                                   f"{self.stderr_tail()}".strip())

    def _write_notebook(self, notebook: bytes, name: str) -> None:
        """Written before any code of the notebook runs, never through a link and never over a file."""
        folder = os.open(self.workdir, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)) \
            if os.name == "posix" else None
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
            fd = os.open(name, flags, 0o644, dir_fd=folder) if folder is not None else \
                os.open(os.path.join(self.workdir, name), flags, 0o644)
            with os.fdopen(fd, "wb") as f:
                f.write(notebook)
        finally:
            if folder is not None:
                os.close(folder)

    def stderr_tail(self, size: int = 400) -> str:
        try:
            with open(self._log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - size))
                tail = f.read().decode("utf-8", "replace").strip()
        except (OSError, TypeError):
            return ""
        return f"[kernel stderr: …{tail}]" if tail else ""

    def alive(self) -> bool:
        try:
            return self.km is not None and self.km.is_alive()
        except Exception:  # noqa: BLE001 -- a dying kernel's client can raise anything
            return False

    def kill(self) -> None:
        """Stop the kernel and everything it started, now; remove its folders."""
        try:
            if self.km is not None and self.km.provisioner is not None and self.km.provisioner.pid:
                self.cpu_seconds += _tree_cpu(self.km.provisioner.pid)
        except Exception:  # noqa: BLE001 -- a dying kernel's client can raise anything
            pass
        if self.kc is not None:
            try:
                self.kc.stop_channels()
            except Exception:  # noqa: BLE001 -- a dying kernel's client can raise anything
                pass
        if self.pgid and hasattr(os, "killpg"):
            try:   # bwrap's process group: with it goes the sandbox's PID namespace, and all in it
                os.killpg(self.pgid, signal.SIGKILL)
            except OSError:
                pass
            try:   # reaped at once (jupyter_client's own shutdown polls for it every 0.1 s)
                self.km.provisioner.process.wait(5)
                self.km.cleanup_resources()
            except Exception:  # noqa: BLE001 -- a dying kernel's client can raise anything
                pass
            if self.tell is not None:
                self.tell(self.pgid, False)
        elif self.km is not None:
            try:
                self.km.shutdown_kernel(now=True)
            except Exception:  # noqa: BLE001 -- a dying kernel's client can raise anything
                pass
        if self.context is not None:
            self.context.destroy(linger=0)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self.outbox is not None:
            self.outbox.close()
        for fd in (self.go, self.done):
            if fd is not None:
                os.close(fd)
        for folder in (self.writable, self.root):
            if folder:
                shutil.rmtree(folder, ignore_errors=True)   # never follows the links a kernel left
        self.km = self.kc = self.context = self.outbox = self.pgid = self.go = self.done = self.serving = None
        self.writable = self.inbox = self.workdir = self.root = None

    # execution

    def _await_reply(self, msg_id: str, deadline: float):
        """The shell reply to msg_id; 'died' if the kernel exits; None at the deadline."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                msg = self.kc.get_shell_msg(timeout=min(0.1, remaining))
            except queue.Empty:
                if not self.alive():
                    return "died"
                continue
            except Exception:  # noqa: BLE001 -- a reply that does not parse or verify: not one of ours
                continue
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return msg

    def _interrupt(self, msg_id: str, start: float) -> Executed:
        """After a limit: interrupt; 'timeout' if the request then ends, 'hung' (killed) or 'died' if not."""
        try:
            self.km.interrupt_kernel()
        except Exception:  # noqa: BLE001 -- a dying kernel's client can raise anything
            pass
        reply = self._await_reply(msg_id, time.monotonic() + self.interrupt_grace)
        seconds = time.monotonic() - start
        if reply is None and self._idle():
            # An interrupt that lands after the request arrived and before its code runs makes ipykernel drop the
            # request ("KeyboardInterrupt caught in kernel"): no reply ever comes, yet nothing is running.  It
            # happens to a cell begun as the notebook's time runs out; killing the kernel blamed that cell.
            return Executed("timeout", seconds=seconds)
        if reply is None:
            self.kill()
            return Executed("hung", seconds=seconds)
        if reply == "died":
            return Executed("died", seconds=seconds)
        return Executed("timeout", seconds=seconds)

    def _idle(self, within: float = 1.0) -> bool:
        """Whether the kernel answers a kernel_info request at once: its shell is running nothing (a cell still
        running, even one that catches every interrupt, holds the shell and lets no request be answered)."""
        try:
            msg_id = self.kc.kernel_info()
        except Exception:  # noqa: BLE001 -- a dying kernel's client can raise anything
            return False
        return isinstance(self._await_reply(msg_id, time.monotonic() + within), dict)

    def execute(self, code: str, timeout: float, *, silent: bool = False) -> Executed:
        """Run code; interrupt it after ``timeout`` s, kill the kernel if that does not stop it."""
        stopped = self._stop_serving()
        if stopped != "ok":
            return Executed(stopped)
        if not self.alive():
            return Executed("died")
        start = time.monotonic()
        msg_id = self.kc.execute(code, silent=silent, store_history=not silent, allow_stdin=False,
                                 stop_on_error=False)
        reply = self._await_reply(msg_id, start + timeout)
        if reply is None:
            return self._interrupt(msg_id, start)
        seconds = time.monotonic() - start
        if reply == "died":
            return Executed("died", seconds=seconds)
        content = reply.get("content", {})
        if content.get("status") == "ok":
            return Executed("ok", seconds=seconds)
        return Executed("error", transfer.clean_text(content.get("ename"), 100),
                        transfer.clean_text(content.get("evalue"), 500), seconds)

    # talking to the student's code

    def _request(self, op: str, **fields) -> tuple[dict, str]:
        self._calls += 1
        tag = f"c{self._calls}"
        return {"op": op, "inbox": self.inbox, "outbox": self.writable, "tag": tag, **fields}, tag

    def _answers(self, tag: str) -> list:
        return [f"{tag}.{name}" for name in ("status.json", "values.npz", "out.npz")]

    def probe(self, functions: list, values: list, timeout: float = 30.0):
        """What the names hold in the kernel: {'functions': {name: …}, 'values': {name: value}, 'defined': […]}.

        Values are rebuilt from data (transfer.rebuild); None if the kernel could not answer.
        """
        if not self.alive():
            return None
        request, tag = self._request("probe", functions=list(functions), values=list(values))
        try:
            run = self.execute(_request_code(request), timeout, silent=True)
            if run.status not in ("ok", "error") or self.outbox is None:
                return None
            try:
                status = self.outbox.json(f"{tag}.status.json")
                arrays = self.outbox.arrays(f"{tag}.values.npz")
            except transfer.TransferError:
                return None
            if not isinstance(status, dict):
                return None
            functions_out = {}
            for name in functions:
                entry = (status.get("functions") or {}).get(name)
                if not isinstance(entry, dict) or not entry.get("found"):
                    functions_out[name] = {"found": False}
                elif entry.get("callable"):
                    functions_out[name] = {"found": True, "callable": True,
                                           "name": transfer.clean_text(entry.get("name"), 100) or name}
                else:
                    functions_out[name] = {"found": True, "callable": False,
                                           "value": transfer.rebuild_or_describe(entry.get("value"), arrays)}
            values_out = {}
            for name in values:
                spec = (status.get("values") or {}).get(name)
                if isinstance(spec, dict) and spec.get("kind") == "missing":
                    continue
                values_out[name] = transfer.rebuild_or_describe(spec, arrays)
            defined = [d for d in status.get("defined", []) if isinstance(d, str)][:500] \
                if isinstance(status.get("defined"), list) else []
            return {"functions": functions_out, "values": values_out, "defined": defined}
        finally:
            if self.outbox is not None:
                self.outbox.discard(self._answers(tag))

    def call(self, name: str, args: tuple, timeout: float) -> Outcome:
        """Call ``name(*args)`` in the kernel; the Outcome is rebuilt from data alone.

        The last status ('died', 'hung') is left in ``self.last`` for the caller to act on.
        """
        if not self.alive():
            self.last = "died"
            return Outcome("raised", error=ErrorInfo("KernelDied", f"the kernel had stopped before {name} was called"))
        request, tag = self._request("call")
        folder = os.path.join(self.inbox, tag)
        os.makedirs(folder)
        try:
            transfer.write_inputs(folder, args, name=name)
            size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
            limit = timeout + IO_ALLOWANCE + size / IO_BYTES_PER_SECOND
            if self.go is None:
                run = self.execute(_request_code(request), limit, silent=True)
            else:
                run = self._served(tag, limit)
            self.last = run.status
            return self._outcome(name, tag, run, timeout, len(args))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            if self.outbox is not None:
                self.outbox.discard(self._answers(tag))

    # the serve request: calls handed out through the FIFOs

    def _serve(self) -> None:
        """Start the serve request (after taking back any line a serve that ended left unread)."""
        _drain(self.go)
        request = {"op": "serve", "inbox": self.inbox, "outbox": self.writable,
                   "go": os.path.join(self.inbox, "go"), "done": os.path.join(self.writable, "done")}
        self.serving = self.kc.execute(_request_code(request), silent=True, store_history=False, allow_stdin=False,
                                       stop_on_error=False)

    def _hand_out(self, line: bytes) -> bool:
        """Write ``line`` to ``go``, after taking back whatever is left there (the grader writes a line only when
        the kernel has read the one before; anything else came from elsewhere); False if it does not fit."""
        for _ in range(3):
            _drain(self.go)
            try:
                os.write(self.go, line)
                return True
            except OSError:   # filled up again meanwhile (only where the kernel can write to it: trusted)
                continue
        return False

    def _stop_serving(self) -> str:
        """End the serve request, if one is under way, before anything else is run: 'ok', or 'died' /
        'hung' (killed) when the kernel is gone."""
        if self.serving is None:
            return "ok"
        serving, self.serving = self.serving, None
        self._hand_out(b"stop\n")
        reply = self._await_reply(serving, time.monotonic() + self.interrupt_grace)
        if reply is None:
            status = self._interrupt(serving, time.monotonic()).status
            return "ok" if status == "timeout" else status
        return "died" if reply == "died" else "ok"

    def _served(self, tag: str, limit: float) -> Executed:
        """Hand out call ``tag`` and wait until the kernel names it as answered, the kernel dies, or the
        limit passes (then: interrupt, and kill if that does not bring it back)."""
        import zmq
        start = time.monotonic()
        line = tag.encode()
        partial, was_named = b"", False   # the unfinished last line read from ``done``; whether ``tag`` came

        def named() -> bool:   # the kernel wrote the line ``tag`` to ``done`` (anything else is ignored)...
            nonlocal partial, was_named
            lines = (partial + _drain(self.done)).split(b"\n")
            partial = lines.pop()[-256:]
            was_named = was_named or line in lines
            # ... and its answer is there: a line written before (a thread that names every call) only wakes the grader
            return was_named and self.outbox is not None and self.outbox.has(f"{tag}.status.json")

        if self.serving is None:
            self._serve()
        _drain(self.done)      # only what is written once this call is handed out can be its answer
        if not self._hand_out(line + b"\n"):
            return Executed("error", "GradingError", "the kernel kept its call channel full", 0.0)
        poller = zmq.Poller()
        shell = self.kc.shell_channel.socket
        poller.register(shell, zmq.POLLIN)
        poller.register(self.done, zmq.POLLIN)
        deadline, retried = start + limit, False
        while (remaining := deadline - time.monotonic()) > 0:
            events = dict(poller.poll(max(1, int(min(0.1, remaining) * 1000))))
            if self.done in events and named():
                return Executed("ok", seconds=time.monotonic() - start)
            ended = self._serve_ended() if shell in events else None
            if ended is not None:
                if not retried and line + b"\n" in _drain(self.go):
                    # it ended before it read this call (a stray interrupt): serve again, hand it out again
                    retried = True
                    self._serve()
                    if not self._hand_out(line + b"\n"):
                        break
                    continue
                content = ended.get("content", {})
                if content.get("status") == "ok" or named():
                    return Executed("ok", seconds=time.monotonic() - start)
                return Executed("error", transfer.clean_text(content.get("ename"), 100),
                                transfer.clean_text(content.get("evalue"), 500), time.monotonic() - start)
            if not events and not self.alive():
                return Executed("died", seconds=time.monotonic() - start)
        # Past the limit: interrupt.  The call is back when the kernel names it (the function raised the
        # interrupt, the serve goes on) or when the serve request ends; otherwise the kernel is killed.
        try:
            self.km.interrupt_kernel()
        except Exception:  # noqa: BLE001 -- a dying kernel's client can raise anything
            pass
        until = time.monotonic() + self.interrupt_grace
        while time.monotonic() < until:
            events = dict(poller.poll(100))
            if (self.done in events and named()) or (shell in events and self._serve_ended() is not None):
                return Executed("timeout", seconds=time.monotonic() - start)
            if not events and not self.alive():
                return Executed("died", seconds=time.monotonic() - start)
        self.kill()
        return Executed("hung", seconds=time.monotonic() - start)

    def _serve_ended(self, most: int = SHELL_BATCH):
        """Read the shell replies that are there (at most ``most``: a kernel that sends replies without end
        must not keep the grader from its clock): the serve request's reply (it has ended) or None."""
        for _ in range(most):
            try:
                msg = self.kc.get_shell_msg(timeout=0)
            except queue.Empty:
                return None
            except Exception:  # noqa: BLE001 -- a reply that does not parse or verify: not one of ours
                continue
            if self.serving is not None and msg.get("parent_header", {}).get("msg_id") == self.serving:
                self.serving = None
                return msg
        return None

    def _outcome(self, name: str, tag: str, run: Executed, timeout: float, n_args: int) -> Outcome:
        if run.status in ("timeout", "hung"):
            return Outcome("timeout", seconds=run.seconds)
        if run.status == "died" or self.outbox is None:
            return Outcome("raised", seconds=run.seconds, error=ErrorInfo(
                "KernelDied", f"the kernel stopped while {name} was running (it called os._exit or exit(), "
                "crashed, or ran out of memory)"))
        try:
            status = self.outbox.json(f"{tag}.status.json")
        except transfer.TransferError as error:
            if run.status == "error":
                return Outcome("raised", error=ErrorInfo(run.ename or "Exception",
                                                         f"{run.evalue} (while the grader was calling {name})"))
            return Outcome("raised", error=ErrorInfo("GradingError", str(error)))
        if not isinstance(status, dict):
            return Outcome("raised", error=ErrorInfo("GradingError", "the call left no usable status"))
        seconds = status.get("seconds")
        seconds = float(seconds) if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) else 0.0
        if seconds > timeout:
            return Outcome("timeout", seconds=seconds)
        error = status.get("error") if isinstance(status.get("error"), dict) else {}
        if status.get("status") == "input_failed":
            what = (f"{transfer.clean_text(error.get('type_name'), 100)}: "
                    f"{transfer.clean_text(error.get('message'), 300)}")
            return Outcome("raised", error=ErrorInfo(
                "GradingError", f"the grader could not hand this input to the kernel ({what})"))
        if status.get("status") == "raised":
            return Outcome("raised", seconds=seconds, error=ErrorInfo(
                transfer.clean_text(error.get("type_name"), 100) or "Exception",
                transfer.clean_text(error.get("message")) or "",
                function=transfer.clean_text(error.get("function"), 100),
                lineno=transfer.clean_int(error.get("lineno")),
                line=transfer.clean_text(error.get("line"), 500),
                not_implemented=error.get("not_implemented") is True))
        if status.get("status") != "returned":
            return Outcome("raised", error=ErrorInfo("GradingError", "the call left no usable status"))
        try:
            value = transfer.rebuild(status.get("value"), self.outbox.arrays(f"{tag}.out.npz"))
        except transfer.TransferError as error:
            return Outcome("raised", seconds=seconds, error=ErrorInfo("ReturnValueRejected", str(error)))
        except MemoryError:   # within the limits above, and still more than this worker could hold
            return Outcome("raised", seconds=seconds, error=ErrorInfo(
                "ReturnValueRejected", "the value returned is too large for the grader to read"))

        def positions(key):   # positions of the arguments, as plain ints in range
            found = status.get(key) if isinstance(status.get(key), list) else []
            return tuple(dict.fromkeys(i for i in found[:64] if isinstance(i, int) and not isinstance(i, bool)
                                       and 0 <= i < n_args))
        # what was fragile about the call (a pass with a warning): plain strings and positions only
        warnings = status.get("warnings") if isinstance(status.get("warnings"), list) else []
        warnings = tuple(t for t in (transfer.clean_text(w, 400) for w in warnings[:20]) if t)
        return Outcome("returned", value=value, seconds=seconds, mutated=positions("mutated"), warnings=warnings,
                       aliased=positions("aliased"))


class KernelSession:
    """The kernels of one submission, one at a time: start (again after one died), run cells, call
    functions, probe names, kill.

    ``notebook`` is the notebook's bytes as the grader read them (each kernel gets a copy of exactly
    these) and ``name`` its file name; ``environment`` the run's KernelEnvironment.  ``spares``: a
    Spares to take each kernel from (launched ahead); without it each start launches its own.
    """

    def __init__(self, notebook: bytes, name: str, root: str, environment, *, memory_bytes: int | None = None,
                 startup_timeout: float = 60.0, interrupt_grace: float = INTERRUPT_GRACE, spares=None):
        self.notebook, self.name = notebook, os.path.basename(name) or "notebook.ipynb"
        self.root = root
        self.env = environment
        self.memory_bytes = memory_bytes
        self.startup_timeout = startup_timeout
        self.interrupt_grace = interrupt_grace
        self.spares = spares
        self.kernel: Kernel | None = None
        self.last = None          # status of the last call: 'ok', 'timeout', 'died', 'hung', …
        self.call_failed = None   # the Outcome of the call that lost the kernel
        self.cpu_seconds = 0.0    # CPU time of every kernel of this session (and what it started)

    @property
    def sandboxed(self) -> bool:
        return self.env.box is not None

    @property
    def pgid(self):
        return self.kernel.pgid if self.kernel is not None else None

    def start(self) -> None:
        """A fresh kernel in fresh folders, the notebook's copy in its working folder, ready."""
        self.kill()
        if self.spares is not None:
            self.kernel = self.spares.take()
        else:
            self.kernel = Kernel(self.root, self.env, memory_bytes=self.memory_bytes,
                                 startup_timeout=self.startup_timeout, interrupt_grace=self.interrupt_grace)
            try:
                self.kernel.launch()
            except BaseException:
                self.kill()
                raise
        try:
            self.kernel.ready(self.notebook, self.name)
        except BaseException:
            self.kill()
            raise

    def stderr_tail(self, size: int = 400) -> str:
        return self.kernel.stderr_tail(size) if self.kernel is not None else ""

    def alive(self) -> bool:
        return self.kernel is not None and self.kernel.alive()

    def kill(self) -> None:
        """Stop the kernel and everything it started, now; remove its folders."""
        if self.kernel is not None:
            kernel, self.kernel = self.kernel, None
            kernel.kill()
            self.cpu_seconds += kernel.cpu_seconds

    def close(self) -> None:
        self.kill()

    def execute(self, code: str, timeout: float, *, silent: bool = False) -> Executed:
        if self.kernel is None:
            return Executed("died")
        return self.kernel.execute(code, timeout, silent=silent)

    def probe(self, functions: list, values: list, timeout: float = 30.0):
        return self.kernel.probe(functions, values, timeout) if self.kernel is not None else None

    def call(self, name: str, args: tuple, timeout: float) -> Outcome:
        if self.kernel is None:
            self.last = "died"
            return Outcome("raised", error=ErrorInfo("KernelDied", f"the kernel had stopped before {name} was called"))
        outcome = self.kernel.call(name, args, timeout)
        self.last = self.kernel.last
        return outcome


class Spares:
    """Kernels launched ahead of need, for a worker that grades one notebook after another.

    ``take()`` hands over the kernel launched last (it has been booting meanwhile), or launches one
    now, and — while ``keep_one`` says more notebooks may come — launches the next at once, so that
    it boots while this one is graded.  Every kernel is taken once and killed with its notebook;
    ``close()`` kills the one left over.
    """

    def __init__(self, folder: str, environment, *, memory_bytes: int | None = None, startup_timeout: float = 60.0,
                 tell=None):
        self.folder = folder
        self.env = environment
        self.memory_bytes = memory_bytes
        self.startup_timeout = startup_timeout
        self.tell = tell
        self.keep_one = True
        self.spare: Kernel | None = None

    def _launch(self) -> Kernel:
        kernel = Kernel(self.folder, self.env, memory_bytes=self.memory_bytes, startup_timeout=self.startup_timeout,
                        tell=self.tell)
        try:
            return kernel.launch()
        except BaseException:
            kernel.kill()
            raise

    def prepare(self) -> None:
        """Launch a kernel now if none is waiting (one that fails to launch is left to take())."""
        if self.spare is None:
            try:
                self.spare = self._launch()
            except Exception:  # noqa: BLE001 -- take() launches again and reports what fails
                self.spare = None

    def take(self) -> Kernel:
        kernel, self.spare = self.spare, None
        if kernel is not None and not kernel.alive():   # died while it waited: not worth handing out
            kernel.kill()
            kernel = None
        if kernel is None:
            kernel = self._launch()
        if self.keep_one:
            self.prepare()
        return kernel

    def close(self) -> None:
        if self.spare is not None:
            self.spare.kill()
            self.spare = None


def check_kernel(environment, root: str, *, memory_bytes: int | None, timeout: float = 60.0) -> str | None:
    """Start one kernel as the run will (sandboxed or not) and import what a notebook imports.

    None when it works; otherwise one sentence saying what failed, with the kernel's stderr.
    """
    folder = tempfile.mkdtemp(prefix="preflight-", dir=root)
    session = KernelSession(b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}', "preflight.ipynb",
                            folder, environment, memory_bytes=memory_bytes, startup_timeout=timeout)
    try:
        try:
            session.start()
        except Exception as error:  # noqa: BLE001 -- any failure here is reported, never raised
            return f"a kernel could not be started ({type(error).__name__}: {error})"
        code = ("import numpy, checker\n"
                "assert checker.GRADING_KERNEL, 'the kernel imported the full checker, not the grading copy'\n"
                f"import {HELPER_MODULE}")
        run = session.execute(code, timeout)
        if run.status != "ok":
            detail = f"{run.ename}: {run.evalue}" if run.status == "error" else run.status
            return f"a new kernel could not import numpy and the grading copy of checker ({detail}) " \
                   f"{session.stderr_tail()}".strip()
        return None
    finally:
        session.close()
        shutil.rmtree(folder, ignore_errors=True)
