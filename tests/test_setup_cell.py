"""The student setup cell (tools/setup_cell.py), exec'd as text with fake environments.

The cell must work before the checker is installed, so it is tested the way it runs: its rendered
source is exec'd (with __name__ not "__main__", so it only defines its functions), and the functions
are called with fake modules, environment variables, folders, pip runs and imports.
"""
import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("setup_cell", ROOT / "tools" / "setup_cell.py")
setup_cell = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(setup_cell)

REPO, BRANCH = "https://github.com/someone/backprop-workbooks", "release"
PYPROJECT = '[project]\nname = "backprop-checker"\nversion = "{version}"\n'


@pytest.fixture
def cell():
    namespace = {"__name__": "setup_cell_under_test"}
    exec(compile(setup_cell.render(REPO, BRANCH), "<setup cell>", "exec"), namespace)
    return namespace


def checkout(tmp_path, version="0.1.0", name="backprop-checker"):
    """A fake checkout: tmp/repo/pyproject.toml and tmp/repo/notebooks/ (the notebook's folder)."""
    repo = tmp_path / "repo"
    (repo / "notebooks").mkdir(parents=True)
    (repo / "pyproject.toml").write_text(PYPROJECT.format(version=version).replace("backprop-checker", name))
    return repo


def test_render_writes_the_repository_and_branch_once_and_nothing_else_is_templated():
    source = setup_cell.render(REPO, BRANCH)
    assert f'REPOSITORY, BRANCH = "{REPO}", "{BRANCH}"' in source
    assert "@@" not in source
    compile(source, "<setup cell>", "exec")
    assert "from checker" not in source and not re.search(r"^import checker", source, re.MULTILINE)


def test_a_student_sees_one_line_of_it_the_input_is_collapsed():
    """JupyterLab, Notebook 7 and VS Code hide the input of a cell with jupyter.source_hidden; Colab shows
    a cellView form as its #@title line (tests/test_browser.py measures what JupyterLab shows)."""
    source = setup_cell.render(REPO, BRANCH)
    assert source.splitlines()[0] == f"#@title {setup_cell.TITLE}"
    assert setup_cell.METADATA == {"cellView": "form", "jupyter": {"source_hidden": True}}
    assert len(setup_cell.TITLE) <= 80


@pytest.mark.parametrize("bad", ["", 'https://x"; import os; "', "a\nb"])
def test_render_refuses_values_that_are_not_plain_strings(bad):
    with pytest.raises(ValueError):
        setup_cell.render(bad, BRANCH)


def test_where_detects_colab_binder_and_local(cell):
    where = cell["_where"]
    assert where({"google.colab": object()}, {}) == "Colab"
    assert where({"google.colab": object()}, {"BINDER_LAUNCH_HOST": "x"}) == "Colab"
    assert where({}, {"BINDER_REPO_URL": "https://github.com/x/y"}) == "Binder"
    assert where({}, {"HOME": "/home/me", "NOT_BINDER": "1"}) == "local install"


def test_find_checkout_walks_up_to_the_checkers_pyproject(cell, tmp_path):
    repo = checkout(tmp_path, version="0.3.1")
    assert cell["_find_checkout"](repo / "notebooks") == (repo.resolve(), "0.3.1")
    assert cell["_find_checkout"](repo) == (repo.resolve(), "0.3.1")


def test_find_checkout_skips_other_projects_and_finds_none_outside(cell, tmp_path):
    other = checkout(tmp_path, name="something-else")
    assert cell["_find_checkout"](other / "notebooks") == (None, None)
    inner = checkout(tmp_path / "outer" / "x", version="0.2.0")
    (inner / "notebooks" / "sub").mkdir()
    (inner / "notebooks" / "sub" / "pyproject.toml").write_text('[project]\nname = "unrelated"\n')
    assert cell["_find_checkout"](inner / "notebooks" / "sub") == (inner.resolve(), "0.2.0")


def test_install_command_on_colab_is_pip_from_the_repository(cell):
    command = cell["_install_command"]("Colab", None, python="py")
    assert command == ["py", "-m", "pip", "install", "-q", f"git+{REPO}@{BRANCH}"]


def test_install_command_elsewhere_is_an_editable_install_of_the_checkout(cell, tmp_path):
    assert cell["_install_command"]("Binder", tmp_path, python="py") == [
        "py", "-m", "pip", "install", "-q", "-e", str(tmp_path)]
    assert cell["_install_command"]("local install", None) is None


def test_plan_when_importable_is_one_deterministic_line(cell, tmp_path):
    plan = cell["_plan"]
    assert plan("local install", "0.1.0", tmp_path, "0.1.0") == ("ready", "checker 0.1.0 ready (local install)")
    assert plan("Colab", "0.1.0", None, None) == ("ready", "checker 0.1.0 ready (Colab)")
    assert plan("Binder", "0.1.0", tmp_path, None) == ("ready", "checker 0.1.0 ready (Binder)")


def test_plan_asks_for_a_restart_when_another_version_is_imported(cell, tmp_path):
    action, line = cell["_plan"]("local install", "0.1.0", tmp_path, "0.2.0")
    assert action == "restart" and "0.2.0" in line and "restart the kernel" in line


def test_plan_installs_on_colab_or_from_a_checkout_and_otherwise_says_what_to_do(cell, tmp_path):
    plan = cell["_plan"]
    assert plan("Colab", None, None, None) == ("install", None)
    assert plan("local install", None, tmp_path, "0.1.0") == ("install", None)
    action, line = plan("local install", None, None, None)
    assert action == "missing" and "pip install -r requirements.txt" in line


class Fake:
    """A pip that records its commands, and an import that works once ``installed`` is set."""

    def __init__(self, version=None, importable_after_install=True):
        self.version, self.after, self.commands, self.lines = version, importable_after_install, [], []

    def run(self, command):
        self.commands.append(command)
        if self.after:
            self.version = "0.1.0"

    def import_version(self):
        return self.version


def setup(cell, fake, tmp_path, modules=None, environ=None, start=None, path=None):
    return cell["_setup_checker"](modules=modules or {}, environ=environ or {}, start=start or tmp_path,
                                  run=fake.run, import_version=fake.import_version,
                                  path=[] if path is None else path, say=fake.lines.append)


def test_setup_when_importable_prints_one_line_and_installs_nothing(cell, tmp_path):
    fake = Fake(version="0.1.0")
    repo = checkout(tmp_path)
    assert setup(cell, fake, tmp_path, start=repo / "notebooks") == "ready"
    assert fake.lines == ["checker 0.1.0 ready (local install)"] and fake.commands == []


def test_setup_locally_installs_the_checkout_editable_and_needs_no_restart(cell, tmp_path):
    fake, repo, path = Fake(), checkout(tmp_path), []
    assert setup(cell, fake, tmp_path, start=repo / "notebooks", path=path) == "installed"
    assert fake.commands == [[sys.executable, "-m", "pip", "install", "-q", "-e", str(repo.resolve())]]
    assert path == [str(repo.resolve())]          # importable without a restart
    assert fake.lines[-1] == "checker 0.1.0 installed and ready (local install); no restart needed"


def test_setup_offline_when_pip_fails_still_uses_the_checkout_for_the_session(cell, tmp_path):
    import subprocess

    class Offline(Fake):
        def run(self, command):
            self.commands.append(command)
            self.version = "0.1.0"            # importable through the path the cell adds
            raise subprocess.CalledProcessError(1, command)

    fake, repo, path = Offline(), checkout(tmp_path), []
    assert setup(cell, fake, tmp_path, start=repo / "notebooks", path=path) == "installed"
    assert path == [str(repo.resolve())]
    assert any("pip failed" in line and "this session only" in line for line in fake.lines)


def test_setup_on_colab_when_pip_fails_raises(cell, tmp_path):
    import subprocess

    def failing(command):
        raise subprocess.CalledProcessError(1, command)
    with pytest.raises(subprocess.CalledProcessError):
        cell["_setup_checker"](modules={"google.colab": object()}, environ={}, start=tmp_path, run=failing,
                               import_version=lambda: None, path=[], say=lambda line: None)


def test_setup_on_binder_installs_from_the_checkout(cell, tmp_path):
    fake, repo = Fake(), checkout(tmp_path)
    assert setup(cell, fake, tmp_path, environ={"BINDER_SERVICE_HOST": "1"}, start=repo / "notebooks") == "installed"
    assert fake.commands[0][-2:] == ["-e", str(repo.resolve())]
    assert fake.lines[-1].endswith("(Binder); no restart needed")


def test_setup_on_colab_installs_from_the_repository(cell, tmp_path):
    fake, path = Fake(), []
    assert setup(cell, fake, tmp_path, modules={"google.colab": object()}, path=path) == "installed"
    assert fake.commands == [[sys.executable, "-m", "pip", "install", "-q", f"git+{REPO}@{BRANCH}"]]
    assert path == []


def test_setup_says_to_restart_when_the_install_is_not_importable_yet(cell, tmp_path):
    fake = Fake(importable_after_install=False)
    assert setup(cell, fake, tmp_path, modules={"google.colab": object()}) == "restart"
    assert "restart" in fake.lines[-1].lower() and "Runtime > Restart session" in fake.lines[-1]


def test_setup_asks_for_a_restart_when_a_different_version_is_imported(cell, tmp_path):
    fake, repo = Fake(version="0.0.9"), checkout(tmp_path, version="0.1.0")
    assert setup(cell, fake, tmp_path, start=repo / "notebooks") == "restart"
    assert fake.commands == [] and "restart the kernel" in fake.lines[-1]


def test_setup_without_a_checkout_stops_with_instructions(cell, tmp_path):
    with pytest.raises(ModuleNotFoundError, match="requirements.txt"):
        setup(cell, Fake(), tmp_path, start=tmp_path)


def test_setup_in_this_checkout_is_ready(cell):
    """The real thing, as the test suite and the grader see it: one line, nothing installed."""
    import checker
    lines = []
    assert cell["_setup_checker"](modules={}, environ={}, start=ROOT / "notebooks", run=None,
                                  say=lines.append) == "ready"
    assert lines == [f"checker {checker.__version__} ready (local install)"]


def test_binder_requirements_are_the_users_minus_the_checker_plus_setuptools():
    def packages(path):
        lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
        return {line for line in lines if line}
    user = packages(ROOT / "requirements.txt") - {"-e ."}
    binder = packages(ROOT / "binder" / "requirements.txt")
    assert binder - user == {"setuptools>=68"} and user <= binder
    post_build = (ROOT / "binder" / "postBuild").read_text()
    assert "pip install --no-deps --no-build-isolation -e ." in post_build
    assert (ROOT / "binder" / "postBuild").stat().st_mode & 0o111, "postBuild must be executable"
