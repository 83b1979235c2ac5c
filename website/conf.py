"""Sphinx configuration of the course's website, built by ``make site`` (website/build.py).

Sphinx with MyST-NB renders the lessons as they were executed (never executing them
itself); Furo and the bundled MathJax ship every asset in their wheels, so the site builds
and is read with no network at all.
"""

project = "dlcourse"
author = "the dlcourse authors"
copyright = "the dlcourse authors; code MIT, prose CC BY 4.0"

extensions = ["myst_nb", "sphinx-mathjax-offline"]

html_theme = "furo"
html_title = "dlcourse"
# Wide figures open full size on a click; long outputs fold (static/course.js).
html_static_path = ["static"]
html_css_files = ["course.css"]
html_js_files = ["course.js"]
# The lessons' notebooks (with outputs) would be copied a second time as page sources.
html_copy_source = False
html_show_sourcelink = False

# build.py executes the lessons (or takes the copies nbval executed in `make test`).
nb_execution_mode = "off"
nb_merge_streams = True
# The lessons' progress bars are widgets without saved state: render their text form, and
# load no widget manager from a CDN.
nb_ipywidgets_js = {}
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "html_image"]
myst_heading_anchors = 3

# Lessons go from their title (#) to "### Exercise" inside a "##" section and use
# headings for emphasis in places; none of that is an error in a web page.
suppress_warnings = ["myst.header", "myst.xref_missing", "mystnb.unknown_mime_type"]
# An exercise's solution is folded on the page (build.py tags it hide-input): try first.
nb_code_prompt_show = "Show a solution"
nb_code_prompt_hide = "Hide the solution"
