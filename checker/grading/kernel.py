"""A student's kernel, kept at arm's length.

``KernelSession`` starts a fresh ipykernel for one submission — in a temporary copy of the
notebook's folder, with a memory cap, a file-size cap and a small environment — runs the
notebook's cells under time limits, and then calls the student's functions *inside that
kernel*.  Only data comes back (see transfer.py): the grader never evaluates anything the
kernel says about passing, and never holds an object the kernel made.

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

from checker.grading import transfer
from checker.runner import ErrorInfo, Outcome

IO_ALLOWANCE = 1.0        # seconds on top of a call's limit for moving its inputs and outputs,
IO_BYTES_PER_SECOND = 20e6  # plus this much per byte sent (the answer is about as large again)
INTERRUPT_GRACE = 3.0     # seconds a kernel has to come back after an interrupt
FILE_SIZE_LIMIT = 1 * 2**30
KERNEL_NAME = "checker-grader"
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


# --- the code sent to the kernel -------------------------------------------------------------
# It is sent whole with every request (nothing of the grader's lives in the kernel between
# requests) and runs in the user's namespace.  Whatever it writes is only data to the grader;
# if the notebook has broken numpy or json, the worst it can do is fail.

KERNEL_CODE = r'''
def __checker_grader__(request):
    import json, linecache, os, sysconfig, time, types, warnings
    import numpy as np
    ns = globals()
    folder = request["folder"]

    def write_json(name, obj):
        part = os.path.join(folder, name + ".part")
        with open(part, "w", encoding="utf-8") as f:
            json.dump(obj, f)
        os.replace(part, os.path.join(folder, name))

    def type_name(v):
        try:
            return str(type(v).__name__)[:60]
        except BaseException:
            return "object"

    def encode(v, key, arrays, depth):
        try:
            if v is None:
                return {"kind": "none"}
            if v is Ellipsis:
                return {"kind": "ellipsis"}
            if isinstance(v, (bool, np.bool_)):
                return {"kind": "bool", "value": bool(v)}
            if isinstance(v, (int, np.integer)):
                return {"kind": "int", "value": int(v)}
            if isinstance(v, (float, np.floating)):
                return {"kind": "float", "value": float(v)}
            if isinstance(v, np.ndarray):
                a = np.ndarray.view(v, np.ndarray)
                if a.dtype.kind in "biufc":
                    arrays[key] = np.array(a, copy=True)
                    return {"kind": "array", "key": key}
                return {"kind": "objarray", "shape": [int(n) for n in a.shape]}
            if isinstance(v, str):
                return {"kind": "str", "value": str.__str__(v)[:10000]}
            if isinstance(v, dict) and depth < 2:
                items = []
                for j, (k, x) in enumerate(list(dict.items(v))[:1000]):
                    name = str.__str__(k) if isinstance(k, str) else "<key of type %s>" % type_name(k)
                    items.append([name, encode(x, "%s_%d" % (key, j), arrays, depth + 1)])
                return {"kind": "dict", "items": items}
            if isinstance(v, (list, tuple)):
                kind = "list" if isinstance(v, list) else "tuple"
                n = len(v)
                if depth < 2 and n <= 100:
                    return {"kind": kind, "items": [encode(x, "%s_%d" % (key, j), arrays, depth + 1)
                                                     for j, x in enumerate(v)]}
                return {"kind": kind, "len": int(n)}
        except Exception:
            pass
        return {"kind": "other", "type": type_name(v)}

    libraries = {os.path.abspath(p) for k, p in sysconfig.get_paths().items()
                 if k in ("stdlib", "platstdlib", "purelib", "platlib")}
    try:
        import checker
        libraries.add(os.path.dirname(os.path.abspath(checker.__file__)))
    except Exception:
        pass

    def describe(exc):
        info = {"type_name": type_name(exc), "message": "", "function": None, "lineno": None,
                "line": None, "not_implemented": isinstance(exc, NotImplementedError)}
        try:
            info["message"] = str(exc)[:2000]
        except BaseException:
            pass
        tb = exc.__traceback__
        while tb is not None:
            code = tb.tb_frame.f_code
            name = code.co_filename
            path = name if name.startswith("<") else os.path.abspath(name)
            if code.co_name != "__checker_grader__" and not any(path.startswith(d + os.sep) for d in libraries):
                info["function"], info["lineno"] = str(code.co_name), int(tb.tb_lineno)
                info["line"] = (linecache.getline(name, tb.tb_lineno) or "")[:500] or None
            tb = tb.tb_next
        return info

    if request["op"] == "probe":
        arrays, out = {}, {"functions": {}, "values": {}, "defined": []}
        for name in request["functions"]:
            if name not in ns:
                out["functions"][name] = {"found": False}
                continue
            v = ns[name]
            if callable(v) and v is not Ellipsis:
                out["functions"][name] = {"found": True, "callable": True,
                                          "name": str(getattr(v, "__name__", name))[:100]}
            else:
                out["functions"][name] = {"found": True, "callable": False,
                                          "value": encode(v, "f%d" % len(out["functions"]), arrays, 1)}
        for j, name in enumerate(request["values"]):
            out["values"][name] = encode(ns[name], "v%d" % j, arrays, 0) if name in ns else {"kind": "missing"}
        out["defined"] = sorted(str(k) for k, v in list(ns.items())
                                if isinstance(v, types.FunctionType) and not str(k).startswith("_"))[:500]
        np.savez(os.path.join(folder, "values.npz"), **arrays)
        write_json("status.json", out)
        return

    with open(os.path.join(folder, "call.json"), encoding="utf-8") as f:
        spec = json.load(f)
    with np.load(os.path.join(folder, "in.npz"), allow_pickle=False) as npz:
        data = {k: np.array(npz[k]) for k in npz.files}
    args = []
    for s in spec["args"]:
        if s["kind"] == "array":
            args.append(data[s["key"]])
        elif s["kind"] == "dict":
            args.append({k: data[key] for k, key in s["keys"]})
        elif s["kind"] == "pickle":
            import pickle
            args.append(pickle.loads(data[s["key"]].tobytes()))
        else:
            args.append(s["value"])
    fn = ns.get(request["name"])
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with np.errstate(all="ignore"):
                value = fn(*args)
    except BaseException as exc:
        seconds = time.perf_counter() - start
        write_json("status.json", {"status": "raised", "seconds": seconds, "error": describe(exc)})
        return
    seconds = time.perf_counter() - start
    arrays, post = {}, {}
    described = encode(value, "v", arrays, 0)
    np.savez(os.path.join(folder, "out.npz"), **arrays)
    after = [encode(a, "p%d" % i, post, 0) for i, a in enumerate(args)]
    np.savez(os.path.join(folder, "post.npz"), **post)
    write_json("status.json", {"status": "returned", "seconds": seconds, "value": described, "post": after})
'''


def _request_code(request: dict) -> str:
    return KERNEL_CODE + f"\n__checker_grader__({request!r})\ndel __checker_grader__\n"


# --- the session -------------------------------------------------------------------------------

def _limits(memory_bytes: int | None):
    """preexec_fn for the kernel: cap its address space, the files it writes, no core dumps."""
    def apply():
        import resource
        if memory_bytes:
            resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return apply


def _kernel_env(workdir: str) -> dict:
    env = {k: os.environ[k] for k in PASS_ENV if k in os.environ}
    home = os.path.join(workdir, ".home")
    tmp = os.path.join(workdir, ".tmp")
    os.makedirs(home, exist_ok=True)
    os.makedirs(tmp, exist_ok=True)
    env.update(HOME=home, USERPROFILE=home, TMPDIR=tmp, TEMP=tmp, TMP=tmp,
               IPYTHONDIR=os.path.join(home, ".ipython"), MPLCONFIGDIR=os.path.join(home, ".matplotlib"),
               MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1",
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               VECLIB_MAXIMUM_THREADS="1", NUMEXPR_NUM_THREADS="1")
    return env


class KernelSession:
    """One kernel for one submission: start, run cells, call functions, probe names, kill."""

    def __init__(self, notebook_path: str, root: str, *, memory_bytes: int | None = None,
                 startup_timeout: float = 60.0, interrupt_grace: float = INTERRUPT_GRACE,
                 python: str = sys.executable):
        self.notebook_path = notebook_path
        self.root = root
        self.memory_bytes = memory_bytes
        self.startup_timeout = startup_timeout
        self.interrupt_grace = interrupt_grace
        self.python = python
        self.km = self.kc = None
        self.workdir = None
        self.exchange = tempfile.mkdtemp(prefix="exchange-", dir=root)
        self.spec_dir = self._write_kernelspec()
        self.pgid = None
        self._attempt = 0
        self.last = None          # status of the last call: 'ok', 'timeout', 'died', 'hung', …
        self.call_failed = None   # the Outcome of the call that lost the kernel

    def _write_kernelspec(self) -> str:
        spec_dir = os.path.join(self.root, "kernelspec")
        os.makedirs(os.path.join(spec_dir, KERNEL_NAME), exist_ok=True)
        with open(os.path.join(spec_dir, KERNEL_NAME, "kernel.json"), "w", encoding="utf-8") as f:
            json.dump({"argv": [self.python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                       "display_name": "checker grader", "language": "python",
                       "interrupt_mode": "signal"}, f)
        return spec_dir

    # lifecycle

    def start(self) -> None:
        """A fresh kernel in a fresh copy of the notebook's folder (only the notebook itself)."""
        from jupyter_client import KernelManager
        from jupyter_client.kernelspec import KernelSpecManager

        self.kill()
        self.workdir = tempfile.mkdtemp(prefix="kernel-", dir=self.root)
        shutil.copy(self.notebook_path, os.path.join(self.workdir, os.path.basename(self.notebook_path)))
        self._attempt += 1
        # Unix sockets in the session's own folder where the path is short enough: no TCP ports
        # to race for with other kernels on the machine.
        ipc = os.path.join(self.root, f"k{self._attempt}")
        transport = {"transport": "ipc", "ip": ipc} if os.name == "posix" and len(ipc) < 90 else {}
        self.km = KernelManager(kernel_name=KERNEL_NAME, **transport,
                                kernel_spec_manager=KernelSpecManager(kernel_dirs=[self.spec_dir]))
        self.km.connection_file = os.path.join(self.root, f"connection-{self._attempt}.json")
        self._log_path = os.path.join(self.root, "kernel-stderr.log")
        self._log = open(self._log_path, "ab")
        kwargs = {"cwd": self.workdir, "env": _kernel_env(self.workdir),
                  "stdout": subprocess.DEVNULL, "stderr": self._log}
        if os.name == "posix":
            kwargs["preexec_fn"] = _limits(self.memory_bytes)
        self.km.start_kernel(**kwargs)
        try:
            self.pgid = os.getpgid(self.km.provisioner.pid) if hasattr(os, "getpgid") else None
        except (OSError, AttributeError):
            self.pgid = None
        self.kc = self.km.blocking_client()
        self.kc.start_channels()
        try:
            self.kc.wait_for_ready(timeout=self.startup_timeout)
        except RuntimeError as error:
            self.kill()
            raise RuntimeError(f"{error} {self.stderr_tail()}".strip()) from None

    def stderr_tail(self, size: int = 400) -> str:
        try:
            with open(self._log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - size))
                tail = f.read().decode("utf-8", "replace").strip()
        except (OSError, AttributeError):
            return ""
        return f"[kernel stderr: …{tail}]" if tail else ""

    def alive(self) -> bool:
        try:
            return self.km is not None and self.km.is_alive()
        except Exception:
            return False

    def kill(self) -> None:
        """Stop the kernel and everything in its process group, now; remove its folder."""
        if self.kc is not None:
            try:
                self.kc.stop_channels()
            except Exception:
                pass
        if self.km is not None:
            try:
                self.km.shutdown_kernel(now=True)
            except Exception:
                pass
        if self.pgid and hasattr(os, "killpg"):
            try:
                os.killpg(self.pgid, signal.SIGKILL)
            except OSError:
                pass
        if getattr(self, "_log", None) is not None:
            self._log.close()
            self._log = None
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        self.km = self.kc = self.workdir = self.pgid = None

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.exchange, ignore_errors=True)

    # execution

    def _drain_iopub(self, limit: int = 2000) -> None:
        for _ in range(limit):
            try:
                self.kc.get_iopub_msg(timeout=0)
            except queue.Empty:
                return
            except Exception:
                return

    def _await_reply(self, msg_id: str, deadline: float):
        """The execute_reply for msg_id; 'died' if the kernel exits; None at the deadline."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                msg = self.kc.get_shell_msg(timeout=min(0.1, remaining))
            except queue.Empty:
                self._drain_iopub()
                if not self.alive():
                    return "died"
                continue
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                self._drain_iopub()
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
            except Exception:
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

    def _exchange_folder(self) -> str:
        return tempfile.mkdtemp(prefix="call-", dir=self.exchange)

    def probe(self, functions: list, values: list, timeout: float = 30.0):
        """What the names hold in the kernel: {'functions': {name: …}, 'values': {name: value}, 'defined': […]}.

        Values are rebuilt from data (transfer.rebuild); None if the kernel could not answer.
        """
        folder = self._exchange_folder()
        try:
            run = self.execute(_request_code({"op": "probe", "folder": folder, "functions": list(functions),
                                              "values": list(values)}), timeout, silent=True)
            if run.status not in ("ok", "error"):
                return None
            try:
                status = transfer.read_json(os.path.join(folder, "status.json"))
                arrays = transfer.load_arrays(os.path.join(folder, "values.npz"))
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
            shutil.rmtree(folder, ignore_errors=True)

    def call(self, name: str, args: tuple, timeout: float) -> Outcome:
        """Call ``name(*args)`` in the kernel; the Outcome is rebuilt from data alone.

        The last status ('died', 'hung') is left in ``self.last`` for the caller to act on.
        """
        folder = self._exchange_folder()
        try:
            transfer.write_inputs(folder, args)
            size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
            run = self.execute(_request_code({"op": "call", "folder": folder, "name": name}),
                               timeout + IO_ALLOWANCE + size / IO_BYTES_PER_SECOND, silent=True)
            self.last = run.status
            if run.status in ("timeout", "hung"):
                return Outcome("timeout", seconds=run.seconds)
            if run.status == "died":
                return Outcome("raised", seconds=run.seconds, error=ErrorInfo(
                    "KernelDied", f"the kernel stopped while {name} was running (it called os._exit or exit(), "
                    "crashed, or ran out of memory)"))
            try:
                status = transfer.read_json(os.path.join(folder, "status.json"))
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
            if status.get("status") == "raised":
                error = status.get("error") if isinstance(status.get("error"), dict) else {}
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
                value = transfer.rebuild(status.get("value"),
                                         transfer.load_arrays(os.path.join(folder, "out.npz")))
                post_arrays = transfer.load_arrays(os.path.join(folder, "post.npz"))
            except transfer.TransferError as error:
                return Outcome("raised", seconds=seconds, error=ErrorInfo("ReturnValueRejected", str(error)))
            post = status.get("post")
            mutated = ()
            if isinstance(post, list) and len(post) == len(args):
                mutated = tuple(i for i, (before, spec) in enumerate(zip(args, post))
                                if not transfer.same(before, transfer.rebuild(spec, post_arrays)))
            return Outcome("returned", value=value, seconds=seconds, mutated=mutated)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
