"""Helpers for scripts/mutation.sh around a cosmic-ray session file.

``skip-annotations SESSION``
    Mark as skipped the mutants inside type annotations of modules that use
    ``from __future__ import annotations``: those annotations are never evaluated, so a mutant there
    (``str | None`` -> ``str + None``) is equivalent by construction.
``skip-uncompilable SESSION``
    Mark as skipped the mutants whose mutated module does not compile (a ``SyntaxError``): such a
    mutant says nothing about the tests, so it counts as neither killed nor survived.
``sample SESSION COUNT``
    Keep ``COUNT`` of the pending mutants, chosen at random (seeded by the module path, so a rerun on
    the same code picks the same ones), and mark the others skipped: for a quick estimate.
``report SESSION SURVIVORS_MD``
    Count killed, skipped and surviving mutants; survivors listed in ``SURVIVORS_MD`` (judged
    equivalent or harmless, one reason each) leave the denominator; print the score and every
    unexplained survivor as a line ready for ``SURVIVORS_MD`` (add the reason). Exit status 1 when a
    survivor is unexplained.
``table WORK SURVIVORS_MD OUT``
    Write the Markdown results table of every module session in ``WORK`` to ``OUT`` (the docs site's
    ``docs/generated/mutation.md``), under a stamp with the SHA-256 of the table; the rows ``OUT``
    already has for modules not run in ``WORK`` are kept.

A survivor is matched by module file name, operator and the stripped text of the mutated line (and,
when given after an arrow, the line as mutated), so the list survives code moving up or down. Lines of
``SURVIVORS_MD`` look like::

    - keys.py · ReplaceComparisonOperator_LtE_Lt · `while window and window[0] <= now - 60.0:` — reason
    - fetch.py · WeakenRegex · `PATTERN = re.compile(r"[a-z]+")` → `PATTERN = re.compile(r"[a-z]*")` — reason
"""

from __future__ import annotations

import ast
import datetime
import hashlib
import random
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cosmic_ray.work_db import WorkDB, use_db
from cosmic_ray.work_item import MutationSpec, TestOutcome, WorkerOutcome, WorkResult

SURVIVOR_LINE = re.compile(
    r"^- (?P<module>\S+) · (?P<operator>\S+) · `(?P<line>.*?)`(?: → `(?P<mutated>.*?)`)? — (?P<reason>.+)$"
)


def _annotation_spans(source: str) -> Iterator[tuple[tuple[int, int], tuple[int, int]]]:
    tree = ast.parse(source)
    for node in ast.walk(tree):
        annotations: list[ast.expr | None] = []
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            annotations.append(node.returns)
            arguments = node.args
            every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
            every += [arg for arg in (arguments.vararg, arguments.kwarg) if arg is not None]
            annotations += [arg.annotation for arg in every]
        elif isinstance(node, ast.AnnAssign):
            annotations.append(node.annotation)
        for annotation in annotations:
            if annotation is not None and annotation.end_lineno is not None:
                start = (annotation.lineno, annotation.col_offset)
                yield start, (annotation.end_lineno, annotation.end_col_offset or 0)


def _postponed(source: str) -> bool:
    return bool(re.search(r"^from __future__ import annotations$", source, re.MULTILINE))


def _inside_annotation(mutation: MutationSpec, spans: dict[Path, list]) -> bool:
    path = mutation.module_path
    if path not in spans:
        source = path.read_text(encoding="utf-8")
        spans[path] = list(_annotation_spans(source)) if _postponed(source) else []
    start, end = tuple(mutation.start_pos), tuple(mutation.end_pos)
    return any(first <= start and end <= last for first, last in spans[path])


def skip_annotations(session: str) -> int:
    spans: dict[Path, list] = {}
    skipped = 0
    with use_db(session, WorkDB.Mode.open) as db:
        for item in db.pending_work_items:
            if all(_inside_annotation(mutation, spans) for mutation in item.mutations):
                db.set_result(
                    item.job_id,
                    WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output="unevaluated annotation"),
                )
                skipped += 1
    print(f"skipped {skipped} mutants inside unevaluated annotations")
    return 0


NOT_SAMPLED = "not in the sample"
UNCOMPILABLE = "does not compile"


def skip_uncompilable(session: str) -> int:
    import cosmic_ray.plugins
    from cosmic_ray.mutating import mutate_code

    sources: dict[Path, str] = {}
    skipped = 0
    with use_db(session, WorkDB.Mode.open) as db:
        for item in db.pending_work_items:
            for mutation in item.mutations:
                path = mutation.module_path
                source = sources.setdefault(path, path.read_text(encoding="utf-8"))
                operator_class = cosmic_ray.plugins.get_operator(mutation.operator_name)
                operator = operator_class(**(getattr(mutation, "operator_args", None) or {}))
                # A mutant cosmic-ray cannot even make (its ExceptionReplacer fails on some `except`
                # forms) tests the tests no more than one that does not compile: neither killed nor survived.
                try:
                    mutated = mutate_code(source, operator, mutation.occurrence)
                    made = True
                except Exception:
                    mutated, made = None, False
                if not made or (mutated is not None and not _compiles(mutated, path)):
                    db.set_result(
                        item.job_id, WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output=UNCOMPILABLE)
                    )
                    skipped += 1
                    break
    print(f"skipped {skipped} mutants that do not compile")
    return 0


def _compiles(source: str, path: Path) -> bool:
    try:
        compile(source, str(path), "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


def sample(session: str, count: int) -> int:
    with use_db(session, WorkDB.Mode.open) as db:
        pending = sorted(db.pending_work_items, key=lambda item: item.job_id)
        if len(pending) <= count:
            print(f"all {len(pending)} pending mutants run (sample of {count} asked)")
            return 0
        chooser = random.Random(str(pending[0].mutations[0].module_path))  # noqa: S311 - a sample, not a secret
        ordered = sorted(pending, key=lambda item: _stable_position(item.mutations[0]))
        kept = {item.job_id for item in chooser.sample(ordered, count)}
        for item in pending:
            if item.job_id not in kept:
                db.set_result(
                    item.job_id, WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output=NOT_SAMPLED)
                )
    print(f"sampled {count} of {len(pending)} pending mutants")
    return 0


def _stable_position(mutation: MutationSpec) -> tuple:
    return (tuple(mutation.start_pos), tuple(mutation.end_pos), mutation.operator_name, mutation.occurrence)


def _judged(survivors_md: Path) -> dict[tuple[str, str, str, str | None], str]:
    judged = {}
    if survivors_md.exists():
        for line in survivors_md.read_text(encoding="utf-8").splitlines():
            match = SURVIVOR_LINE.match(line.strip())
            if match:
                mutated = match["mutated"].strip() if match["mutated"] is not None else None
                judged[(match["module"], match["operator"], match["line"].strip(), mutated)] = match["reason"]
    return judged


def _key(mutation: MutationSpec, diff: str | None) -> tuple[str, str, str, str]:
    diff_lines = (diff or "").splitlines()
    added = [line[1:].strip() for line in diff_lines if line.startswith("+") and not line.startswith("+++")]
    removed = [line[1:].strip() for line in diff_lines if line.startswith("-") and not line.startswith("---")]
    if removed:  # the line as it was when mutated, even if the module changed since
        text = removed[0]
    else:
        lines = mutation.module_path.read_text(encoding="utf-8").splitlines()
        text = lines[mutation.start_pos[0] - 1].strip()
    operator = mutation.operator_name.split("/", 1)[1]
    return mutation.module_path.name, operator, text, added[0] if added else ""


def _is_judged(key: tuple[str, str, str, str], judged: Mapping[tuple, str]) -> bool:
    return key in judged or (*key[:3], None) in judged


@dataclass
class Outcome:
    """What one module's session came to: counts, and each unexplained survivor as a line for the list."""

    module: str = "?"
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            ("total", "skipped", "uncompilable", "unsampled", "killed", "timeouts", "equivalent", "pending"),
            0,
        )
    )
    unexplained: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        counted = self.counts["killed"] + len(self.unexplained)
        return 100.0 * self.counts["killed"] / counted if counted else 100.0


def outcome(session: str, judged: Mapping[tuple, str]) -> Outcome:
    result_of = Outcome()
    counts = result_of.counts
    with use_db(session, WorkDB.Mode.open) as db:
        counts["pending"] = len(db.pending_work_items)
        for item, result in db.completed_work_items:
            counts["total"] += 1
            mutation = item.mutations[0]
            result_of.module = mutation.module_path.name
            if result.worker_outcome == WorkerOutcome.SKIPPED:
                kind = {NOT_SAMPLED: "unsampled", UNCOMPILABLE: "uncompilable"}.get(result.output or "")
                counts[kind or "skipped"] += 1
            elif result.test_outcome != TestOutcome.SURVIVED:
                counts["killed"] += 1
                counts["timeouts"] += result.output == "timeout"
            elif _is_judged(key := _key(mutation, result.diff), judged):
                counts["equivalent"] += 1
            else:
                where = f"{result_of.module}:{mutation.start_pos[0]} {key[1]}"
                result_of.unexplained.append(f"- {key[0]} · {key[1]} · `{key[2]}` → `{key[3]}` ({where})")
    return result_of


def report(session: str, survivors_md: str) -> int:
    found = outcome(session, _judged(Path(survivors_md)))
    counts, missed = found.counts, len(found.unexplained)
    print(
        f"{found.module}: {counts['total']} mutants, {counts['skipped']} skipped (annotations), "
        + f"{counts['uncompilable']} do not compile (neither killed nor survived), "
        + (f"{counts['unsampled']} not in the sample, " if counts["unsampled"] else "")
        + f"{counts['killed']} killed ({counts['timeouts']} by timeout), "
        f"{counts['equivalent']} survived and judged equivalent, {missed} survived unexplained"
        + (f", {counts['pending']} not run" if counts["pending"] else "")
        + f" -> {found.score:.1f}% of non-equivalent mutants killed"
    )
    for survivor in found.unexplained:
        print("SURVIVED " + survivor)
    return 1 if found.unexplained else 0


TABLE_COMMAND = "scripts/mutation.sh"


def table(work: str, survivors_md: str, out: str) -> int:
    """The docs site's results table from every session in ``work`` (each module's last run), stamped
    like ``python -m bench --markdown`` (the SHA-256 of the body shows a hand edit)."""
    judged = _judged(Path(survivors_md))
    rows = [
        "| module | mutants | run | killed | equivalent | unexplained | score | run on |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for session in sorted(Path(work).glob("*.sqlite")):
        found = outcome(str(session), judged)
        counts = found.counts
        mutants = counts["total"] + counts["pending"] - counts["skipped"] - counts["uncompilable"]
        ran = mutants - counts["unsampled"] - counts["pending"]
        how = "sample" if counts["unsampled"] else "all" if ran == mutants else "interrupted"
        module = found.module if counts["total"] else session.stem
        day = datetime.datetime.fromtimestamp(session.stat().st_mtime, datetime.UTC).date().isoformat()
        rows.append(
            f"| `{module}` | {mutants} | {ran} ({how}) | {counts['killed']} | {counts['equivalent']} "
            f"| {len(found.unexplained)} | **{found.score:.1f}%** | {day} |"
        )
    ran_here = {row.split("`")[1] for row in rows[2:]}
    previous = Path(out).read_text(encoding="utf-8").splitlines() if Path(out).exists() else []
    kept = [row for row in previous if row.startswith("| `") and row.split("`")[1] not in ran_here]
    rows[2:] = sorted(rows[2:] + kept, key=lambda row: row.split("`")[1])  # other modules' last rows stay
    body = "\n".join(rows) + "\n"
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    stamp = f"<!-- generated by `{TABLE_COMMAND}`: do not edit, rerun it. sha256:{digest} -->\n"
    Path(out).write_text(stamp + body, encoding="utf-8")
    return 0


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "skip-annotations":
        return skip_annotations(argv[1])
    if len(argv) == 2 and argv[0] == "skip-uncompilable":
        return skip_uncompilable(argv[1])
    if len(argv) == 3 and argv[0] == "sample":
        return sample(argv[1], int(argv[2]))
    if len(argv) == 3 and argv[0] == "report":
        return report(argv[1], argv[2])
    if len(argv) == 4 and argv[0] == "table":
        return table(argv[1], argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
