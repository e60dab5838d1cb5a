"""The ``checker`` a grading kernel imports: a reduced, read-only copy, built once per run.

    site = kernel_package.build(scratch)      # -> "<scratch>/kernel-site"; first on the kernel's PYTHONPATH

The copy holds exactly the files that ``checker._mode.KERNEL_FILES`` names (glob entries such
as ``examples/*.npz`` included; an entry that matches nothing in the installed package is
skipped), with ``GRADING_KERNEL = True`` written into ``_mode.py``.  The reference network, the
exercise tables with their answers, ``evaluate`` and the grader itself are not in it, so a
notebook has no route to them there.  Beside it sits ``_checker_grader.py`` (kernel_helper.py),
the grader's side in the kernel, imported once per kernel.

Files are made read-only (0444, folders 0555); the sandbox binds the folder read-only as well.
``remove(site)`` deletes it again.
"""
from __future__ import annotations

import compileall
import glob
import os
import re
import shutil
import stat
from pathlib import Path

HELPER_MODULE = "_checker_grader"
SITE = "kernel-site"


class KernelPackageError(RuntimeError):
    """The installed package cannot be reduced (its _mode.py is not as expected)."""


def installed_package() -> Path:
    """The folder of the ``checker`` this grader runs (an editable checkout or site-packages)."""
    import checker
    return Path(checker.__file__).resolve().parent


def kernel_files(package: Path) -> list[str]:
    """The relative paths (posix) of the package files a grading kernel gets, sorted."""
    from checker._mode import KERNEL_FILES
    found = set()
    for entry in KERNEL_FILES:
        for path in glob.glob(str(package / entry)):
            if os.path.isfile(path) and not os.path.islink(path):
                found.add(Path(path).relative_to(package).as_posix())
    return sorted(found)


def _grading_mode(text: str) -> str:
    new, count = re.subn(r"^GRADING_KERNEL = False$", "GRADING_KERNEL = True", text, flags=re.MULTILINE)
    if count != 1:
        raise KernelPackageError("checker/_mode.py has no line `GRADING_KERNEL = False` to switch on: "
                                 "the grading kernel's package cannot be built from this install")
    return new


def build(dest: str) -> str:
    """Write the reduced copy into ``dest/kernel-site`` and return that folder (see module doc)."""
    package = installed_package()
    site = Path(dest) / SITE
    target = site / "checker"
    target.mkdir(parents=True)
    for relative in kernel_files(package):
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(package / relative, target / relative)
    mode = target / "_mode.py"
    if not mode.exists():
        raise KernelPackageError("checker/_mode.py is missing from the installed package")
    mode.write_text(_grading_mode(mode.read_text(encoding="utf-8")), encoding="utf-8")
    shutil.copyfile(Path(__file__).with_name("kernel_helper.py"), site / f"{HELPER_MODULE}.py")
    # Bytecode now, once: the kernels cannot write it (read-only) and would compile on every start.
    compileall.compile_dir(str(site), quiet=2, workers=1)
    _read_only(site)
    return str(site)


def _read_only(root: Path) -> None:
    for folder, _, files in os.walk(root):
        for name in files:
            os.chmod(os.path.join(folder, name), 0o444)
    for folder, _, _ in os.walk(root, topdown=False):
        os.chmod(folder, 0o555)


def remove(site: str) -> None:
    """Delete a copy made by build (its folders are read-only, so make them writable first)."""
    if not os.path.isdir(site) or os.path.islink(site):
        return
    for folder, _, _ in os.walk(site):
        try:
            os.chmod(folder, stat.S_IRWXU)
        except OSError:
            pass
    shutil.rmtree(site, ignore_errors=True)
