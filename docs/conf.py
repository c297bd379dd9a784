"""Sphinx configuration: user guide (MyST), API reference (autosummary + numpydoc) and the
example gallery (sphinx-gallery). Everything builds offline: no intersphinx, no remote assets.
"""

import os
import sys
from pathlib import Path

from docutils import nodes

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
# Document the working tree's package even when another copy is installed.
sys.path.insert(0, str(ROOT))
# The examples and the user-guide figure train small models on the CPU.
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

# The estimators choose their own CPU threads (n_threads="auto"): the examples run as a
# user's script would.
import simmim_sklearn  # noqa: E402

project = "simmim-sklearn"
author = "simmim-sklearn developers"
copyright = "simmim-sklearn developers"
release = version = simmim_sklearn.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "matplotlib.sphinxext.plot_directive",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

# -- API reference -----------------------------------------------------------------------------
autosummary_generate = True
autodoc_typehints = "none"
# The class template lists members itself; numpydoc's own member tables would repeat them.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# Validate every docstring that the API pages show. Not required of each method: an extended
# summary, a See Also and an Examples section (the class docstring carries the example), and
# scikit-learn's named returns (``self : object``), which RT02 would reject.
numpydoc_validation_checks = {"all", "ES01", "SA01", "EX01", "RT02"}
# Methods inherited from scikit-learn are documented by scikit-learn: only validate ours.
numpydoc_validation_exclude = {
    r"\.get_params$", r"\.set_params$", r"\.set_output$", r"\.fit_transform$",
    r"\.get_metadata_routing$", r"\.set_\w+_request$", r"\.get_feature_names_out$",
    r"LevelRegressor\.score$",
}

# -- User guide --------------------------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
# The user-guide figure is drawn at build time by a committed script (docs/figures/).
plot_basedir = str(DOCS / "figures")
plot_include_source = False
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 110)]

# -- Example gallery ---------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    # Every examples/*.py is shown; only plot_*.py are executed (the others need optional
    # packages or a cluster).
    "filename_pattern": r"/plot_",
    # Helper modules (examples/_*.py) are neither shown nor run. A failing example fails the build.
    "ignore_pattern": r"__init__\.py|/_",
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("simmim_sklearn",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"simmim_sklearn": None},
    "download_all_examples": False,
    "show_memory": False,
    # The computation-times page loads its table scripts from a CDN: the build stays offline.
    "write_computation_times": False,
}

# -- HTML --------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"simmim-sklearn {release}"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": False,
    "secondary_sidebar_items": ["page-toc"],
}
html_show_sourcelink = False
html_sidebars = {"index": [], "user_guide": [], "defaults": []}


def _benchmark_tables(app, docname, source):
    """Replace the user guide's ``{benchmark-tables}`` marker with an include of every committed
    ``benchmarks/results/*.md``, so the guide shows exactly what the scripts wrote."""
    marker = "<!-- benchmark-tables -->"
    if docname != "user_guide" or marker not in source[0]:
        return
    includes = "\n".join(
        f"```{{include}} ../benchmarks/results/{path.name}\n:heading-offset: 2\n```\n"
        for path in sorted((ROOT / "benchmarks" / "results").glob("*.md"))
    )
    source[0] = source[0].replace(marker, includes)


# Labels of scikit-learn's own documentation, cited by the docstrings of the methods our
# estimators inherit (set_output, get_metadata_routing). Without intersphinx they cannot link:
# show their title, or these words when the reference has none.
SKLEARN_DOC_LABELS = {
    "metadata_routing": "scikit-learn's metadata routing guide",
    "df_output_transform": "scikit-learn's user guide",
    "sphx_glr_auto_examples_miscellaneous_plot_set_output.py": "scikit-learn's set_output example",
    "r2_score": "scikit-learn's R² score",
    "accuracy_score": "scikit-learn's accuracy score",
    "meta-estimator": "meta-estimator",
}


def _sklearn_label_as_text(app, env, node, contnode):
    label = node.get("reftarget")
    if node.get("refdomain") != "std" or label not in SKLEARN_DOC_LABELS:
        return None
    if contnode.astext() == label:
        return nodes.inline(text=SKLEARN_DOC_LABELS[label])
    return contnode


def setup(app):
    app.connect("source-read", _benchmark_tables)
    app.connect("missing-reference", _sklearn_label_as_text)
