"""The grader's side inside a student's kernel: probe names, call functions, write the data.

This file is copied into the kernel's read-only package folder (kernel_package.py) as
``_checker_grader.py`` and imported once per kernel; every request is then one short line,

    __import__("_checker_grader").__checker_grader__({"op": "serve", ...}, globals())

run in the user's namespace.  It imports nothing from ``checker`` (the grading kernel's copy
has no grader).  Whatever it writes is only data to the grader, read back with size limits and
without pickle (transfer.py): if the notebook has broken numpy or json, or replaced this module,
the worst it can do is describe its own answers wrongly — never make a wrong answer right.

Requests (a dict of plain values):
    probe    what the names hold: functions [names], values [names]; the answer in
             <tag>.status.json and <tag>.values.npz
    serve    calls, one after another, in this one request: it reads a line from the FIFO ``go``
             (written by the grader only), ``c<k>`` to call or ``stop`` to return; the call's
             name and inputs are in <inbox>/c<k>/ (call.json, in.npz; read-only here), its answer
             goes to c<k>.status.json and c<k>.out.npz in ``outbox``, and then the line ``c<k>`` to
             the FIFO ``done``, which the grader waits on.  The grader hands out the next call
             only after it has judged the last one, so the function is called on exactly the
             inputs ``evaluate`` asks for, in its order: no round trip through IPython per call.
    call     one call, as ``serve`` makes it, in a request of its own (where there are no FIFOs)

Whether a call changed its inputs is told by a checksum of each input array (its dtype, shape and
bytes) taken before and after the call, here: nothing is sent back but the positions that
changed.  A notebook that fakes this hides only its own ``mutated_input``.
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
import zlib


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
                arrays[key] = a   # written by np.savez before the next line of the student's code runs
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


def _describe(exc, libraries):
    info = {"type_name": _type_name(exc), "message": "", "function": None, "lineno": None,
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


def _writer(outbox, tag):
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
    path, write_json = _writer(request["outbox"], request["tag"])
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


def _arguments(spec, folder):
    import numpy as np
    with np.load(os.path.join(folder, "in.npz"), allow_pickle=False) as npz:
        data = {k: npz[k] for k in npz.files}   # each a new, writable array
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


def _checksum(np, v):
    """What an input holds, in a few bytes: (dtype, shape, CRC-32 of its bytes) for an array, the same
    for every entry of a dict (and its keys); None for anything else (never counted as changed)."""
    if isinstance(v, np.ndarray):
        a = np.ndarray.view(v, np.ndarray)
        if a.dtype.kind not in "biufc":
            return ("object", a.shape)
        if not a.flags.c_contiguous:
            a = np.ascontiguousarray(a)
        return (a.dtype.str, a.shape, zlib.crc32(a.data))
    if isinstance(v, dict):
        return ("dict", sorted((repr(k), _checksum(np, x) if isinstance(x, np.ndarray) else "other")
                               for k, x in dict.items(v)))
    return None


def _changed(np, args, before):
    out = []
    for i, (arg, was) in enumerate(zip(args, before, strict=True)):
        if was is None:
            continue
        try:
            if _checksum(np, arg) != was:
                out.append(i)
        except Exception:   # an input the function turned into something that cannot be described
            out.append(i)
    return out


def _call(np, ns, folder, outbox, tag, libraries):
    """Call the function named in ``folder`` on its inputs there, write the answer; False when the call
    was interrupted (the serving loop then returns: the grader has given up on this call)."""
    path, write_json = _writer(outbox, tag)
    try:
        with open(os.path.join(folder, "call.json"), encoding="utf-8") as f:
            spec = json.load(f)
        args = _arguments(spec, folder)
        before = [_checksum(np, a) for a in args]
    except Exception as exc:  # not the student's doing: the grader says so
        write_json("status.json", {"status": "input_failed", "error": _describe(exc, libraries)})
        return True
    fn = ns.get(spec["name"])
    seen = []
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with np.errstate(over="call", invalid="call", divide="call", under="ignore",
                             call=_floating_point_log(seen, libraries)):
                value = fn(*args)
    except BaseException as exc:
        seconds = time.perf_counter() - start
        write_json("status.json", {"status": "raised", "seconds": seconds, "error": _describe(exc, libraries)})
        return not isinstance(exc, KeyboardInterrupt)
    seconds = time.perf_counter() - start
    mutated = _changed(np, args, before)
    arrays = {}
    described = _encode(value, "v", arrays, 0)
    np.savez(path("out.npz"), **arrays)
    try:
        aliased = _aliased(np, value, args)
    except Exception:
        aliased = []
    write_json("status.json", {"status": "returned", "seconds": seconds, "value": described, "mutated": mutated,
                               "warnings": seen[:20], "aliased": aliased})
    return True


def _serve(np, request, ns):
    libraries = _libraries()
    go = os.open(request["go"], os.O_RDONLY)
    done = os.open(request["done"], os.O_WRONLY | os.O_NONBLOCK)
    try:
        pending = b""
        while True:
            while b"\n" not in pending:
                chunk = os.read(go, 4096)
                if not chunk:
                    return
                pending += chunk
            line, pending = pending.split(b"\n", 1)
            tag = line.decode("ascii", "replace")
            if tag == "stop" or not tag[1:].isdigit():
                return
            going = _call(np, ns, os.path.join(request["inbox"], tag), request["outbox"], tag, libraries)
            try:
                os.write(done, line + b"\n")
            except OSError:
                pass
            if not going:
                return
    finally:
        os.close(go)
        os.close(done)


def __checker_grader__(request, ns):
    """Answer one request of the grader (see the module docstring); called in the user namespace."""
    import numpy as np
    if request["op"] == "probe":
        return _probe(request, ns)
    if request["op"] == "serve":
        return _serve(np, request, ns)
    _call(np, ns, os.path.join(request["inbox"], request["tag"]), request["outbox"], request["tag"], _libraries())
