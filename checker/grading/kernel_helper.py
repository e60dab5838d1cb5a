"""The grader's side inside a student's kernel: probe names, call a function, write the data.

This file is copied into the kernel's read-only package folder (kernel_package.py) as
``_checker_grader.py`` and imported once per kernel; every request is then one short line,

    __import__("_checker_grader").__checker_grader__({"op": "call", ...}, globals())

run in the user's namespace.  It imports nothing from ``checker`` (the grading kernel's copy
has no grader).  Whatever it writes is only data to the grader, read back with size limits and
without pickle (transfer.py): if the notebook has broken numpy or json, or replaced this module,
the worst it can do is describe its own answers wrongly — never make a wrong answer right.

Request (a dict of plain values):
    op       "probe" | "call"
    inbox    folder the grader wrote the call's inputs into (read-only here): call.json, in.npz
    outbox   folder this kernel may write (the only one): the answer goes to files named
    tag      <tag>.status.json, <tag>.values.npz (probe), <tag>.out.npz and <tag>.post.npz (call)
    probe:   functions [names], values [names]
    call:    name
"""
# ruff: noqa: BLE001 -- the student's objects can raise anything, and this must never fail because of them
import json
import linecache
import os
import sys
import sysconfig
import time
import types
import warnings


def _type_name(v):
    try:
        return str(type(v).__name__)[:60]
    except BaseException:
        return "object"


def _encode(v, key, arrays, depth):
    import numpy as np
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
                name = str.__str__(k) if isinstance(k, str) else "<key of type %s>" % _type_name(k)
                items.append([name, _encode(x, "%s_%d" % (key, j), arrays, depth + 1)])
            return {"kind": "dict", "items": items}
        if isinstance(v, (list, tuple)):
            kind = "list" if isinstance(v, list) else "tuple"
            n = len(v)
            if depth < 2 and n <= 100:
                return {"kind": kind, "items": [_encode(x, "%s_%d" % (key, j), arrays, depth + 1)
                                                 for j, x in enumerate(v)]}
            return {"kind": kind, "len": int(n)}
    except Exception:
        pass
    return {"kind": "other", "type": _type_name(v)}


def _libraries():
    """Folders whose frames are not the student's (stdlib, site-packages, checker, this file)."""
    libraries = {os.path.abspath(p) for k, p in sysconfig.get_paths().items()
                 if k in ("stdlib", "platstdlib", "purelib", "platlib")}
    libraries.add(os.path.dirname(os.path.abspath(__file__)))
    try:
        import checker
        libraries.add(os.path.dirname(os.path.abspath(checker.__file__)))
    except Exception:
        pass
    return libraries


def _describe(exc):
    info = {"type_name": _type_name(exc), "message": "", "function": None, "lineno": None,
            "line": None, "not_implemented": isinstance(exc, NotImplementedError)}
    try:
        info["message"] = str(exc)[:2000]
    except BaseException:
        pass
    libraries = _libraries()
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


def _student_frame(frame, libraries):
    while frame is not None:
        name = frame.f_code.co_filename
        path = name if name.startswith("<") else os.path.abspath(name)
        if frame.f_code.co_name != "__checker_grader__" and not any(path.startswith(d + os.sep) for d in libraries):
            return frame
        frame = frame.f_back
    return None


def _floating_point_log(seen, libraries):
    """An np.errstate call handler: each numpy problem once, with the student's line (as checker.runner's)."""
    def note(kind, flag):
        frame = _student_frame(sys._getframe(1), libraries)
        where = ""
        if frame is not None:
            line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()[:300]
            where = " in %s, line %d" % (frame.f_code.co_name, frame.f_lineno) + (": " + line if line else "")
        if kind + where not in seen:
            seen.append(kind + where)
    return note


def _aliased(np, value, args):
    """Positions of the array arguments that the returned value is or shares memory with."""
    def arrays(v):
        if isinstance(v, np.ndarray):
            return [v]
        return [x for x in dict.values(v) if isinstance(x, np.ndarray)] if isinstance(v, dict) else []
    out = arrays(value)
    return [i for i, arg in enumerate(args) if any(np.may_share_memory(a, b) for a in out for b in arrays(arg))]


def _writer(request):
    outbox, tag = request["outbox"], request["tag"]

    def path(name):
        return os.path.join(outbox, "%s.%s" % (tag, name))

    def write_json(name, obj):
        part = path(name + ".part")
        with open(part, "w", encoding="utf-8") as f:
            json.dump(obj, f)
        os.replace(part, path(name))
    return path, write_json


def _probe(request, ns):
    import numpy as np
    path, write_json = _writer(request)
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
                                      "value": _encode(v, "f%d" % len(out["functions"]), arrays, 1)}
    for j, name in enumerate(request["values"]):
        out["values"][name] = _encode(ns[name], "v%d" % j, arrays, 0) if name in ns else {"kind": "missing"}
    out["defined"] = sorted(str(k) for k, v in list(ns.items())
                            if isinstance(v, types.FunctionType) and not str(k).startswith("_"))[:500]
    np.savez(path("values.npz"), **arrays)
    write_json("status.json", out)


def _arguments(spec, inbox):
    import numpy as np
    with np.load(os.path.join(inbox, "in.npz"), allow_pickle=False) as npz:
        data = {k: np.array(npz[k]) for k in npz.files}
    args = []
    for s in spec["args"]:
        if s["kind"] == "array":
            args.append(data[s["key"]])
        elif s["kind"] == "dict":
            args.append({k: data[key] for k, key in s["keys"]})
        elif s["kind"] == "pickle":  # an object of the exercise table, by reference to its class
            import pickle
            args.append(pickle.loads(data[s["key"]].tobytes()))
        else:
            args.append(s["value"])
    return args


def __checker_grader__(request, ns):
    """Answer one request of the grader (see the module docstring); called in the user namespace."""
    import numpy as np
    if request["op"] == "probe":
        return _probe(request, ns)
    path, write_json = _writer(request)
    with open(os.path.join(request["inbox"], "call.json"), encoding="utf-8") as f:
        spec = json.load(f)
    try:
        args = _arguments(spec, request["inbox"])
    except Exception as exc:  # not the student's doing: the grader says so
        write_json("status.json", {"status": "input_failed", "error": _describe(exc)})
        return
    fn = ns.get(request["name"])
    seen = []
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with np.errstate(over="call", invalid="call", divide="call", under="ignore",
                             call=_floating_point_log(seen, _libraries())):
                value = fn(*args)
    except BaseException as exc:
        seconds = time.perf_counter() - start
        write_json("status.json", {"status": "raised", "seconds": seconds, "error": _describe(exc)})
        return
    seconds = time.perf_counter() - start
    arrays, post = {}, {}
    described = _encode(value, "v", arrays, 0)
    np.savez(path("out.npz"), **arrays)
    after = [_encode(a, "p%d" % i, post, 0) for i, a in enumerate(args)]
    np.savez(path("post.npz"), **post)
    try:
        aliased = _aliased(np, value, args)
    except Exception:
        aliased = []
    write_json("status.json", {"status": "returned", "seconds": seconds, "value": described, "post": after,
                               "warnings": seen[:20], "aliased": aliased})
