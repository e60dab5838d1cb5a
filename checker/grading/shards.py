"""Which part of a class this machine grades: ``--shard K/N``, or ``--shard auto/N`` on a batch system.

Part K of N (1 <= K <= N) holds the students whose name hashes to K (collect.in_shard): all of a
student's notebooks land in the same part.  On a batch system the part comes from the task's own
index, so one command serves every task:

* a **Slurm job array** (``sbatch --array=1-N`` or ``--array=0-(N-1)``): K is
  ``SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN + 1``, and the array must have N tasks
  (``SLURM_ARRAY_TASK_COUNT``);
* a **Kubernetes indexed Job** (``completionMode: Indexed``, ``completions: N``): K is
  ``JOB_COMPLETION_INDEX + 1`` (the index counts from 0).

docs/recipes/ holds both, and docs/grading.md ("Big classes") how to merge the parts.
"""
from __future__ import annotations

import os
import re


class ShardError(ValueError):
    """--shard cannot be understood here; the message says why and what to give."""


def _int(env, name: str) -> int | None:
    value = env.get(name)
    if value is None or value == "":
        return None
    if not re.fullmatch(r"\d+", value.strip()):
        raise ShardError(f"{name}={value!r} is not a task index")
    return int(value)


def from_environment(n: int, env=None) -> int:
    """K (1..n) of this task of a Slurm job array or a Kubernetes indexed Job."""
    env = os.environ if env is None else env
    task, index = _int(env, "SLURM_ARRAY_TASK_ID"), _int(env, "JOB_COMPLETION_INDEX")
    if task is not None:
        first = _int(env, "SLURM_ARRAY_TASK_MIN")
        count = _int(env, "SLURM_ARRAY_TASK_COUNT")
        if count is not None and count != n:
            raise ShardError(f"--shard auto/{n}, but this Slurm job array has {count} tasks "
                             f"(SLURM_ARRAY_TASK_COUNT): give --shard auto/{count}, or --array with {n} tasks")
        k = task - (first if first is not None else 1) + 1
        source = f"SLURM_ARRAY_TASK_ID={task}" + (f", SLURM_ARRAY_TASK_MIN={first}" if first is not None else "")
    elif index is not None:
        k = index + 1
        source = f"JOB_COMPLETION_INDEX={index}"
    else:
        raise ShardError(f"--shard auto/{n} takes the part from a Slurm job array (SLURM_ARRAY_TASK_ID) or a "
                         "Kubernetes indexed Job (JOB_COMPLETION_INDEX), and neither is set here; "
                         f"give the part yourself: --shard K/{n}")
    if not 1 <= k <= n:
        raise ShardError(f"{source} makes this part {k} of {n}, outside 1..{n}: the array or Job must have "
                         f"exactly {n} tasks, numbered without gaps")
    return k


def parse(text: str, env=None) -> tuple:
    """(K, N) from ``K/N`` or ``auto/N``; ShardError otherwise."""
    match = re.fullmatch(r"\s*(\d+|auto)\s*/\s*(\d+)\s*", text or "")
    if not match or int(match.group(2)) < 1:
        raise ShardError(f"--shard takes K/N with 1 <= K <= N (e.g. 2/4), or auto/N on a Slurm job array or a "
                         f"Kubernetes indexed Job; got {text!r}")
    n = int(match.group(2))
    if match.group(1) == "auto":
        return from_environment(n, env), n
    k = int(match.group(1))
    if not 1 <= k <= n:
        raise ShardError(f"--shard takes K/N with 1 <= K <= N (e.g. 2/4); got {text!r}")
    return k, n
