"""Build the course's static website: one page per lesson, with its outputs.

    .venv/bin/python -m website.build [--out build/site] [--execute]

``make site`` runs this. Each lesson page shows the lesson as it ran: the outputs come from
an executed copy of the lesson in ``build/executed/``. ``make test`` writes those copies
while nbval executes the lessons (``tests/lesson_outputs.py``), so the lessons are not
executed twice; a copy counts only while the lesson's cells are the ones it was executed
from. A lesson with no fresh copy is executed here with nbclient, the way nbval runs it
(a kernel from this environment, in ``notebooks/``). ``--execute`` executes every lesson
afresh.

The home page is the lesson table of README.md; each lesson page starts with a link that
opens the notebook in the JupyterLab of ``make lab`` (``http://localhost:8888``).
Sphinx, MyST-NB, Furo and the bundled MathJax work offline: nothing is downloaded when the
site is built or read. The build fails (after writing the site) if a lesson shows an error.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
LESSON_DIR = REPO / "notebooks"
BUILD = REPO / "build"
EXECUTED = BUILD / "executed"
SOURCE = BUILD / "site-source"
SITE = BUILD / "site"
CONFIG_DIR = Path(__file__).resolve().parent
#: Where `make lab` serves the course (JupyterLab's default port, the repository as root).
LAB_URL = "http://localhost:8888/lab/tree"
METADATA_KEY = "dlcourse_site"
#: Where the site keeps the student's copy of each lesson (lessons/), for download.
DOWNLOADS = "downloads"
CELL_TIMEOUT_S = 600
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
IMAGE_MIMES = ("image/png", "image/jpeg", "image/svg+xml", "image/gif")

README_ROW = re.compile(r"^\| (\d\d) \| \[([^\]]+)\]\((lessons/[^)]+\.ipynb)\)(.*?) "
                        r"\(\[solved\]\(notebooks/[^)]+\)\) \| "
                        r"\[([^\]]+)\]\((release/[^)]+\.ipynb)\) \|.*\|$")


def lessons() -> list[Path]:
    """The lesson notebooks, in course order."""
    return sorted(LESSON_DIR.glob("[0-9][0-9]_*.ipynb"))


def cells_digest(notebook) -> str:
    """A digest of what a notebook runs and says: its cells' types and sources."""
    cells = [[cell.cell_type, cell.source] for cell in notebook.cells]
    return hashlib.sha256(json.dumps(cells).encode()).hexdigest()


def source_digest(lesson: Path) -> str:
    """The digest of a lesson as it is now in notebooks/."""
    return cells_digest(nbformat.read(lesson, as_version=4))


def executed_path(lesson: Path) -> Path:
    return EXECUTED / lesson.name


def is_fresh(lesson: Path) -> bool:
    """Whether build/executed holds a copy of the lesson executed from its current cells."""
    path = executed_path(lesson)
    if not path.exists():
        return False
    notebook = nbformat.read(path, as_version=4)
    return notebook.metadata.get(METADATA_KEY, {}).get("source_sha256") == source_digest(lesson)


def save_executed(lesson: Path, notebook, how: str) -> Path:
    """Write an executed lesson to build/executed, stamped with the cells it ran (which
    need not be the lesson's cells by now: it may have been edited while it ran)."""
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor

    # Progress bars redraw with carriage returns; keep what the last redraw showed.
    notebook, _ = CoalesceStreamsPreprocessor().preprocess(notebook, {})
    notebook.metadata[METADATA_KEY] = {"source_sha256": cells_digest(notebook),
                                       "executed_by": how,
                                       "executed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                    time.gmtime())}
    path = executed_path(lesson)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".partial")
    nbformat.write(notebook, temporary)
    temporary.replace(path)
    return path


def current_env_kernel_manager():
    """A kernel manager class whose kernels run this environment's Python, as nbval's
    ``--nbval-current-env`` does (the kernelspec ``python3`` runs whichever ``python`` is
    first on PATH)."""
    from jupyter_client.manager import AsyncKernelManager
    from nbval.kernel import NbvalKernelspecManager
    from traitlets import default

    class CurrentEnvKernelManager(AsyncKernelManager):
        @default("kernel_spec_manager")
        def _kernel_spec_manager_default(self):
            return NbvalKernelspecManager(data_dir=self.data_dir)

    return CurrentEnvKernelManager


def execute(lesson: Path) -> Path:
    """Execute a lesson with nbclient as nbval does (this environment's kernel, in
    notebooks/), keeping going past an error so that the page shows it."""
    from nbclient import NotebookClient
    from nbval.kernel import CURRENT_ENV_KERNEL_NAME

    notebook = nbformat.read(lesson, as_version=4)
    # The client makes its own kernel manager, so that it also shuts the kernel down.
    client = NotebookClient(notebook, kernel_manager_class=current_env_kernel_manager(),
                            kernel_name=CURRENT_ENV_KERNEL_NAME, timeout=CELL_TIMEOUT_S,
                            # a cell past the timeout is interrupted and shows the error,
                            # as under nbval, and the lesson goes on
                            interrupt_on_timeout=True, allow_errors=True,
                            resources={"metadata": {"path": str(lesson.parent)}})
    started = time.perf_counter()
    client.execute()
    print(f"  executed {lesson.name} in {time.perf_counter() - started:.0f} s", flush=True)
    return save_executed(lesson, notebook, "nbclient")


def errors(notebook) -> list[str]:
    """One line for each error output of an executed notebook."""
    return [f"cell {index}: {output.get('ename')}: {output.get('evalue')}"
            for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"
            for output in cell.get("outputs", []) if output.output_type == "error"]


def lab_link(path: str) -> str:
    """The address that opens a file of the course in the JupyterLab of `make lab`."""
    return f"{LAB_URL}/{path}"


def lesson_table() -> str:
    """The home page's table: README.md's lesson rows, each linked to its page, to the
    notebook in JupyterLab and to its quiz in JupyterLab."""
    rows = {}
    for line in (REPO / "README.md").read_text().splitlines():
        match = README_ROW.match(line)
        if match:
            number, name, notebook, description, quiz, quiz_path = match.groups()
            rows[notebook] = (number, name, description.lstrip(": ").strip(), quiz, quiz_path)
    from dlcourse import colab

    repository = colab.repository(REPO)
    badge = f"![Open in Colab]({colab.BADGE_IMAGE})"
    lines = ["| NN | lesson | open in JupyterLab | quiz | Colab |",
             "|----|--------|----|----|----|"]
    for lesson in lessons():
        notebook, copy = f"notebooks/{lesson.name}", f"lessons/{lesson.name}"
        # A lesson README.md does not list yet still gets a row, named by its title.
        number, name, description, quiz, quiz_path = rows.get(copy) or (
            lesson.name[:2], lesson_title(lesson), "", "", "")
        quiz_cell = f"[{quiz}]({lab_link(quiz_path)})" if quiz else ""
        colab_cell = f"[{badge}]({colab.colab_url(repository, copy)})"
        lines.append(f"| {number} | [{name}](lessons/{lesson.name}): {description} | "
                     f"[{copy}]({lab_link(copy)}), [solved]({lab_link(notebook)}) | "
                     f"{quiz_cell} | {colab_cell} |")
    return "\n".join(lines)


def lesson_title(lesson: Path) -> str:
    first = nbformat.read(lesson, as_version=4).cells[0].source.splitlines()[0]
    return first.lstrip("# ").strip()


def home_page() -> str:
    toctree = "\n".join(f"lessons/{lesson.stem}" for lesson in lessons())
    return f"""# dlcourse

An interactive deep-learning course: lessons that compare **PyTorch**,
**TensorFlow/Keras** and **JAX**, from tensors and autograd to style transfer, deployment,
scaling and production, each paired with an nbgrader quiz. Every page below shows a lesson
as it ran, outputs and plots included.

To work through a lesson rather than read it, start JupyterLab from the repository with
`make lab` (it serves the course at `http://localhost:8888`); the links in the column
"open in JupyterLab" then open the notebook there. If JupyterLab asks for a token, paste
the one `make lab` printed; if it runs on another port, change the port in the address.

{lesson_table()}

```{{toctree}}
:hidden:
:maxdepth: 1

{toctree}
```
"""


def without_widgets(notebook):
    """The notebook without its widget outputs: the lessons' only widgets are progress
    bars, whose saved view is their first frame (the updates went to the live page)."""
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = [output for output in cell.outputs
                            if WIDGET_VIEW not in output.get("data", {})]
    return notebook


#: stderr lines that teach nothing: Python's warnings from libraries (with the source line
#: the warnings module prints under each), and the C++ logs of TensorFlow, XLA and absl.
NOISE = re.compile(
    r"^(\S+\.py:\d+: \w*Warning: .*"
    r"|[IWEF]\d{4} [\d:.]+\s+\d+ \S+:\d+\] .*"
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|To enable the following instructions: .*"
    r"|This TensorFlow binary is optimized to use .*)$")


def quiet_stderr(text: str) -> str:
    """``text`` without the noise lines (a warning's indented source line goes with it)."""
    kept, dropping = [], False
    for line in text.splitlines(keepends=True):
        if NOISE.match(line.rstrip("\n")):
            dropping = True
            continue
        if dropping and line.startswith("  "):
            continue
        dropping = False
        kept.append(line)
    return "".join(kept)


def as_a_reader_sees_it(notebook):
    """The executed notebook's outputs as Jupyter shows them, without what teaches nothing.

    - a cell whose last expression ends with ``;`` shows no result: Jupyter's rule, which
      a run under nbval does not follow (it executes without storing history, so
      IPython looks at the wrong cell for the ``;``);
    - an image shown a second time by the same cell (a helper that shows a figure and
      returns it) is shown once;
    - stderr keeps what a student should read, not library warnings and C++ logs
      (:data:`NOISE`).
    """
    from IPython.core.displayhook import DisplayHook

    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        silenced = DisplayHook.semicolon_at_end_of_expression(cell.source)
        seen, outputs = set(), []
        for output in cell.get("outputs", []):
            if output.output_type == "execute_result" and silenced:
                continue
            images = [output.get("data", {}).get(mime) for mime in IMAGE_MIMES]
            image = next((str(i) for i in images if i), None)
            if image is not None:
                if image in seen:
                    continue
                seen.add(image)
            if output.output_type == "stream" and output.name == "stderr":
                output.text = quiet_stderr(output.text)
                if not output.text.strip():
                    continue
            outputs.append(output)
        cell.outputs = outputs
    return notebook


def lesson_page(lesson: Path):
    """The executed lesson as a reader sees it, led by a link that opens it in JupyterLab."""
    notebook = as_a_reader_sees_it(
        without_widgets(nbformat.read(executed_path(lesson), as_version=4)))
    link = nbformat.v4.new_markdown_cell(
        f"*Run this lesson yourself:* with `make lab` running, open "
        f"[notebooks/{lesson.name}]({lab_link(f'notebooks/{lesson.name}')}) in JupyterLab, "
        f'or <a href="../{DOWNLOADS}/{lesson.name}" download>download the student\'s copy '
        "(.ipynb)</a>, with a stub for you to fill in at each exercise.")
    notebook.cells.insert(1, link)
    # the Colab install cell does nothing here (its badge stays): a reader needs neither
    notebook.cells = [cell for cell in notebook.cells
                      if "colab-install" not in cell.metadata.get("tags", [])]
    for cell in notebook.cells:  # try first: an exercise's solution opens on a click
        if cell.cell_type == "code" and "exercise" in cell.metadata.get("tags", []):
            cell.metadata["tags"] = [*cell.metadata["tags"], "hide-input"]
    return notebook


def write_source_tree() -> None:
    shutil.rmtree(SOURCE, ignore_errors=True)
    (SOURCE / "lessons").mkdir(parents=True)
    (SOURCE / "index.md").write_text(home_page())
    for lesson in lessons():
        nbformat.write(lesson_page(lesson), SOURCE / "lessons" / lesson.name)


def build(out: Path = SITE, execute_all: bool = False) -> list[str]:
    """Build the site into ``out``; return the errors the lessons showed (empty if none)."""
    for lesson in lessons():
        if execute_all or not is_fresh(lesson):
            print(f"  {lesson.name}: no fresh executed copy, executing it", flush=True)
            execute(lesson)
        else:
            print(f"  {lesson.name}: using {executed_path(lesson).relative_to(REPO)}")
    write_source_tree()
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-c", str(CONFIG_DIR),
                    str(SOURCE), str(out)], check=True)
    (out / DOWNLOADS).mkdir()
    for lesson in lessons():
        shutil.copyfile(REPO / "lessons" / lesson.name, out / DOWNLOADS / lesson.name)
    shown = []
    for lesson in lessons():
        shown += [f"{lesson.name} {line}"
                  for line in errors(nbformat.read(executed_path(lesson), as_version=4))]
    return shown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SITE, help="where the HTML goes")
    parser.add_argument("--execute", action="store_true",
                        help="execute every lesson afresh, even one with a fresh copy")
    args = parser.parse_args(argv)
    shown = build(args.out.resolve(), execute_all=args.execute)
    print(f"site: {args.out / 'index.html'}")
    if shown:
        print("lessons that show an error:\n  " + "\n  ".join(shown), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
