"""``python -m checker nbval-setup FOLDER``: the pytest configuration that makes ``pytest --nbval-lax FOLDER`` safe.

It writes FOLDER/pytest.ini.  pytest takes the configuration of the folder it is given (the common
folder of its arguments, or the nearest one above with a pytest.ini), so with it

    pytest --nbval-lax FOLDER

* loads the checker's nbval plugin (checker/grading/nbval.py): exactly the failed checks fail,
  each named by its cell as JupyterLab counts cells and by its exercise id;
* gives every cell a time limit (``--nbval-cell-timeout``, 60 s unless ``--cell-timeout`` says
  otherwise): a cell that loops is interrupted, one that kills its kernel fails at the limit, and
  the run always ends with pytest's summary;
* runs the kernels in the Python that runs pytest (``--nbval-current-env``), where the checker is;
* imports no Python file of the submissions (``--noconftest`` and no test-module pattern) and writes
  no cache next to them (``-p no:cacheprovider``).

Configuration files that came with the submissions (a pytest.ini, conftest.py or any .py file
below FOLDER) are listed: running pytest on a subfolder that holds its own pytest.ini would use
that one instead.  The notebooks still run *outside the sandbox* (docs/grading.md, the nbval path).
"""
from __future__ import annotations

import os

MARK = "# Written by `python -m checker nbval-setup`"
DEFAULT_CELL_TIMEOUT = 60.0
CONFIG_FILES = ("pytest.ini", ".pytest.ini", "tox.ini", "setup.cfg", "pyproject.toml", "conftest.py")

PYTEST_INI = """{mark} (edit the timeout there, or run it again with --cell-timeout).
# `pytest --nbval-lax <this folder>` then runs every notebook below it with the checker's nbval plugin:
# exactly the cells whose check(...) fails fail, each named like `cell 78 [wb01.grad_W3]` (cells counted
# from the top, from 1, markdown included) with its place and first line; every cell has a time limit, so
# a notebook that loops or kills its kernel cannot hang the run. The kernels run OUTSIDE the sandbox, as you,
# with the whole checker importable: for classes you trust (docs/grading.md, "The nbval path").
[pytest]
addopts = -p checker.grading.nbval --nbval-lax --nbval-current-env --nbval-cell-timeout={timeout:g}
    --noconftest -p no:cacheprovider
python_files = no-python-test-modules-in-submissions
"""


class SetupRefused(RuntimeError):
    """The folder already has a configuration the instructor wrote; the message says what to do."""


def config_text(cell_timeout: float = DEFAULT_CELL_TIMEOUT) -> str:
    return PYTEST_INI.format(mark=MARK, timeout=cell_timeout)


def _ours(path: str) -> bool:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read(len(MARK)) == MARK
    except (OSError, UnicodeDecodeError):
        return False


def setup(folder: str, cell_timeout: float = DEFAULT_CELL_TIMEOUT) -> tuple:
    """Write FOLDER/pytest.ini; returns (its path, [files that came with the submissions and deserve a look],
    [files of an earlier nbval-setup that were removed]).  SetupRefused when FOLDER has a pytest.ini of its own."""
    if not os.path.isdir(folder):
        raise SetupRefused(f"{folder}: no such folder")
    if not cell_timeout > 0:
        raise SetupRefused(f"--cell-timeout must be more than 0 seconds, not {cell_timeout:g}")
    path = os.path.join(folder, "pytest.ini")
    if os.path.lexists(path) and not _ours(path):
        raise SetupRefused(f"{path} exists and was not written by nbval-setup; move it away (pytest would use it "
                           "instead of the checker's settings) and run nbval-setup again")
    removed = []
    old = os.path.join(folder, "conftest.py")     # what nbval-setup wrote before it wrote pytest.ini
    if os.path.isfile(old) and not os.path.islink(old) and _ours(old):
        os.unlink(old)
        removed.append(old)
    with open(path, "w", encoding="utf-8") as f:
        f.write(config_text(cell_timeout))
    strays = []
    for directory, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in ("__pycache__", ".ipynb_checkpoints"))
        for name in sorted(files):
            full = os.path.join(directory, name)
            if full != path and (name in CONFIG_FILES or name.endswith(".py")):
                strays.append(full)
    return path, strays, removed
