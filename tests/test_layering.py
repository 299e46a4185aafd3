"""The import graph of blocks follows the layer order of DESIGN.md
(section 3) and has no cycle.

Every module under ``blocks/`` is read with :mod:`ast` (nothing is
imported), and every import of a blocks module counts, at module level or
inside a function: an import moved into a function to dodge a cycle is
still a dependency.
"""
import ast
import pathlib
import re
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent / 'blocks'

#: The layers, lowest first; a module may import the modules of its own
#: component and of lower layers, never those of its own layer or above.
LAYERS = [
    ('config', 'roles', 'utils', 'expressions'),
    ('data',),
    ('annotations',),
    ('ops', 'initialization'),
    ('tiered',),
    ('compilation',),
    ('bricks', 'graph'),
    ('filter', 'select'),
    ('model', 'search'),
    ('algorithms', 'monitoring'),
    ('log', 'serialization'),
    ('extensions',),
    ('main_loop',),
    ('scripts', 'testing'),
]
LAYER = {component: level for level, components in enumerate(LAYERS)
         for component in components}
#: Components whose imports are restricted further than the order says.
ONLY_IMPORTS = {'data': {'config'}}
#: Modules whose component is not their top-level name: Blocks' names for
#: the same thing, and testing helpers that sit at Blocks' import path but
#: build a main loop.
COMPONENT_OF = {'blocks.theano_expressions': 'expressions',
                'blocks.utils.testing': 'testing'}


def module_name(path, root=ROOT):
    parts = list(path.relative_to(root.parent).with_suffix('').parts)
    if parts[-1] == '__init__':
        parts.pop()
    return '.'.join(parts)


def modules(root=ROOT):
    """{module name: path} of every module of the package."""
    return {module_name(path, root): path
            for path in sorted(root.rglob('*.py'))}


def _imported(node, importer, is_package):
    """The module names an import statement names."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        package = importer.split('.')
        if not is_package:
            package.pop()
        package = package[:len(package) - node.level + 1]
        base = '.'.join(package + ([node.module] if node.module else []))
    else:
        base = node.module
    return [base] + ['{}.{}'.format(base, alias.name) for alias in node.names]


def _packages_run_first(target, importer):
    """The packages whose ``__init__`` Python runs before `target`,
    except those the importer is already inside."""
    parts = target.split('.')
    packages = ['.'.join(parts[:end]) for end in range(2, len(parts))]
    return [package for package in packages
            if not (importer + '.').startswith(package + '.')]


def import_graph(root=ROOT):
    """{importer: {imported blocks module: line of the first import}}.

    ``from blocks.x import y`` is an edge to ``blocks.x.y`` when that is a
    module, else to ``blocks.x``. Importing ``blocks.x.y`` runs
    ``blocks/x/__init__.py`` first, so it is an edge to ``blocks.x`` too
    (unless the importer is itself inside ``blocks.x``).
    """
    known = modules(root)
    graph = {}
    for name, path in known.items():
        edges = graph.setdefault(name, {})
        tree = ast.parse(path.read_text(encoding='utf-8'), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            names = _imported(node, name, path.name == '__init__.py')
            targets = [target for target in names[1:] if target in known]
            if not targets or isinstance(node, ast.Import):
                targets = [target for target in names if target in known]
            for target in targets:
                for module in _packages_run_first(target, name) + [target]:
                    if module != name:
                        edges.setdefault(module, node.lineno)
    return graph


def cycles(graph):
    """The strongly connected components with more than one module
    (Tarjan's algorithm), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def component(module):
    if module in COMPONENT_OF:
        return COMPONENT_OF[module]
    parts = module.split('.')
    return parts[1] if len(parts) > 1 else ''


def layer_violations(graph):
    """Edges against the layer order, as strings, and the components the
    order does not place."""
    violations, unplaced = [], set()
    for importer, edges in sorted(graph.items()):
        source = component(importer)
        for target, line in sorted(edges.items()):
            destination = component(target)
            if source == destination:
                continue
            for part in (source, destination):
                if part not in LAYER:
                    unplaced.add(part or 'blocks')
            if source not in LAYER or destination not in LAYER:
                continue
            allowed = ONLY_IMPORTS.get(source)
            if allowed is not None:
                ok = destination in allowed
            else:
                ok = LAYER[destination] < LAYER[source]
            if not ok:
                violations.append('{} -> {} (line {})'.format(
                    importer, target, line))
    return violations, sorted(unplaced)


def _edges_within(graph, members):
    return ['{} -> {} (line {})'.format(importer, target, line)
            for importer in members
            for target, line in sorted(graph[importer].items())
            if target in members]


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
    found = cycles(graph)
    assert not found, 'import cycles:\n' + '\n'.join(
        '  cycle {}:\n    {}'.format(number, '\n    '.join(
            _edges_within(graph, members)))
        for number, members in enumerate(found, 1))


def test_imports_follow_the_layer_order():
    violations, unplaced = layer_violations(import_graph())
    assert not unplaced, ('place these components in LAYERS (and in '
                          'DESIGN.md section 3): {}'.format(unplaced))
    assert not violations, ('imports against the layer order of DESIGN.md '
                            'section 3:\n  ' + '\n  '.join(violations))


def _write_package(root, files):
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_the_checks_see_function_level_and_relative_imports(tmp_path):
    # A miniature package with a cycle hidden in a function and an upward
    # relative import: both must be reported.
    root = _write_package(tmp_path / 'blocks', {
        '__init__.py': '',
        'config.py': 'def late():\n    from blocks import main_loop\n',
        'main_loop.py': 'from .config import late\n',
        'bricks/__init__.py': 'from .base import Brick\n',
        'bricks/base.py': 'from ..graph import ComputationGraph\n',
        'graph/__init__.py': '',
        'graph/bn.py': 'import blocks.bricks.base\n',
    })
    graph = import_graph(root)
    assert graph['blocks.config'] == {'blocks.main_loop': 2}
    assert graph['blocks.bricks'] == {'blocks.bricks.base': 1}
    # Importing blocks.bricks.base runs blocks/bricks/__init__.py first.
    assert graph['blocks.graph.bn'] == {'blocks.bricks': 1,
                                        'blocks.bricks.base': 1}
    assert cycles(graph) == [['blocks.config', 'blocks.main_loop']]
    violations, unplaced = layer_violations(graph)
    assert violations == ['blocks.bricks.base -> blocks.graph (line 1)',
                          'blocks.config -> blocks.main_loop (line 2)',
                          'blocks.graph.bn -> blocks.bricks (line 1)',
                          'blocks.graph.bn -> blocks.bricks.base (line 1)']
    assert unplaced == []


#: The module each distribution installs, where the names differ
IMPORT_NAME = {'PyYAML': 'yaml', 'progressbar2': 'progressbar'}


def _third_party_imports(root=ROOT):
    names = set()
    for path in modules(root).values():
        for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split('.')[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names.add(node.module.split('.')[0])
    return names


def test_every_runtime_dependency_is_imported():
    # A dependency blocks never imports belongs in an extra, or nowhere.
    project = tomllib.loads((ROOT.parent / 'pyproject.toml').read_text())
    distributions = [re.split(r'[<>=!~;\[ ]', requirement)[0]
                     for requirement in project['project']['dependencies']]
    imported = _third_party_imports()
    unused = [name for name in distributions
              if IMPORT_NAME.get(name, name) not in imported]
    assert not unused, ('runtime dependencies that blocks never imports: '
                        '{}'.format(unused))


def _function_level_imports(root=ROOT):
    found = []
    for name, path in modules(root).items():
        tree = ast.parse(path.read_text(encoding='utf-8'))
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef,
                                         ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                if not isinstance(node, (ast.Import, ast.ImportFrom)):
                    continue
                targets = _imported(node, name, path.name == '__init__.py')
                if any(target.split('.')[0] == 'blocks'
                       for target in targets):
                    found.append('{} line {}'.format(name, node.lineno))
    return sorted(set(found))


def test_no_blocks_module_is_imported_inside_a_function():
    # Such an import hides a dependency (usually one that closes a cycle);
    # the module level is where the layer order can be read.
    found = _function_level_imports()
    assert not found, ('imports of blocks modules inside functions: '
                       '{}'.format(found))
