"""What every kernel of one grading run shares: the reduced ``checker`` and the sandbox.

    env = environment.prepare(scratch, hide=[out, *submission_roots])   # SandboxUnavailable: no bwrap
    env = environment.prepare(scratch, trust=True)                        # --trust-notebooks: no sandbox
    …  KernelSession(…, environment=env) for every notebook, in any worker (env.to_json() travels)
    environment.release(env)

Prepared once per run in the main process: the kernel package (kernel_package.py), the sandbox
check (sandbox.find) and what a kernel sees (sandbox.plan).  With ``trust=True`` kernels run
without a sandbox, as the grader's user with the machine in reach — still with the reduced
``checker``, the memory and file-size caps and a clean environment.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from dataclasses import dataclass

from checker.grading import kernel_package, sandbox

SHORT_PATH = 60   # a kernel's sockets are <kernels>/kernel-XXXXXXXX/z-NNNNN: must stay under 108 bytes


@dataclass
class KernelEnvironment:
    site: str                                 # the reduced checker's folder: first on the kernel's PYTHONPATH
    box: sandbox.Sandbox | None = None        # None: no sandbox (--trust-notebooks)
    view: sandbox.View | None = None
    python: str = sys.executable
    kernels: str = ""                         # where each kernel's writable folder is made: a short path,
                                              # for the Unix sockets inside it (at most 107 bytes)
    owned: bool = True                        # release() removes the site (and kernels, when separate)

    @property
    def description(self) -> str:
        """What results.json says under "sandbox": "bubblewrap 0.8.0", or "none"."""
        return self.box.version if self.box is not None else "none"

    def to_json(self) -> dict:
        return {"site": self.site, "python": self.python, "kernels": self.kernels,
                "box": self.box.to_json() if self.box else None, "view": self.view.to_json() if self.view else None}

    @classmethod
    def from_json(cls, data: dict) -> KernelEnvironment:
        return cls(site=data["site"], python=data.get("python") or sys.executable, kernels=data.get("kernels", ""),
                   box=sandbox.Sandbox(**data["box"]) if data.get("box") else None,
                   view=sandbox.View(**data["view"]) if data.get("view") else None, owned=False)


def prepare(folder: str, *, trust: bool = False, hide=(), python: str = sys.executable) -> KernelEnvironment:
    """Build the kernel package under ``folder`` and, unless ``trust``, find and plan the sandbox.

    Raises sandbox.SandboxUnavailable (its message says how to install or enable bubblewrap)
    before anything is built when the sandbox is wanted and not there.
    """
    box = None if trust else sandbox.find()
    site = kernel_package.build(folder)
    kernels = _short_folder(folder)
    if box is None:
        return KernelEnvironment(site=site, python=python, kernels=kernels)
    try:
        etc = sandbox.write_etc(os.path.join(folder, "sandbox-etc"))
        view = sandbox.plan(python, site, package=str(kernel_package.installed_package()),
                            hide=[folder, kernels, *hide], etc=etc)
    except Exception:
        release(KernelEnvironment(site=site, kernels=kernels))
        raise
    return KernelEnvironment(site=site, box=box, view=view, python=python, kernels=kernels)


def _short_folder(folder: str) -> str:
    """``folder/k`` when its path leaves room for a socket's name, else a new folder in /tmp."""
    if len(os.path.join(folder, "k")) <= SHORT_PATH:
        os.makedirs(os.path.join(folder, "k"), exist_ok=True)
        return os.path.join(folder, "k")
    return tempfile.mkdtemp(prefix="checker-k-", dir="/tmp" if os.path.isdir("/tmp") else None)


def release(env: KernelEnvironment | None) -> None:
    if env is not None and env.owned:
        kernel_package.remove(env.site)
        if env.kernels:
            shutil.rmtree(env.kernels, ignore_errors=True)
