"""The records of an output folder: signed by the grader, checked on every read; and "started" markers.

    DIR/.grader-key                     32 random bytes (hex), created with the folder, mode 0600
    DIR/records/<student>__<wbNN>.json  {"record": {...}, "signature": HMAC-SHA256(key, name + record)}
    DIR/started/<hash>.json             a notebook the grader began and has not finished

Only the grader's main process writes records, after a worker hands one over, and it signs each
with the folder's key.  Reading checks that a file is a plain file (not a link), that it is
signed with this folder's key, and that its name is the one its student and workbook give;
anything else — a record planted or edited by hand or by a notebook, one copied from another
folder, an old unsigned one — is *ignored* and reported, never used.  (The notebook that belongs
to an ignored record is simply graded again by the next run.)

The key protects against writers that cannot read it: a kernel in the sandbox sees neither the
key nor the folder; a notebook run with --trust-notebooks can read both (docs/grading.md).

A "started" marker is written before a worker begins a notebook and removed when its record is
saved (or the run is stopped by Ctrl-C).  A marker left over means the grader itself died while
grading that notebook; the next run grades such notebooks last and one at a time, and a notebook
that was being graded during two deaths is recorded as a fault instead of being tried again.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat

from checker.grading import transfer

KEY_FILE = ".grader-key"
RECORDS = "records"
STARTED = "started"
MAX_RECORD_BYTES = 64 * 2**20


def _safe_name(student: str) -> str:
    from checker.grading.outputs import safe_name
    return safe_name(student)


def record_name(student: str, workbook: str | None) -> str:
    return f"{_safe_name(student)}__{workbook or 'unknown'}.json"


# --- the key -------------------------------------------------------------------------------------

def key(out: str, *, create: bool = True) -> bytes | None:
    """This output folder's signing key; made (mode 0600) when ``create`` and there is none yet."""
    path = os.path.join(out, KEY_FILE)
    try:
        raw = transfer.read_file(path, 1024)
    except transfer.TransferError:
        if not create or os.path.lexists(path):
            return None
        os.makedirs(out, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(secrets.token_hex(32) + "\n")
        return key(out, create=False)
    text = raw.decode("ascii", "replace").strip()
    try:
        value = bytes.fromhex(text)
    except ValueError:
        return None
    return value if len(value) >= 16 else None


def _mac(secret: bytes, name: str, record: dict) -> str:
    body = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(secret, (name + "\n" + body).encode("utf-8"), hashlib.sha256).hexdigest()


# --- records ---------------------------------------------------------------------------------------

def save(out: str, record: dict, secret: bytes | None = None) -> str:
    """Sign and write one record; returns its path."""
    from checker.grading.outputs import write_atomic
    secret = secret or key(out)
    record = transfer.printable_data(record)   # what a UTF-8 file can hold (no lone surrogates), no escapes
    name = record_name(record["student"], record["workbook"])
    path = os.path.join(out, RECORDS, name)
    write_atomic(path, json.dumps({"record": record, "signature": _mac(secret, name, record)}, indent=1))
    return path


def load(out: str, problems: list | None = None) -> dict:
    """(student, workbook) -> record for every valid record of DIR; each ignored file is described
    in ``problems`` (when given)."""
    problems = [] if problems is None else problems
    records: dict = {}
    folder = os.path.join(out, RECORDS)
    if not os.path.isdir(folder):
        return records
    names = sorted(n for n in os.listdir(folder) if n.endswith(".json"))
    secret = key(out, create=False)
    if names and secret is None:
        problems.append(f"{folder}: this folder has no readable grader key ({KEY_FILE}), so none of its "
                        f"{len(names)} record(s) can be trusted: all ignored (grading again recreates them)")
        return records
    for name in names:
        where = os.path.join(RECORDS, name)
        try:
            data = transfer.parse_json(transfer.read_file(os.path.join(folder, name), MAX_RECORD_BYTES), where)
        except transfer.TransferError as error:
            problems.append(f"{os.path.join(out, where)}: {error}: ignored")
            continue
        record = data.get("record") if isinstance(data, dict) else None
        signature = data.get("signature") if isinstance(data, dict) else None
        if not isinstance(record, dict) or not isinstance(signature, str):
            problems.append(f"{os.path.join(out, where)}: not signed by the grader: ignored")
            continue
        if not hmac.compare_digest(signature, _mac(secret, name, record)):
            problems.append(f"{os.path.join(out, where)}: its signature does not match (changed, or written by "
                            "something other than this folder's grader): ignored")
            continue
        student, workbook = record.get("student"), record.get("workbook")
        if not isinstance(student, str) or name != record_name(student, workbook):
            problems.append(f"{os.path.join(out, where)}: its name does not match the record's student and "
                            "workbook: ignored")
            continue
        records[(student, workbook)] = record
    return records


# --- started markers ---------------------------------------------------------------------------------

def _marker(out: str, path: str) -> str:
    return os.path.join(out, STARTED, hashlib.sha256(os.fsencode(os.path.abspath(path))).hexdigest()[:24] + ".json")


def started(out: str) -> dict:
    """notebook path -> how many times the grader began it without finishing, for every marker left."""
    folder = os.path.join(out, STARTED)
    found = {}
    if not os.path.isdir(folder):
        return found
    for name in os.listdir(folder):
        try:
            data = transfer.parse_json(transfer.read_file(os.path.join(folder, name), 1 << 16))
        except transfer.TransferError:
            continue
        if isinstance(data, dict) and isinstance(data.get("path"), str) and isinstance(data.get("count"), int):
            found[data["path"]] = data["count"]
    return found


def mark_started(out: str, path: str, count: int) -> None:
    from checker.grading.outputs import write_atomic
    write_atomic(_marker(out, path), json.dumps({"path": os.path.abspath(path), "count": count}))


def clear_started(out: str, path: str) -> None:
    marker = _marker(out, path)
    try:
        if stat.S_ISREG(os.lstat(marker).st_mode) or os.path.islink(marker):
            os.unlink(marker)
    except OSError:
        pass
