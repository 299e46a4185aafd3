"""General-purpose helpers that know nothing about PyTensor."""
import sys
from collections import OrderedDict, deque
from contextlib import contextmanager

__all__ = ['pack', 'unpack', 'dict_union', 'dict_subset', 'reraise_as',
           'change_recursion_limit', 'find_bricks', 'extract_args',
           'repr_attrs']


def pack(arg):
    """Make a list out of an argument: tuples and lists are converted,
    anything else becomes a one-element list.

    >>> pack(1)
    [1]
    >>> pack((1, 2))
    [1, 2]

    """
    if isinstance(arg, (list, tuple)):
        return list(arg)
    return [arg]


def unpack(arg, singleton=False):
    """Unwrap a one-element list or tuple; a longer one becomes a list
    (as in Blocks); other values are returned as they are.

    Parameters
    ----------
    arg : object
        The value to unpack.
    singleton : bool, optional
        If True, raise ValueError unless `arg` holds exactly one element.

    >>> unpack([1])
    1
    >>> unpack((1, 2))
    [1, 2]

    """
    if isinstance(arg, (list, tuple)):
        if len(arg) == 1:
            return arg[0]
        if singleton:
            raise ValueError('expected a single element, got {} of them: '
                             '{!r}'.format(len(arg), arg))
        return list(arg)
    return arg


def dict_union(*dicts, **kwargs):
    """Merge dictionaries into a new OrderedDict; duplicate keys raise.

    >>> dict(dict_union({'a': 1}, b=2))
    {'a': 1, 'b': 2}

    """
    result = OrderedDict()
    for one_dict in dicts + (kwargs,):
        for key, value in one_dict.items():
            if key in result:
                raise ValueError('key {!r} appears in more than one of the '
                                 'dictionaries being merged'.format(key))
            result[key] = value
    return result


def dict_subset(dict_, keys, pop=False, must_have=True):
    """Return an OrderedDict with the given keys of a dictionary.

    Parameters
    ----------
    dict_ : dict
        The source.
    keys : iterable
        The keys to take, in order.
    pop : bool, optional
        Remove the keys from `dict_` as well.
    must_have : bool, optional
        If True (default), a missing key raises KeyError; otherwise it is
        skipped.

    """
    getter = dict_.pop if pop else dict_.get
    result = OrderedDict()
    for key in keys:
        if key in dict_:
            result[key] = getter(key)
        elif must_have:
            raise KeyError(key)
    return result


def reraise_as(new_exc):
    """Raise a new exception from the one being handled, keeping the
    original message and traceback.

    Must be called inside an ``except`` block. `new_exc` is an exception
    class or instance; the original message is appended to its message.

    """
    orig_exc_type, orig_exc_value, orig_exc_traceback = sys.exc_info()
    if isinstance(new_exc, type):
        new_exc = new_exc('')
    message = str(new_exc.args[0]) if new_exc.args else ''
    message += ('\n\nOriginal exception:\n\t{}: {}'.format(
        orig_exc_type.__name__, orig_exc_value))
    new_exc.args = (message,) + tuple(new_exc.args[1:])
    raise new_exc.with_traceback(orig_exc_traceback) from orig_exc_value


@contextmanager
def change_recursion_limit(limit):
    """Temporarily change Python's recursion limit (pickling deep graphs
    needs a large one)."""
    old_limit = sys.getrecursionlimit()
    if old_limit < limit:
        sys.setrecursionlimit(limit)
    try:
        yield
    finally:
        sys.setrecursionlimit(old_limit)


def find_bricks(top_bricks, predicate):
    """Walk a brick hierarchy breadth-first and collect matching bricks.

    Parameters
    ----------
    top_bricks : iterable of bricks
        Where to start; these are tested too.
    predicate : callable
        Called with each brick; the brick is kept when it returns True.

    Returns
    -------
    list
        The matching bricks in breadth-first order, each once.

    """
    found = []
    visited = set()
    to_visit = deque(top_bricks)
    while to_visit:
        brick = to_visit.popleft()
        if id(brick) in visited:
            continue
        visited.add(id(brick))
        if predicate(brick):
            found.append(brick)
        to_visit.extend(brick.children)
    return found


def extract_args(expected, *args, **kwargs):
    """Map positional and keyword arguments onto the names in `expected`.

    Returns an OrderedDict in the order of `expected`; raises KeyError for
    missing names and TypeError for unexpected or doubled ones.

    """
    if len(args) > len(expected):
        raise TypeError('got {} positional arguments but only {} names are '
                        'expected'.format(len(args), len(expected)))
    result = OrderedDict(zip(expected, args))
    for name, value in kwargs.items():
        if name in result:
            raise TypeError('got two values for {!r}'.format(name))
        if name not in expected:
            raise TypeError('unexpected argument {!r}'.format(name))
        result[name] = value
    missing = [name for name in expected if name not in result]
    if missing:
        raise KeyError('missing arguments: {}'.format(', '.join(missing)))
    return OrderedDict((name, result[name]) for name in expected)


def repr_attrs(instance, *attrs):
    """A repr that names the class, the id and the given attributes."""
    orig = object.__repr__(instance)
    parts = ['{}={!r}'.format(attr, getattr(instance, attr, '<unset>'))
             for attr in attrs]
    return '{}: {}>'.format(orig[:-1], ' '.join(parts))
