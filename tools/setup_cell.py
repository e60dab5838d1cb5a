"""The setup cell that tools/build_notebooks.py puts first among the code cells of every student notebook.

It runs before ``checker`` may exist, so its code imports nothing from this repository: it is plain
text (``TEMPLATE``) rendered with the repository URL and branch of ``[tool.backprop-workbooks]`` in
pyproject.toml. Its functions are pure where they decide something (``_where``, ``_find_checkout``,
``_install_command``, ``_plan``) and take their effects as arguments in ``_setup_checker``, so
tests/test_setup_cell.py exec's the rendered text (with ``__name__`` not ``"__main__"``) and calls
them on fake environments. When ``checker`` is already importable the cell prints exactly one line,
``checker <version> ready (<where>)``.

A student sees one line of it: the cell's input is collapsed (``METADATA``: ``jupyter.source_hidden``,
which JupyterLab, Notebook 7 and VS Code honour, and Colab's ``cellView: form``, which shows the
``#@title`` line), so the notebook opens with its title, one collapsed cell and the line it prints.
Clicking the collapsed cell shows the code, for whoever wants to read it.
"""
from __future__ import annotations

CELL_ID = "setup-checker"
TITLE = "Setup: run this cell first (it makes the checker importable here)"
METADATA = {"cellView": "form", "jupyter": {"source_hidden": True}}
REPOSITORY_MARK, BRANCH_MARK = "@@REPOSITORY@@", "@@BRANCH@@"

TEMPLATE = r'''#@title @@TITLE@@
# On Colab, on Binder or in a local checkout it installs the `checker` package if needed, then prints
# its version. Written by tools/build_notebooks.py.
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

REPOSITORY, BRANCH = "@@REPOSITORY@@", "@@BRANCH@@"


def _where(modules=sys.modules, environ=os.environ):
    """'Colab', 'Binder' or 'local install'."""
    if "google.colab" in modules:
        return "Colab"
    if any(key.startswith("BINDER_") for key in environ):
        return "Binder"
    return "local install"


def _find_checkout(start):
    """(folder, version) of the nearest folder at or above start whose pyproject.toml is backprop-checker."""
    for folder in [Path(start).resolve(), *Path(start).resolve().parents]:
        try:
            text = (folder / "pyproject.toml").read_text(encoding="utf-8")
        except OSError:
            continue
        if re.search(r'^name\s*=\s*"backprop-checker"', text, re.MULTILINE):
            version = re.search(r'^version\s*=\s*"([^"]+)"', text, re.MULTILINE)
            return folder, version.group(1) if version else None
    return None, None


def _install_command(where, checkout, repository=REPOSITORY, branch=BRANCH, python=sys.executable):
    """The pip command that installs the checker here, or None when there is nothing to install from."""
    if where == "Colab":
        return [python, "-m", "pip", "install", "-q", f"git+{repository}@{branch}"]
    if checkout is not None:
        return [python, "-m", "pip", "install", "-q", "-e", str(checkout)]
    return None


def _plan(where, imported_version, checkout, checkout_version):
    """What to do: ('ready', line) | ('restart', line) | ('install', None) | ('missing', line)."""
    if imported_version is not None:
        if checkout is not None and checkout_version not in (None, imported_version):
            return ("restart", f"checker {imported_version} is imported, but the checkout {checkout} is "
                               f"version {checkout_version}: run  pip install -e {checkout}  and then "
                               "restart the kernel (Kernel > Restart Kernel) and run this cell again.")
        return ("ready", f"checker {imported_version} ready ({where})")
    if where == "Colab" or checkout is not None:
        return ("install", None)
    return ("missing", "checker is not installed and no checkout of backprop-workbooks was found above "
                       f"{Path.cwd()}: run  pip install -r requirements.txt  in the repository, or open "
                       "the workbook from the repository's notebooks/ folder.")


def _import_version():
    """The version of an importable checker, or None."""
    try:
        import checker
    except ImportError:
        return None
    return getattr(checker, "__version__", "unknown")


def _setup_checker(modules=sys.modules, environ=os.environ, start=None, run=subprocess.check_call,
                   import_version=_import_version, path=sys.path, say=print):
    """Detect, install if needed, report. Returns the final action ('ready', 'installed', 'restart')."""
    where = _where(modules, environ)
    checkout, checkout_version = _find_checkout(Path.cwd() if start is None else start)
    action, line = _plan(where, import_version(), checkout, checkout_version)
    if action in ("ready", "restart"):
        say(line)
        return action
    if action == "missing":
        raise ModuleNotFoundError(line)
    command = _install_command(where, checkout)
    say(f"installing the checker ({where}): {' '.join(command[2:])}")
    try:
        run(command)
    except (OSError, subprocess.CalledProcessError) as error:
        if where == "Colab":
            raise
        say(f"pip failed ({error}); using the checkout {checkout} for this session only")
    if where != "Colab" and str(checkout) not in path:
        path.insert(0, str(checkout))      # importable now, without a restart
    importlib.invalidate_caches()
    version = import_version()
    if version is None:
        say("The checker is installed but not importable in this kernel yet: restart the kernel "
            "(Kernel > Restart Kernel, or Runtime > Restart session on Colab) and run this cell again.")
        return "restart"
    say(f"checker {version} installed and ready ({where}); no restart needed")
    return "installed"


if __name__ == "__main__":
    _setup_checker()
'''


def render(repository: str, branch: str) -> str:
    """The cell's source for this repository URL and branch."""
    for name, value in (("repository", repository), ("branch", branch)):
        if not value or '"' in value or "\\" in value or "\n" in value:
            raise ValueError(f"[tool.backprop-workbooks] {name} = {value!r} is not a plain string")
    text = TEMPLATE.replace("@@TITLE@@", TITLE).replace(REPOSITORY_MARK, repository).replace(BRANCH_MARK, branch)
    return text.rstrip("\n")
