"""A student's kernel, kept at arm's length.

``KernelSession`` starts a fresh ipykernel for one submission — in the sandbox (sandbox.py)
unless the run trusts its notebooks, with the reduced ``checker`` (kernel_package.py), a memory
cap, a file-size cap and a small environment — runs the notebook's cells under time limits,
and then calls the student's functions *inside that kernel*.  Only data comes back (see
transfer.py): the grader never evaluates anything the kernel says about passing, and never
holds an object the kernel made.

Folders of one session (``root``, the grader's own; never visible to the kernel as a whole):

    kernels/kernel-XXXX/      the kernel's only writable folder (bound read-write at the same path;
                              ``kernels`` is the run's short folder, for the socket paths):
        work/                 its working folder: the notebook's copy, HOME
        z-<port>              the ZMQ sockets it binds (ipc: no network needed)
        <tag>.status.json …   its answers to the grader's requests
    root/inbox-N/             written by the grader only, read-only inside: the connection file,
        c<k>/                 and each call's inputs (call.json, in.npz)
    root/kernelspec-N/        the kernelspec whose argv is the bwrap command (grader only)
    root/kernel-stderr.log    the kernel's stderr (grader only)

The grader writes nothing into a folder the kernel can write once the kernel runs, reads what
the kernel wrote without following links and with size limits, and never reads the kernel's
output: after start-up the IOPub channel is closed (the kernel's prints go nowhere), and every
message larger than MAX_MESSAGE_BYTES is refused by ZMQ before it is read.

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
KERNEL_NAME = "checker-grader"
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


class KernelSession:
    """One kernel for one submission: start, run cells, call functions, probe names, kill.

    ``notebook`` is the notebook's bytes as the grader read them (the kernel gets a copy of
    exactly these) and ``name`` its file name; ``environment`` the run's KernelEnvironment.
    """

    def __init__(self, notebook: bytes, name: str, root: str, environment, *, memory_bytes: int | None = None,
                 startup_timeout: float = 60.0, interrupt_grace: float = INTERRUPT_GRACE):
        self.notebook, self.name = notebook, os.path.basename(name) or "notebook.ipynb"
        self.root = root
        self.env = environment
        self.memory_bytes = memory_bytes
        self.startup_timeout = startup_timeout
        self.interrupt_grace = interrupt_grace
        self.km = self.kc = self.context = None
        self.outbox = None
        self.inbox = self.writable = self.workdir = None
        self.pgid = None
        self._attempt = 0
        self._calls = 0
        self._log = None
        self._log_path = os.path.join(self.root, "kernel-stderr.log")
        self.last = None          # status of the last call: 'ok', 'timeout', 'died', 'hung', …
        self.call_failed = None   # the Outcome of the call that lost the kernel
        self.cpu_seconds = 0.0    # CPU time of every kernel of this session (and what it started)

    @property
    def sandboxed(self) -> bool:
        return self.env.box is not None

    def _kernelspec(self, argv: list) -> str:
        spec_dir = os.path.join(self.root, f"kernelspec-{self._attempt}")
        os.makedirs(os.path.join(spec_dir, KERNEL_NAME))
        with open(os.path.join(spec_dir, KERNEL_NAME, "kernel.json"), "w", encoding="utf-8") as f:
            # "message": an interrupt travels on the control channel; a signal would stop at bwrap.
            json.dump({"argv": argv, "display_name": "checker grader", "language": "python",
                       "interrupt_mode": "message" if self.sandboxed else "signal"}, f)
        return spec_dir

    # lifecycle

    def start(self) -> None:
        """A fresh kernel in fresh folders, the notebook's copy in its working folder."""
        import zmq
        from jupyter_client import KernelManager
        from jupyter_client.kernelspec import KernelSpecManager

        self.kill()
        self._attempt += 1
        self.inbox = os.path.join(self.root, f"inbox-{self._attempt}")
        self.writable = tempfile.mkdtemp(prefix="kernel-", dir=self.env.kernels or self.root)
        self.workdir = os.path.join(self.writable, "work")
        os.makedirs(self.inbox)
        os.makedirs(self.workdir)
        with open(os.path.join(self.workdir, self.name), "wb") as f:
            f.write(self.notebook)
        env = kernel_env(self.workdir, self.env.site, sandboxed=self.sandboxed, python=self.env.python)
        self.outbox = transfer.Outbox(self.writable)   # opened before the kernel can touch the folder

        ipc = os.path.join(self.writable, "z")
        use_ipc = os.name == "posix" and len(ipc) + 8 < SOCKET_PATH_MAX
        if self.sandboxed and not use_ipc:
            raise RuntimeError(f"the grader's scratch folder path is too long for the kernel's Unix sockets "
                               f"({ipc}); set TMPDIR to a shorter folder, e.g. TMPDIR=/tmp")
        argv = [self.env.python, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                "--HistoryManager.hist_file=:memory:"]   # no SQLite history written per cell
        if self.sandboxed:
            argv = sandbox.command(self.env.box, self.env.view, inbox=self.inbox, writable=self.writable,
                                   cwd=self.workdir, env=env, argv=argv)
        self.context = zmq.Context()
        # Larger messages are dropped by ZMQ before the grader reads them (a 500 MiB traceback, …).
        self.context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        self.km = KernelManager(kernel_name=KERNEL_NAME, context=self.context,
                                **({"transport": "ipc", "ip": ipc} if use_ipc else {}),
                                kernel_spec_manager=KernelSpecManager(kernel_dirs=[self._kernelspec(argv)]))
        self.km.connection_file = os.path.join(self.inbox, "connection.json")
        self._log = open(self._log_path, "ab")
        kwargs = {"cwd": self.workdir, "env": env, "stdout": subprocess.DEVNULL, "stderr": self._log}
        if os.name == "posix":
            kwargs["preexec_fn"] = _limits(self.memory_bytes)
        self.km.start_kernel(**kwargs)
        try:
            self.pgid = os.getpgid(self.km.provisioner.pid) if hasattr(os, "getpgid") else None
        except (OSError, AttributeError):
            self.pgid = None
        self.kc = self.km.client(context=self.context)
        self.kc.start_channels(hb=False, stdin=False)
        try:
            self.kc.wait_for_ready(timeout=self.startup_timeout)
        except RuntimeError as error:
            self.kill()
            raise RuntimeError(f"{error} {self.stderr_tail()}".strip()) from None
        # From here on nothing the kernel prints reaches the grader: no subscriber, nothing kept.
        self.kc.iopub_channel.close()

    def stderr_tail(self, size: int = 400) -> str:
        try:
            with open(self._log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - size))
                tail = f.read().decode("utf-8", "replace").strip()
        except OSError:
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
        if self.km is not None:
            try:
                self.km.shutdown_kernel(now=True)
            except Exception:  # noqa: BLE001 -- a dying kernel's client can raise anything
                pass
        if self.pgid and hasattr(os, "killpg"):
            try:   # bwrap's process group: with it goes the sandbox's PID namespace, and all in it
                os.killpg(self.pgid, signal.SIGKILL)
            except OSError:
                pass
        if self.context is not None:
            self.context.destroy(linger=0)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self.outbox is not None:
            self.outbox.close()
        for folder in (self.writable, self.inbox):
            if folder:
                shutil.rmtree(folder, ignore_errors=True)   # never follows the links a kernel left
        self.km = self.kc = self.context = self.outbox = self.pgid = None
        self.writable = self.inbox = self.workdir = None

    def close(self) -> None:
        self.kill()

    # execution

    def _await_reply(self, msg_id: str, deadline: float):
        """The execute_reply for msg_id; 'died' if the kernel exits; None at the deadline."""
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

    def execute(self, code: str, timeout: float, *, silent: bool = False) -> Executed:
        """Run code; interrupt it after ``timeout`` s, kill the kernel if that does not stop it."""
        if not self.alive():
            return Executed("died")
        start = time.monotonic()
        msg_id = self.kc.execute(code, silent=silent, store_history=not silent, allow_stdin=False,
                                 stop_on_error=False)
        reply = self._await_reply(msg_id, start + timeout)
        if reply is None:
            try:
                self.km.interrupt_kernel()
            except Exception:  # noqa: BLE001 -- a dying kernel's client can raise anything
                pass
            reply = self._await_reply(msg_id, time.monotonic() + self.interrupt_grace)
            seconds = time.monotonic() - start
            if reply is None:
                self.kill()
                return Executed("hung", seconds=seconds)
            if reply == "died":
                return Executed("died", seconds=seconds)
            return Executed("timeout", seconds=seconds)
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
        return {"op": op, "inbox": os.path.join(self.inbox, tag), "outbox": self.writable, "tag": tag,
                **fields}, tag

    def _answers(self, tag: str) -> list:
        return [f"{tag}.{name}" for name in ("status.json", "values.npz", "out.npz", "post.npz")]

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
                                           "value": transfer.rebuild(entry.get("value"), arrays)}
            values_out = {}
            for name in values:
                spec = (status.get("values") or {}).get(name)
                if isinstance(spec, dict) and spec.get("kind") == "missing":
                    continue
                values_out[name] = transfer.rebuild(spec, arrays)
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
        request, tag = self._request("call", name=name)
        inbox = request["inbox"]
        os.makedirs(inbox)
        try:
            transfer.write_inputs(inbox, args)
            size = sum(os.path.getsize(os.path.join(inbox, f)) for f in os.listdir(inbox))
            run = self.execute(_request_code(request), timeout + IO_ALLOWANCE + size / IO_BYTES_PER_SECOND,
                               silent=True)
            self.last = run.status
            return self._outcome(name, tag, run, args, timeout)
        finally:
            shutil.rmtree(inbox, ignore_errors=True)
            if self.outbox is not None:
                self.outbox.discard(self._answers(tag))

    def _outcome(self, name: str, tag: str, run: Executed, args: tuple, timeout: float) -> Outcome:
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
            post_arrays = self.outbox.arrays(f"{tag}.post.npz")
        except transfer.TransferError as error:
            return Outcome("raised", seconds=seconds, error=ErrorInfo("ReturnValueRejected", str(error)))
        post = status.get("post")
        mutated = ()
        if isinstance(post, list) and len(post) == len(args):
            mutated = tuple(i for i, (before, spec) in enumerate(zip(args, post, strict=True))
                            if not transfer.same(before, transfer.rebuild(spec, post_arrays)))
        # what was fragile about the call (a pass with a warning): plain strings and positions only
        warnings = status.get("warnings") if isinstance(status.get("warnings"), list) else []
        warnings = tuple(t for t in (transfer.clean_text(w, 400) for w in warnings[:20]) if t)
        aliased = status.get("aliased") if isinstance(status.get("aliased"), list) else []
        aliased = tuple(i for i in aliased if isinstance(i, int) and not isinstance(i, bool) and 0 <= i < len(args))
        return Outcome("returned", value=value, seconds=seconds, mutated=mutated, warnings=warnings, aliased=aliased)


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
