"""Sphinx configuration of the blocks documentation.

Built by ``make docs`` with warnings treated as errors. No network access
is needed: intersphinx is off, so references to other projects' objects
are listed in ``nitpick_ignore_regex`` rather than resolved.
"""
import os
import sys

sys.path.insert(0, os.path.abspath('..'))

import blocks  # noqa: E402

project = 'blocks'
author = 'The blocks developers'
copyright = '2024, The blocks developers'
version = '.'.join(blocks.__version__.split('.')[:2])
release = blocks.__version__

extensions = [
    'sphinx.ext.autodoc',
    'sphinx.ext.doctest',
    'sphinx.ext.mathjax',
    # MathJax 3 copied into _static: the maths renders offline.
    'sphinx-mathjax-offline',
    'sphinx.ext.viewcode',
    'sphinx_copybutton',
    'numpydoc',
]

# The copy button copies commands and code without their prompts (and
# without the output lines of doctests).
copybutton_prompt_text = r'>>> |\.\.\. |\$ '
copybutton_prompt_is_regexp = True

exclude_patterns = ['_build', 'benchmarks_table.rst']
master_doc = 'index'

# Broken cross-references fail the build (``-W``).
nitpicky = True
nitpick_ignore_regex = [
    # Objects of other projects (intersphinx is off: no network).
    (r'py:.*', r'(pytensor|numpy|scipy|progressbar|yaml|sqlite3|pickle|'
               r'tarfile|collections|contextlib|io|os|numbers|abc|uuid|pandas|'
               r'threading|signal|logging|jax)(\..*)?'),
    # Private bases and helper modules, not part of the documented API.
    (r'py:(class|mod)', r'blocks(\.\w+)*\._\w+'),
    (r'py:meth', r'_\w+'),
    # Built-in names used as types.
    (r'py:.*', r'(object|int|float|str|bool|dict|list|tuple|callable|'
               r'iterable|Exception|ValueError|KeyError|TypeError|min|max|'
               r'FileNotFoundError|None)'),
]

autodoc_member_order = 'bysource'
autodoc_default_options = {
    'members': True,
    'undoc-members': True,
    'show-inheritance': True,
}
autodoc_inherit_docstrings = True

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
# Attributes sections are parameter lists (not reference targets).
numpydoc_attributes_as_param_list = True

# Doctests: ``>>>`` blocks in the pages also run under pytest
# (tests/test_docs.py); ``sphinx-build -b doctest`` works too.
doctest_global_setup = ''
trim_doctest_flags = True

html_theme = 'sphinx_rtd_theme'
html_static_path = ['_static']
html_css_files = ['blocks.css']
html_title = 'blocks {}'.format(release)


# Resolving the public aliases of documented objects
# ---------------------------------------------------
# Docstrings name objects the way users import them
# (``blocks.bricks.Linear``, ``blocks.graph.ComputationGraph``, a base-class
# method from a subclass), while the API reference documents each object
# once, in the module that defines it (``blocks.bricks.simple.Linear``).
# When a reference does not resolve as written, find the object it names
# by importing, and retry with the name of its definition. A reference to
# something that does not exist still fails the build.

import importlib  # noqa: E402
import inspect  # noqa: E402


def _import_longest(dotted):
    """The object named by a dotted path, importing its module part."""
    parts = dotted.split('.')
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module('.'.join(parts[:split]))
        except ImportError:
            continue
        owner = None
        for part in parts[split:]:
            if not hasattr(obj, part):
                return None
            owner, obj = obj, getattr(obj, part)
        return obj, owner, parts[-1]
    return None


def _definition_name(found):
    obj, owner, attribute = found
    if inspect.isclass(owner):
        for base in inspect.getmro(owner):
            if attribute in vars(base):
                return '{}.{}.{}'.format(base.__module__, base.__qualname__,
                                         attribute)
        return None
    if inspect.isclass(obj) or inspect.isfunction(obj):
        return '{}.{}'.format(obj.__module__, obj.__qualname__)
    if inspect.ismodule(obj):
        return obj.__name__
    return None


def _canonical_target(target, module, cls):
    target = target.lstrip('~.')
    prefixes = []
    if module and cls:
        prefixes.append('{}.{}.'.format(module, cls))
    if module:
        prefixes.append(module + '.')
    prefixes.append('')
    for prefix in prefixes:
        if not (prefix + target).startswith('blocks'):
            continue
        found = _import_longest(prefix + target)
        if found is not None:
            name = _definition_name(found)
            if name is not None:
                return name
    return None


def _resolve_alias(app, env, node, contnode):
    if node.get('refdomain') != 'py':
        return None
    target = node['reftarget']
    canonical = _canonical_target(target, node.get('py:module'),
                                  node.get('py:class'))
    if canonical is None or canonical == target:
        return None
    return env.get_domain('py').resolve_xref(
        env, node['refdoc'], app.builder, node['reftype'], canonical, node,
        contnode)


def setup(app):
    app.connect('missing-reference', _resolve_alias)
