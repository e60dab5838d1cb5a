"""What a notebook can reach through `checker`: no reference, no answer; the fixed example and `yours`."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import checker
from checker import _mode, examples
from checker.exercises import Question, example_makers, registry


def test_the_public_api_offers_no_reference_function_and_no_answer():
    import types
    checker.check("wb01.shape_x", (1024,))   # loads every table; the public names must stay as they were
    public = dir(checker)
    assert not {"network", "lookup", "registry", "judge"} & set(public)
    for name in public:
        value = getattr(checker, name)
        assert not isinstance(value, types.ModuleType), name
        assert not hasattr(value, "reference") and not hasattr(value, "answer"), name


def test_a_stored_example_is_stale_when_its_values_change_not_when_their_rounding_does():
    rng = np.random.default_rng(0)
    grads = rng.normal(size=(6, 4)) * 1e-3
    stored = {"grads": grads, "rel_error": np.array(3e-9), "labels": np.arange(4)}
    # another CPU: central differences off by ~1e-8, a relative error that is itself rounding noise
    elsewhere = {**stored, "grads": grads * (1 + 1e-8 * rng.normal(size=grads.shape)), "rel_error": np.array(8e-9)}
    assert examples.differences(stored, elsewhere) == []
    for name, changed in [("grads", grads * 1.001), ("rel_error", np.array(3e-3)), ("rel_error", np.array(2e-12)),
                          ("labels", np.arange(1, 5))]:
        assert examples.differences(stored, {**stored, name: changed}) == [f"{name}: values changed"]


def _stored(tmp_path, monkeypatch, values, seed=None):
    monkeypatch.setattr(examples, "FOLDER", tmp_path)
    examples.write("wbXX", examples.encode(values, seed))
    return checker.example("wbXX")


def test_a_stored_example_reads_back_as_written_with_its_parameters(tmp_path, monkeypatch):
    big = np.arange(70_000, dtype=float) / 7.0
    ex = _stored(tmp_path, monkeypatch, {"x": np.array([1.0, 2.0]), "grads": {"W1": np.eye(2)}, "big": big}, seed=3)
    assert ex.x.tolist() == [1.0, 2.0] and ex["grads"]["W1"].tolist() == [[1, 0], [0, 1]]
    assert ex.big.dtype == np.float64 and np.allclose(ex.big, big, rtol=1e-7)   # stored in float32
    assert ex.params["W1"].shape == (1024, 512)
    assert np.array_equal(ex.params["W1"], examples.init_params(np.random.default_rng(3))["W1"])
    ex.x[0] = 99.0
    assert ex.x[0] == 1.0                                   # every read is a fresh copy
    with pytest.raises(KeyError, match="stores no 'z9'; it stores big, grads, x"):
        ex["z9"]


def test_a_name_the_example_does_not_store_is_told_in_one_line_with_the_nearest_names(capsys):
    ex = checker.example("wb02")
    with pytest.raises(KeyError) as raised:                 # still a KeyError: code may catch it
        ex["dz"]
    shown = raised.value._render_traceback_()
    assert shown == [f"NotStored: {raised.value}"] and not str(raised.value).startswith("'")   # unquoted
    assert shown[0].startswith("NotStored: The example of wb02 stores no 'dz'; did you mean dz1, dz2, dz3? "
                               "It stores dW1_rows, dW2, ")
    with pytest.raises(AttributeError, match="stores no 'nope'"):   # hasattr, dir and tab completion rely on it
        _ = ex.nope
    assert not hasattr(ex, "nope") and "dz1" in dir(ex)
    with pytest.raises(KeyError, match="values by name, a string; it got an int"):
        ex[0]
    called = []
    with pytest.raises(KeyError, match="stores no 'dh'; did you mean dh1, dh2"):
        ex.yours("dh", lambda *args: called.append(args), ex["dz3"])
    assert called == [] and capsys.readouterr().out == ""    # said before the student's function ran


def test_example_reads_only_a_shipped_example_never_a_path_made_of_what_it_was_given(monkeypatch):
    reads = []
    monkeypatch.setattr(examples, "read", lambda workbook: reads.append(workbook))
    for given in ["wb02/../x", "../examples/wb02", "wb02.npz", "", "wb99"]:
        with pytest.raises(checker.result.WrongArgument) as raised:
            checker.example(given)
        assert raised.value._render_traceback_()[0].startswith(f"WrongArgument: There is no example {given!r};")
    assert reads == []


def test_a_shipped_example_missing_from_its_folder_tells_the_developer_to_build(tmp_path, monkeypatch):
    monkeypatch.setattr(examples, "FOLDER", tmp_path)         # a checkout whose examples were never built
    with pytest.raises(FileNotFoundError, match="run python tools/build_notebooks.py"):
        checker.example("wb02")
    with pytest.raises(checker.result.WrongArgument, match="There is no example 'wb99'; the workbooks with one are "
                                                           "none."):
        checker.example("wb99")
    examples.write("wb07", examples.encode({"x": np.zeros(2)}))   # a new workbook's first example
    assert checker.example("wb07").x.tolist() == [0.0, 0.0]


def test_a_different_random_draw_is_refused_not_used(tmp_path, monkeypatch):
    ex = _stored(tmp_path, monkeypatch, {"x": np.zeros(2)}, seed=3)
    ex._fingerprint = ex._fingerprint + 1.0
    with pytest.raises(RuntimeError, match="different random numbers"):
        _ = ex.params


def _stub(a):
    raise NotImplementedError("Replace this line with your code.")


def _right(a):
    return a * 2.0


def _wrong(a):
    return a * 3.0


def _raises(a):
    return a[10]


@pytest.mark.parametrize("fn, line", [
    (_right, None),
    (_stub, "_stub is not done yet; this cell goes on with the example's stored doubled."),
    (..., "your function is not done yet; this cell goes on with the example's stored doubled."),
    (_wrong, "_wrong is not right yet — see its check above; this cell goes on with the example's stored doubled."),
    (_raises, "_raises raised IndexError — see its check above; this cell goes on with the example's stored doubled."),
])
def test_yours_goes_on_with_the_students_value_or_says_in_one_line_why_not(tmp_path, monkeypatch, capsys, fn, line):
    a = np.array([1.0, -2.0, 3.0])
    ex = _stored(tmp_path, monkeypatch, {"a": a, "doubled": 2.0 * a})
    value = ex.yours("doubled", fn, ex.a)
    assert value.tolist() == [2.0, -4.0, 6.0]
    printed = capsys.readouterr().out.strip()
    assert printed == (line or "")


def test_yours_judges_a_dict_key_by_key(tmp_path, monkeypatch, capsys):
    ex = _stored(tmp_path, monkeypatch, {"grads": {"W": np.ones(2), "b": np.zeros(1)}})
    assert ex.yours("grads", lambda: {"W": np.ones(2), "b": np.zeros(1)})["W"].tolist() == [1, 1]
    ex.yours("grads", lambda: {"W": np.ones(2)})
    assert "is not right yet" in capsys.readouterr().out


def test_no_stored_example_holds_the_answer_to_a_graded_number():
    for workbook in example_makers():
        stored = examples.read(workbook)
        for entry in registry().values():
            if entry.id.startswith(workbook + ".") and isinstance(entry, Question) and entry.kind == "number":
                answer = float(entry.answer())
                for name, array in stored.items():
                    assert not (array.dtype.kind == "f" and np.isclose(array, answer, rtol=1e-6, atol=0).any()), \
                        (entry.id, name)


def test_in_a_grading_kernel_the_checking_tools_stand_aside_in_one_line(monkeypatch, capsys):
    monkeypatch.setattr(_mode, "GRADING_KERNEL", True)
    from checker.sliders import saturation_slider
    from checker.widgets import multiple_choice
    results = [checker.check("wb01.grad_W3", _stub), checker.report("wb01", {}),
               checker.gradcheck({}, None, None, {}), multiple_choice("wb01.softmax_shift"), saturation_slider()]
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(results) and all(_mode.NOT_WHILE_GRADING in line for line in lines)
    assert lines[0] == f"wb01.grad_W3: {_mode.NOT_WHILE_GRADING}."
    # a cell written for the real tools runs to its end
    assert results[2].passed.tensors is results[2] and not results[2] and list(results[3]) == []
    assert checker.exercises() == {}


def test_the_kernel_files_alone_make_a_working_checker_without_the_reference(tmp_path):
    import glob
    import shutil
    from pathlib import Path
    package = Path(checker.__file__).parent
    for pattern in _mode.KERNEL_FILES:
        for source in glob.glob(str(package / pattern)):
            target = tmp_path / "checker" / Path(source).relative_to(package)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)
    mode = tmp_path / "checker" / "_mode.py"
    mode.write_text(mode.read_text().replace("GRADING_KERNEL = False", "GRADING_KERNEL = True"))
    # The sandbox hides the checkout; here, drop the editable install's finder that points there.
    code = ("import sys\n"
            "sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f).lower()]\n"
            "import checker, checker.widgets, checker.sliders, checker.figures, checker.data\n"
            "from checker import check, report, example\n"
            "assert checker.GRADING_KERNEL and check('wb01.sigmoid', None) is not None\n"
            "for name in ('checker.network', 'checker.evaluate', 'checker.exercises', 'checker.grading'):\n"
            "    try:\n"
            "        __import__(name)\n"
            "    except ImportError:\n"
            "        continue\n"
            "    raise SystemExit(name + ' is importable')\n"
            "print('ok')")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert run.stdout.strip().endswith("ok"), run.stderr
