"""What the README's commands install, as a user meets it.

JupyterLab started from this environment, as the README's first command starts it, serves the workbooks
without --allow-root (CI runs as root, like a container) and has the news question answered "Never" (the
pop-up over every workbook at first start); and constraints.txt pins every package the requirements name.
"""
import json
import os
import re
import secrets
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

import lab_server
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
NEWS_PLUGIN = "@jupyterlab/apputils-extension:notification"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """`jupyter lab notebooks/` from this environment, with no user config or settings of its own."""
    home = tmp_path_factory.mktemp("jupyter-home")
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"), "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces")}
    env.pop("JUPYTER_NO_CONFIG", None)
    token = secrets.token_hex(16)
    with lab_server.running(["notebooks/"], cwd=ROOT, env=env, log=home / "lab.log", token=token) as url:

        def get(path):
            request = urllib.request.Request(url + path, headers={"Authorization": f"token {token}"})
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        yield get


def test_jupyterlab_serves_the_workbooks_as_root_too(lab):
    status, page = lab("/lab")
    assert status == 200 and b"JupyterLab" in page
    status, listing = lab("/api/contents")
    names = {item["name"] for item in json.loads(listing)["content"]}
    assert {p.name for p in (ROOT / "notebooks").glob("*.ipynb")} <= names


def test_jupyterlab_never_asks_about_jupyter_news(lab):
    _, body = lab(f"/lab/api/settings/{NEWS_PLUGIN}")
    settings = json.loads(body)
    defaults = {key: spec.get("default") for key, spec in settings["schema"]["properties"].items()}
    effective = {**defaults, **settings["settings"]}  # what the page uses: the user's settings over the defaults
    assert effective["fetchNews"] == "false", "JupyterLab would ask 'get notified about official Jupyter news?'"


def _requirements(path: Path):
    """The named requirements of a requirements file, following -r; not -e, local folders or options."""
    for line in path.read_text().splitlines():
        line = re.sub(r"(^|\s)#.*", "", line).strip()
        if line.startswith("-r "):
            yield from _requirements(path.parent / line[3:].strip())
        elif line and not line.startswith(("-", ".", "/")):
            yield Requirement(line)


def test_constraints_pin_every_requirement_at_a_version_it_allows():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = Version(version)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*_requirements(ROOT / "requirements-dev.txt"), *map(Requirement, project["dependencies"])]
    unpinned = sorted({str(r) for r in wanted if canonicalize_name(r.name) not in pins})
    assert not unpinned, f"not in constraints.txt (run bash .ci/lock): {unpinned}"
    outside = sorted({f"{r} (pinned {pins[canonicalize_name(r.name)]})" for r in wanted
                      if not r.specifier.contains(pins[canonicalize_name(r.name)], prereleases=True)})
    assert not outside, f"constraints.txt pins versions the requirements exclude (run bash .ci/lock): {outside}"
