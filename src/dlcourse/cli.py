"""The instructor's command line: a thin layer over the documented Python API.

Each command parses its arguments and calls one keyword-only function
(``dlcourse.grading.release.release``, ``.grade.grade_notebook``,
``.autograde.autograde``, ``.gradebook.scores``, ``.feedback.feedback``,
``.report.report``, ``.similarity.similarity``), so the
CLI and the API cannot drift. Exit status: 0 on success, 1 when the
work failed (a quiz that cannot be released, a notebook that cannot be
graded), 2 for bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys

from .config import CourseNotFound


def _release(args) -> int:
    from .grading.release import release

    for released in release(args.quizzes or None):
        print(f"released {released.quiz}: {released.notebook} "
              f"({released.checks} checks, {released.points:g} autograded points)")
        for warning in released.warnings:
            print(f"dlcourse release: warning: {warning}", file=sys.stderr)
    return 0


def _grade(args) -> int:
    from .grading.grade import WHERE_AVAILABLE, grade_notebook

    result = grade_notebook(args.notebook, quiz=args.quiz, student=args.student,
                            sandbox=False if args.no_sandbox else WHERE_AVAILABLE)
    if result.variant:
        print(f"dlcourse grade: checked against the variant of student {result.variant!r}",
              file=sys.stderr)
    if result.unsandboxed:
        print(f"dlcourse grade: graded without a sandbox ({result.unsandboxed}); that is fine "
              "for your own notebook, and `dlcourse autograde` refuses to grade other "
              "people's work so", file=sys.stderr)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        width = max(len(item.grade_id) for item in result.items)
        title = ""
        for item in result.items:
            if item.title and item.title != title:
                title = item.title
                print(title)
            score = "-" if item.score is None else f"{item.score:g}"
            print(f"  {item.grade_id:<{width}}  {item.status:<8} {score:>4}/{item.max_score:<4g}"
                  f" {item.message}")
        for problem in result.problems:
            print(f"your notebook: {problem}")
        print(f"{result.quiz}: {result.score:g} / {result.max_score:g} autograded points"
              + (f" (+ {result.manual_max_score:g} graded by hand)"
                 if result.manual_max_score else ""))
    if result.error:
        print(f"dlcourse grade: {result.error}", file=sys.stderr)
        return 1
    return 0


def _autograde(args) -> int:
    from .grading.autograde import autograde

    # An option not given takes autograde's own default (read here, not when the parser
    # is built: importing the grader costs every other command seconds).
    chosen = {name: value for name, value in (("workers", args.workers),
                                              ("scheduler", args.scheduler)) if value is not None}
    results = autograde(args.quiz, students=args.student or None, force=args.force,
                        sandbox=not args.no_sandbox, notebooks=args.notebook or None, **chosen)
    failed = [student for student, result in results.items() if result.error]
    print(f"{args.quiz}: {len(results)} submission(s) graded into the gradebook and autograded/"
          + (f"; could not grade {', '.join(failed)}" if failed else ""))
    for student in failed:
        print(f"dlcourse autograde: {results[student].error}", file=sys.stderr)
    return 1 if failed else 0


def _scores(args) -> int:
    import csv

    from .config import find_course_root
    from .grading.store.gradebook import scores

    root = find_course_root()
    if args.canvas:
        from nbgrader.api import Gradebook

        from .grading.store.canvas import write_canvas_csv
        from .grading.store.gradebook import course_id, database_url

        with Gradebook(database_url(root), course_id(root)) as gradebook:
            print(f"Canvas's gradebook CSV: {write_canvas_csv(gradebook, args.canvas)}",
                  file=sys.stderr)
    rows = scores(root)
    # The score is the final one, the late penalty taken off, as the Canvas export has it.
    header = ["student", "quiz", "score", "max_score", "needs_manual_grade"]
    if args.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.student, row.quiz, f"{row.score:g}", f"{row.max_score:g}",
                             str(row.needs_manual_grade).lower()])
        return 0
    if not rows:
        print("the gradebook holds no graded submission yet")
        return 0
    width = max(len("student"), *(len(row.student) for row in rows))
    print(f"{'student':<{width}}  {'quiz':<22} {'score':>7}  manual grading")
    for row in rows:
        late = f"  (late: {row.late_penalty:g} taken off)" if row.late_penalty else ""
        print(f"{row.student:<{width}}  {row.quiz:<22} {row.score:>3g}/{row.max_score:<3g}  "
              f"{'pending' if row.needs_manual_grade else 'done':<7}{late}")
    return 0


def _feedback(args) -> int:
    from .grading.store.feedback import feedback

    written = feedback(args.quiz)
    for path in written:
        print(path)
    if not written:
        print(f"dlcourse feedback: no autograded submission of {args.quiz}; run dlcourse "
              "autograde first", file=sys.stderr)
        return 1
    return 0


def _report(args) -> int:
    from .grading.reports.report import report, table

    result = report(args.quiz, html=args.html, flag_below=args.flag_below)
    print(table(result))
    print(f"report page: {result.html}")
    return 0


def _variant(args) -> int:
    from .grading.variant_keys import student_variant

    print(student_variant(args.quiz, args.student).describe(whose="The"))
    return 0


def _similarity(args) -> int:
    from .grading.reports.similarity import similarity, table

    result = similarity(args.quiz, threshold=args.threshold, html=args.html, top=args.top)
    print(table(result, top=args.top))
    print(f"side by side: {result.html}")
    return 0


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="dlcourse", description=__doc__.splitlines()[0])
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")

    release = commands.add_parser(
        "release", help="regenerate release/ and the keys from source/")
    release.add_argument("quizzes", nargs="*", metavar="QUIZ",
                         help="quiz ids (default: every quiz in source/)")
    release.set_defaults(run=_release)

    grade = commands.add_parser(
        "grade", help="grade one notebook against the key, without a gradebook (a self-check: "
        "sandboxed where bubblewrap is, else without one, which it says)")
    grade.add_argument("notebook", help="the submitted notebook")
    grade.add_argument("--quiz", required=True, help="the quiz id, e.g. quiz01_frameworks")
    grade.add_argument("--json", action="store_true", help="print the result as JSON")
    grade.add_argument("--student", metavar="ID",
                       help="whose variant to check against, for a quiz whose numbers "
                       "differ by student (default: DLCOURSE_STUDENT, else the hub's or "
                       "the computer's user name)")
    grade.add_argument("--no-sandbox", action="store_true",
                       help="run the notebook without a sandbox, as you (only for trusted work)")
    grade.set_defaults(run=_grade)

    batch = commands.add_parser(
        "autograde", help="grade submitted/<student>/QUIZ/ into the gradebook and autograded/")
    batch.add_argument("quiz", metavar="QUIZ")
    batch.add_argument("--student", action="append", metavar="ID",
                       help="grade only this student (repeatable)")
    batch.add_argument("--workers", type=int, metavar="N",
                       help="submissions graded at once on this host (default 1)")
    batch.add_argument("--scheduler", metavar="ADDRESS",
                       help="grade on the Dask cluster of this scheduler (tcp://host:8786, or "
                       "a scheduler file), one task per submission, instead of on this host")
    batch.add_argument("--notebook", action="append", metavar="NAME",
                       help="grade only this notebook of each submission (a name or glob, "
                       "repeatable; the others keep their stored results)")
    batch.add_argument("--force", "-f", action="store_true",
                       help="regrade submissions already graded against the same source and key")
    batch.add_argument("--no-sandbox", action="store_true",
                       help="run submissions without a sandbox, as you (only for trusted work)")
    batch.set_defaults(run=_autograde)

    table = commands.add_parser(
        "scores", help="the gradebook as a table: each submission's final score (late "
        "penalty taken off, as in the Canvas export)")
    table.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    table.add_argument("--canvas", metavar="PATH",
                       help="also write Canvas's gradebook CSV to PATH (as nbgrader export "
                       "--exporter dlcourse.grading.store.canvas.CanvasExportPlugin does)")
    table.set_defaults(run=_scores)

    notes = commands.add_parser("feedback", help="per-student feedback pages, no hidden content")
    notes.add_argument("quiz", metavar="QUIZ")
    notes.set_defaults(run=_feedback)

    from .grading.reports.report import report
    from .grading.reports.similarity import similarity

    defaults = report.__kwdefaults__
    analysis = commands.add_parser(
        "report", help="item analysis of a graded quiz: terminal tables and an HTML page")
    analysis.add_argument("quiz", metavar="QUIZ")
    analysis.add_argument("--html", metavar="PATH",
                          help="where to write the page (default autograded/report-QUIZ.html)")
    analysis.add_argument("--flag-below", type=float, default=defaults["flag_below"],
                          metavar="R", help="flag items whose discrimination is below R "
                          f"(default {defaults['flag_below']:g})")
    analysis.set_defaults(run=_report)

    defaults = similarity.__kwdefaults__
    alike = commands.add_parser(
        "similarity", help="pairs of students with similar answers, side by side (evidence)")
    alike.add_argument("quiz", metavar="QUIZ")
    alike.add_argument("--threshold", type=float, default=defaults["threshold"], metavar="T",
                       help="pair score from which a pair is shown side by side "
                       f"(default {defaults['threshold']:g})")
    alike.add_argument("--top", type=int, default=defaults["top"], metavar="N",
                       help=f"pairs listed (default {defaults['top']})")
    alike.add_argument("--html", metavar="PATH",
                       help="where to write the page (default autograded/similarity-QUIZ.html)")
    alike.set_defaults(run=_similarity)

    parameters = commands.add_parser(
        "variant", help="the parameters of one student's variant of a quiz")
    parameters.add_argument("quiz", metavar="QUIZ")
    parameters.add_argument("student", metavar="STUDENT",
                            help="the student's id (nbgrader's; on the hub, the user name)")
    parameters.set_defaults(run=_variant)
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from .grading.prepare.source import QuizError
    from .grading.release import ReleaseError
    from .grading.run.dispatch import ClusterUnavailable
    from .grading.run.sandbox import SandboxUnavailable
    from .protocol.key import KeyFileError

    try:
        return args.run(args)
    except SandboxUnavailable as error:
        print(f"dlcourse {args.command}: no sandbox can be made: {error}. Refusing to run "
              "student code unsandboxed; pass --no-sandbox to do so anyway.", file=sys.stderr)
        return 1
    except (CourseNotFound, KeyFileError, ReleaseError, QuizError, ClusterUnavailable,
            ValueError) as error:
        print(f"dlcourse {args.command}: {error}", file=sys.stderr)
        return 1
