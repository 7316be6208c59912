"""Sphinx configuration of the ffnn documentation: built offline, warnings are errors.

Build: ``python -m sphinx -W --keep-going -b html docs docs/_build/html`` (what .ci/run does).
The notebooks (tutorials, gallery, estimators, command line) are executed at every build.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))  # document this checkout, installed or not

from ffnn import __version__  # noqa: E402

project = "ffnn"
author = "ffnn authors"
copyright = "2026, ffnn authors"
version = release = __version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "myst_nb",
]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "Thumbs.db", ".DS_Store"]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb", ".rst": "restructuredtext"}

# --- API reference from the docstrings (numpy style, in the notes' notation) ----------------------
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autoclass_content = "class"
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_use_ivar = True  # attributes as a field list, not one TOC entry each
python_use_unqualified_type_names = True

# --- notebooks: executed at every build, errors fail it ---------------------------------------
nb_execution_mode = "force"
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
nb_render_markdown_format = "myst"  # the gallery's generated headings and links
nb_ipywidgets_js = {}  # no widget JavaScript from a CDN: the site works offline
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# --- HTML: the PyData theme with its bundled assets only (no CDN, no network at build) -----------
html_theme = "pydata_sphinx_theme"
html_title = f"ffnn {release}"
html_static_path = ["_static"]
html_css_files = ["ffnn.css"]
html_show_sourcelink = False
html_theme_options = {
    "navigation_with_keys": False,
    "header_links_before_dropdown": 5,
    "show_toc_level": 2,
    "navbar_end": ["theme-switcher", "navbar-icon-links"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "secondary_sidebar_items": ["page-toc"],
}
html_context = {"default_mode": "light"}
# pages without sub-pages, and the notebooks (whose code needs the width), have no left sidebar
html_sidebars = {
    page: []
    for page in ["index", "install", "notation", "gallery", "cli", "estimators", "tutorials/*"]
}

# --- docstrings in the notes' notation -----------------------------------------------------------
# The docstrings write mathematics in Unicode: displayed equations as indented blocks, absolute
# values as |z|. In reStructuredText an indented block after a blank line is a block quote (whose
# further indentation is an error) and |z| is a substitution. So: make each such displayed block
# a literal block (monospaced, alignment kept), and escape |…| in prose, outside inline literals.
_BARS = re.compile(r"(?<![\\|])\|(?=[^\s|])([^|`\n]*?[^\s|\\])\|(?!\|)")
_LITERAL = re.compile(r"(``.*?``)")
_STAR = re.compile(r"(?<=[\s(,\[])\*(?=\w)(?![^*]*\*)")  # a lone * as in (n, *shape)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _escape(line: str) -> str:
    if ("|" not in line and "*" not in line) or line.lstrip().startswith((">>>", "...", "+-", "|")):
        return line
    parts = _LITERAL.split(line)
    return "".join(
        p if p.startswith("``") else _STAR.sub(r"\\*", _BARS.sub(r"\\|\1\\|", p)) for p in parts
    )


def _starts_literal(prev: str) -> bool:
    """Whether an indented block after the paragraph ending in ``prev`` is already literal or
    the body of a directive or field (which must stay as they are)."""
    text = prev.strip()
    return text.endswith("::") or text.startswith((".. ", ":", ">>>", "..."))


def _notation(app, what, name, obj, options, lines):
    out, literal_at, prev = [], None, ""
    for line in lines:
        if line.strip() and literal_at is not None and _indent(line) <= literal_at:
            literal_at = None
        if literal_at is None and line.strip():
            blank_before = bool(out) and not out[-1].strip()
            if blank_before and prev and _indent(line) > _indent(prev):
                if not _starts_literal(prev):
                    out[-1:] = ["", " " * _indent(prev) + "::", ""]
                literal_at = _indent(prev)
            elif prev.strip().endswith("::") and blank_before:
                literal_at = _indent(prev)
        out.append(line if literal_at is not None else _escape(line))
        if line.strip():
            prev = line
    lines[:] = out


def _skip_request_methods(app, what, name, obj, skip, options):
    """scikit-learn's generated set_*_request methods: documented by scikit-learn, not here."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


_FIELDS = {"Parameters", "Attributes", "Other Parameters", "Keyword Arguments", "Raises"}
_FIELD = re.compile(r"^(\s*)([^:\s][^:]*?) : (.+)$")


def _is_header(lines: list[str], i: int) -> bool:
    nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
    return bool(lines[i].strip()) and len(nxt) >= 3 and set(nxt) == {"-"}


def _is_type(rest: str, next_line: str, indent: int) -> bool:
    """numpydoc's "name : type" (a short type, the description on the next, indented line) as
    against this project's "name : description" on one line."""
    text = rest.strip()
    described_below = bool(next_line.strip()) and _indent(next_line) > indent
    runs_on = text.endswith(",") or text.split()[-1] in {"a", "an", "the", "or", "and", "of"}
    short = len(text.split()) <= 8 and ";" not in text and text[-1] != "."
    return described_below and short and not runs_on


def _numpy_sections(app, what, name, obj, options, lines):
    """Before napoleon: read "name : description" as a description (not a type), and end a
    Parameters-like section at a paragraph that is not a field (it becomes Notes)."""
    out, section, base = [], None, 0
    for i, line in enumerate(lines):
        if _is_header(lines, i):
            section, base = line.strip(), _indent(line)
        elif section in _FIELDS and line.strip() and _indent(line) == base and i > 0:
            m = _FIELD.match(line)
            if m and not set(line.strip()) <= {"-"}:
                nxt = lines[i + 1] if i + 1 < len(lines) else ""
                if not _is_type(m.group(3), nxt, base):
                    out += [m.group(1) + m.group(2), m.group(1) + "    " + m.group(3)]
                    continue
            elif not lines[i - 1].strip() and len(line.split()) > 3:
                out += [" " * base + "Notes", " " * base + "-----"]
                section = "Notes"
        out.append(line)
    lines[:] = out


def setup(app):
    app.connect("autodoc-process-docstring", _numpy_sections, priority=400)
    app.connect("autodoc-process-docstring", _notation)
    app.connect("autodoc-skip-member", _skip_request_methods)
