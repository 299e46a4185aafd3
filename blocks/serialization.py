"""Saving and loading main loops, models and parameter values.

A dump is an uncompressed tar archive with these members:

``_pkl``
    the pickled object (a main loop, a model, a brick ...);
``_parameters``
    an ``.npz`` archive of parameter values, present when parameters were
    given, keyed by the parameter's brick path (``/mlp/linear_0.W``, stored
    as ``|mlp|linear_0.W`` inside the npz so that no member name looks like
    an absolute path) or, for a shared variable without a brick, its name;
``_checksums``
    a JSON object giving the SHA-256 digest of every other member, written
    last. Every read checks the member it reads against it, so a bit flip
    anywhere is a :class:`SerializationError` naming the file and the
    member rather than silently wrong weights. Dumps written before
    checksums existed have no such member and load unchecked.

:func:`add_to_dump` adds further pickled members. :func:`load_parameters`
reads only ``_parameters`` and never unpickles anything, so it is safe on a
file from an untrusted source; :func:`load` unpickles, which can run
arbitrary code: load only files you trust.

Examples
--------
>>> import io, pytensor, numpy
>>> weights = pytensor.shared(numpy.ones(2), name='W')
>>> file_ = io.BytesIO()
>>> dump({'weights': weights}, file_, parameters=[weights])
>>> _ = file_.seek(0)
>>> load(file_)['weights'].get_value()
array([1., 1.])
>>> _ = file_.seek(0)
>>> load_parameters(file_)
{'W': array([1., 1.])}

"""
import fnmatch
import hashlib
import io
import json
import os
import pickle
import shutil
import tarfile
import tempfile
import threading
import types
import warnings
import zipfile

import numpy

from blocks.bricks.base import BRICK_DELIMITER, name_by_path
from blocks.config import config
from blocks.filter import get_brick
from blocks.utils import change_recursion_limit

__all__ = ['SerializationError', 'dump', 'load', 'load_parameters',
           'add_to_dump', 'dump_and_add_to_dump', 'secure_dump',
           'continue_training', 'TrainingComplete', 'pickle_dump',
           'pickle_load', 'get_parameter_names', 'DEFAULT_PROTOCOL',
           'SERIALIZATION_BRICK_DELIMITER']

DEFAULT_PROTOCOL = pickle.HIGHEST_PROTOCOL
#: Replaces the brick delimiter in the npz member names
SERIALIZATION_BRICK_DELIMITER = '|'
_OBJECT_MEMBER = '_pkl'
_PARAMETERS_MEMBER = '_parameters'
_CHECKSUMS_MEMBER = '_checksums'
_RESERVED_MEMBERS = (_OBJECT_MEMBER, _PARAMETERS_MEMBER, _CHECKSUMS_MEMBER)


class SerializationError(ValueError):
    """A file is not a readable dump: truncated, corrupt, or missing the
    member asked for."""


def _describe(file_):
    """How to name `file_` in error messages."""
    if isinstance(file_, (str, os.PathLike)):
        return os.fspath(file_)
    return getattr(file_, 'name', None) or repr(file_)


# Pickling

# Pickling a graph recurses once per node along its longest path, through
# C code: a deep graph overflows the main thread's stack (a segmentation
# fault, not a RecursionError) long before any useful recursion limit. So
# pickling runs in a thread with a large stack (reserved, not committed,
# memory) and a recursion limit that this stack can hold: about 20000
# chained nodes.
_PICKLING_STACK_SIZE = 1 << 30
_RECURSION_LIMIT_FOR_STACK = _PICKLING_STACK_SIZE // 2048


def _call_with_large_stack(function):
    """Call `function()` in a thread with a large stack; return its result
    or raise its exception. Runs in the current thread if no such thread
    can be made."""
    outcome = {}

    def target():
        try:
            outcome['result'] = function()
        except BaseException as error:  # re-raised in the caller's thread
            outcome['error'] = error

    try:
        old_size = threading.stack_size(_PICKLING_STACK_SIZE)
    except (ValueError, RuntimeError):
        return function()
    try:
        thread = threading.Thread(target=target, name='blocks-pickling')
        try:
            thread.start()
        except RuntimeError:
            return function()
    finally:
        threading.stack_size(old_size)
    interrupted = None
    while thread.is_alive():
        try:
            thread.join()
        except KeyboardInterrupt as error:
            # Let the pickler finish with the file before giving up on it.
            interrupted = error
    if interrupted is not None:
        raise interrupted
    if 'error' in outcome:
        raise outcome['error']
    return outcome.get('result')


MAIN_MODULE_WARNING = (
    'the dump refers to {} in the __main__ namespace: it can only be loaded '
    'where {} is defined again, so continue_training works only from within '
    'the script that defines it (move it to a module to load it anywhere)')


def _is_local(object_):
    """Functions and classes that pickle cannot find again by name:
    lambdas and those defined inside a function."""
    qualname = getattr(object_, '__qualname__', '')
    return '<lambda>' in qualname or '<locals>' in qualname


class _Pickler(pickle.Pickler):
    """The C pickler, with a warning for functions and classes of
    ``__main__`` (as in Blocks) and a :class:`pickle.PicklingError` that
    names the lambda or local function or class that cannot be pickled
    (Python raises an AttributeError for some of them)."""
    def reducer_override(self, object_):
        if isinstance(object_, (types.FunctionType, type)):
            name = '{}.{}'.format(getattr(object_, '__module__', '?'),
                                  getattr(object_, '__qualname__', object_))
            if _is_local(object_):
                raise pickle.PicklingError(
                    'cannot pickle {}: pickle finds functions and classes '
                    'by name, and lambdas and objects defined inside '
                    'functions have none; define it at the top level of a '
                    'module'.format(name))
            if object_.__module__ == '__main__':
                warnings.warn(MAIN_MODULE_WARNING.format(
                    name, object_.__qualname__), stacklevel=2)
        return NotImplemented


def pickle_dump(object_, file_, protocol=DEFAULT_PROTOCOL, use_cpickle=False):
    """Pickle `object_` into the binary file `file_`, with room for deep
    graphs.

    Pickling runs in a thread with a 1 GiB stack (reserved address space)
    and a recursion limit of at least ``config.recursion_limit``, enough
    for graphs about 20000 nodes deep.

    `use_cpickle` is accepted for compatibility with Blocks: the C pickler
    is always used.

    Raises
    ------
    pickle.PicklingError
        For a lambda, or a function or class defined inside a function,
        naming it. Functions and classes of ``__main__`` pickle with a
        warning: they load only where they are defined again.
    """
    limit = max(config.recursion_limit, _RECURSION_LIMIT_FOR_STACK)

    def pickle_it():
        _Pickler(file_, protocol=protocol).dump(object_)

    with change_recursion_limit(limit):
        _call_with_large_stack(pickle_it)


def pickle_load(file_, **kwargs):
    """Unpickle an object from the binary file `file_` with the recursion
    limit raised to ``config.recursion_limit`` (for objects whose
    ``__setstate__`` recurses); keyword arguments go to
    :class:`pickle.Unpickler`."""
    with change_recursion_limit(config.recursion_limit):
        return pickle.Unpickler(file_, **kwargs).load()


# Parameter names

def get_parameter_names(parameters):
    """Name each parameter by its brick path (``/mlp/linear_0.W``), or by
    its own name if it belongs to no brick.

    Returns
    -------
    dict
        Name -> shared variable.

    Raises
    ------
    ValueError
        If two different parameters get the same name, or a name contains
        ``'|'`` (used to store brick paths).

    """
    named = name_by_path(parameters)
    for name in named:
        if SERIALIZATION_BRICK_DELIMITER in name:
            raise ValueError(
                'cannot store parameter {!r}: names may not contain {!r}'
                .format(name, SERIALIZATION_BRICK_DELIMITER))
    return named


class _Renamer:
    """Blocks' parameter naming, one name per call, for code written
    against it.

    A parameter of a brick gets its brick path with ``'|'`` as the
    delimiter (``|mlp|linear_0.W``), other shared variables their
    ``tag.name`` or ``name``, or ``'parameter'``; a name already given
    gets a suffix ``_2``, ``_3``... :func:`dump` itself refuses duplicate
    names instead (see :func:`get_parameter_names`).

    """
    default_name = 'parameter'

    def __init__(self):
        self.used_names = set()

    def __call__(self, parameter):
        if get_brick(parameter) is not None:
            name = _mangle(get_brick(parameter).get_hierarchical_name(
                parameter))
        else:
            name = (getattr(parameter.tag, 'name', None) or parameter.name
                    or self.default_name)
        unique_name, suffix = name, 2
        while unique_name in self.used_names:
            unique_name = '{}_{}'.format(name, suffix)
            suffix += 1
        self.used_names.add(unique_name)
        return unique_name


def _mangle(name):
    return name.replace(BRICK_DELIMITER, SERIALIZATION_BRICK_DELIMITER)


def _unmangle(name):
    return name.replace(SERIALIZATION_BRICK_DELIMITER, BRICK_DELIMITER)


# Tar members

def _sha256_of_file(file_):
    """The hex SHA-256 digest of a binary file, read from its start."""
    file_.seek(0)
    digest = hashlib.sha256()
    for block in iter(lambda: file_.read(1 << 20), b''):
        digest.update(block)
    return digest.hexdigest()


def _add_member(tar_file, name, write):
    """Add a member called `name` whose content `write(binary_file)`
    produces, and return its SHA-256 digest; the content goes through a
    temporary file so that large parameters do not need to fit in memory
    twice."""
    with tempfile.TemporaryFile(dir=config.temp_dir) as content:
        write(content)
        size = content.tell()
        checksum = _sha256_of_file(content)
        content.seek(0)
        info = tarfile.TarInfo(name)
        info.size = size
        tar_file.addfile(info, content)
    return checksum


def _add_checksums(tar_file, checksums):
    """Write the ``_checksums`` member; a later one (from
    :func:`add_to_dump`) supersedes it, as tar's last member of a name
    does."""
    data = json.dumps(checksums, sort_keys=True).encode('utf-8')
    info = tarfile.TarInfo(_CHECKSUMS_MEMBER)
    info.size = len(data)
    tar_file.addfile(info, io.BytesIO(data))


def _read_checksums(tar_file, file_):
    """Member name -> digest, or an empty dict for a dump written before
    checksums existed."""
    try:
        member = tar_file.getmember(_CHECKSUMS_MEMBER)
    except KeyError:
        return {}
    content = tar_file.extractfile(member)
    data = content.read() if content is not None else b''
    try:
        checksums = json.loads(data.decode('utf-8'))
        if not isinstance(checksums, dict):
            raise ValueError('not a JSON object')
    except ValueError as error:
        raise SerializationError(
            'the checksums of {} are corrupt ({}): the file is damaged'
            .format(_describe(file_), error)) from error
    return checksums


def _verify_checksum(file_, name, data, checksums):
    expected = checksums.get(name)
    if expected is None:
        return
    if hashlib.sha256(data).hexdigest() != expected:
        raise SerializationError(
            'member {!r} of {} fails its SHA-256 checksum: the file is '
            'corrupt (a changed byte); nothing was loaded from it'.format(
                name, _describe(file_)))


def _write_parameters(named_parameters):
    def write(file_):
        numpy.savez(file_, **{
            _mangle(name): variable.get_value(borrow=True)
            for name, variable in named_parameters.items()})
    return write


def _write_object(object_, protocol, use_cpickle):
    def write(file_):
        pickle_dump(object_, file_, protocol=protocol,
                    use_cpickle=use_cpickle)
    return write


def _open_tar(file_, mode):
    if isinstance(file_, (str, os.PathLike)):
        return tarfile.open(os.fspath(file_), mode=mode)
    return tarfile.open(fileobj=file_, mode=mode)


def _read_member(file_, name):
    """The bytes of member `name` of the dump `file_` (a file object is
    read from its start, as in Blocks, so that several members can be
    loaded from one handle)."""
    if not isinstance(file_, (str, os.PathLike)):
        file_.seek(0)
    try:
        with _open_tar(file_, 'r:') as tar_file:
            try:
                member = tar_file.getmember(name)
            except KeyError:
                raise SerializationError(
                    '{} has no member {!r} (it has {})'.format(
                        _describe(file_), name,
                        ', '.join(map(repr, tar_file.getnames())) or
                        'none')) from None
            content = tar_file.extractfile(member)
            if content is None:
                raise SerializationError('member {!r} of {} is not a regular '
                                         'file'.format(name, _describe(file_)))
            data = content.read()
            checksums = _read_checksums(tar_file, file_)
    except (tarfile.TarError, EOFError) as error:
        raise SerializationError(
            'cannot read {!r} from {}: the file is truncated or not a blocks '
            'dump ({})'.format(name, _describe(file_), error)) from error
    if len(data) != member.size:
        raise SerializationError(
            'member {!r} of {} is truncated: {} of {} bytes'.format(
                name, _describe(file_), len(data), member.size))
    _verify_checksum(file_, name, data, checksums)
    return data


# Public API

def dump(object_, file_, parameters=None, use_cpickle=False,
         protocol=DEFAULT_PROTOCOL):
    """Save an object and, separately, parameter values to a tar archive.

    Parameters
    ----------
    object_ : object
        Pickled into the member ``_pkl``; None to store parameters only.
    file_ : str or binary file
        A path, or a file object open for writing.
    parameters : list of shared variables, optional
        Their values go to the member ``_parameters``, named by brick path
        (see :func:`get_parameter_names`). Any shared variable qualifies,
        batch-normalization population statistics included.
    use_cpickle : bool, optional
        Accepted for compatibility; see :func:`pickle_dump`.
    protocol : int, optional
        The pickle protocol.

    Raises
    ------
    ValueError
        If two parameters have the same name.

    """
    # Name the parameters before writing anything: a naming error must not
    # leave half a file behind.
    named = get_parameter_names(parameters) if parameters else None
    checksums = {}
    with _open_tar(file_, 'w') as tar_file:
        if named is not None:
            checksums[_PARAMETERS_MEMBER] = _add_member(
                tar_file, _PARAMETERS_MEMBER, _write_parameters(named))
        if object_ is not None:
            checksums[_OBJECT_MEMBER] = _add_member(
                tar_file, _OBJECT_MEMBER,
                _write_object(object_, protocol, use_cpickle))
        _add_checksums(tar_file, checksums)


def load(file_, name=_OBJECT_MEMBER, use_cpickle=False, **kwargs):
    """Load an object saved by :func:`dump` or :func:`add_to_dump`.

    This unpickles, which can run arbitrary code: only load trusted files
    (:func:`load_parameters` is safe on any file).

    Parameters
    ----------
    file_ : str or binary file
    name : str, optional
        The member to load; ``'_pkl'``, the dumped object, by default.
    use_cpickle : bool, optional
        Accepted for compatibility; loading always uses the C unpickler.
    \\*\\*kwargs
        Given to :class:`pickle.Unpickler` (``encoding`` ...).

    Raises
    ------
    SerializationError
        If the file is truncated, corrupt, or has no such member.

    """
    if name == _PARAMETERS_MEMBER:
        raise ValueError('use load_parameters to read the _parameters member')
    data = _read_member(file_, name)
    try:
        return pickle_load(io.BytesIO(data), **kwargs)
    except (pickle.UnpicklingError, EOFError, ImportError, AttributeError,
            IndexError, TypeError, ValueError) as error:
        raise SerializationError(
            'cannot unpickle {!r} from {}: {}: {}'.format(
                name, _describe(file_), type(error).__name__, error)
        ) from error


def load_parameters(file_):
    """Read the parameter values of a dump without unpickling anything.

    Safe on files from untrusted sources: only the ``_parameters`` npz
    member is read, with ``allow_pickle=False``.

    Returns
    -------
    dict
        Parameter name (``/mlp/linear_0.W``) -> :class:`numpy.ndarray`.

    Raises
    ------
    SerializationError
        If the file has no parameters or they cannot be read.

    """
    data = _read_member(file_, _PARAMETERS_MEMBER)
    try:
        with numpy.load(io.BytesIO(data), allow_pickle=False) as npz_file:
            return {_unmangle(key): npz_file[key] for key in npz_file.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError,
            KeyError) as error:
        raise SerializationError(
            'the parameters in {} cannot be read: {}: {}'.format(
                _describe(file_), type(error).__name__, error)) from error


def add_to_dump(object_, file_, name, parameters=None, use_cpickle=False,
                protocol=DEFAULT_PROTOCOL):
    """Pickle another object into an existing dump, as member `name`.

    Parameters
    ----------
    object_ : object
    file_ : str or binary file
        A path (updated atomically, as by :func:`secure_dump`) or a file
        object open for reading and writing.
    name : str
        Not ``'_pkl'`` or ``'_parameters'``, and not already in the dump.
    parameters : list of shared variables, optional
        Checked to be among the dump's saved parameters (ValueError if
        not); the object is pickled in full either way.

    """
    if name in _RESERVED_MEMBERS:
        raise ValueError('{!r} is reserved in dumps; choose another name for '
                         'the object'.format(name))
    if isinstance(file_, (str, os.PathLike)):
        path = os.fspath(file_)

        def copy_and_add(temporary):
            with open(path, 'rb') as original:
                shutil.copyfileobj(original, temporary)
            temporary.seek(0)
            add_to_dump(object_, temporary, name, parameters=parameters,
                        use_cpickle=use_cpickle, protocol=protocol)

        secure_dump(None, path, dump_function=lambda _, temporary:
                    copy_and_add(temporary))
        return
    file_.seek(0)
    try:
        with tarfile.open(fileobj=file_, mode='r:') as tar_file:
            names = tar_file.getnames()
            checksums = _read_checksums(tar_file, file_)
    except tarfile.TarError as error:
        raise SerializationError('{} is not a blocks dump: {}'.format(
            _describe(file_), error)) from error
    if name in names:
        raise ValueError('{} already has a member {!r}'.format(
            _describe(file_), name))
    if parameters:
        if _PARAMETERS_MEMBER not in names:
            raise ValueError('{} holds no parameters, so parameters cannot '
                             'be given'.format(_describe(file_)))
        file_.seek(0)
        saved = set(load_parameters(file_))
        missing = set(get_parameter_names(parameters)) - saved
        if missing:
            raise ValueError('parameters not saved in {}: {}'.format(
                _describe(file_), ', '.join(sorted(missing))))
    file_.seek(0)
    with tarfile.open(fileobj=file_, mode='a') as tar_file:
        checksum = _add_member(tar_file, name,
                               _write_object(object_, protocol, use_cpickle))
        _add_checksums(tar_file, dict(checksums, **{name: checksum}))


def dump_and_add_to_dump(object_, file_, parameters=None, to_add=None,
                         use_cpickle=False, protocol=DEFAULT_PROTOCOL):
    """:func:`dump`, then :func:`add_to_dump` for each named object: one
    call that :func:`secure_dump` can make
    (``secure_dump(main_loop, path, dump_and_add_to_dump, to_add=...)``).

    Parameters
    ----------
    object_, file_, parameters, use_cpickle, protocol
        As for :func:`dump`.
    to_add : dict, optional
        Member name -> object to pickle beside `object_`.

    Examples
    --------
    >>> import io
    >>> file_ = io.BytesIO()
    >>> dump_and_add_to_dump([1], file_, to_add={'log': {'epoch': 2}})
    >>> load(file_), load(file_, 'log')
    ([1], {'epoch': 2})

    """
    dump(object_, file_, parameters=parameters, use_cpickle=use_cpickle,
         protocol=protocol)
    for name, added in (to_add or {}).items():
        add_to_dump(added, file_, name, parameters=parameters,
                    use_cpickle=use_cpickle, protocol=protocol)


def _new_file_mode(path):
    """The permissions a replacement of `path` should have."""
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_directory(directory):
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


_TEMPORARY_SUFFIX = '.tmp'


def _temporary_prefix(path):
    return '.{}.'.format(os.path.basename(path))


def _remove_stale_temporaries(path):
    """Remove the temporaries that earlier saves to `path` left behind
    when the process was killed (``kill -9`` leaves no chance to clean
    up); those of other targets are left alone."""
    directory = os.path.dirname(os.path.abspath(path))
    pattern = _temporary_prefix(path) + '*' + _TEMPORARY_SUFFIX
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in fnmatch.filter(names, pattern):
        try:
            os.remove(os.path.join(directory, name))
        except OSError:
            pass  # another process's file, or already gone


def secure_dump(object_, path, dump_function=dump, **kwargs):
    """Save to `path` so that a failure never destroys its old content.

    The object is written to a temporary file beside `path`
    (``.<name>.<random>.tmp``), flushed to disk, then renamed over `path`
    in one step. If anything fails (an unpicklable object, a full disk, an
    interrupt), the temporary file is removed and `path` keeps its
    previous content. Temporaries of `path` that a killed process left
    behind are removed at the next save to `path`, so two processes must
    not save to the same path at once.

    Parameters
    ----------
    object_ : object
    path : str
    dump_function : callable, optional
        Called as ``dump_function(object_, binary_file, **kwargs)``;
        :func:`dump` by default (:func:`pickle.dump` works too).

    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    mode = _new_file_mode(path)
    _remove_stale_temporaries(path)
    descriptor, temporary_path = tempfile.mkstemp(
        dir=directory, prefix=_temporary_prefix(path),
        suffix=_TEMPORARY_SUFFIX)
    try:
        with os.fdopen(descriptor, 'w+b') as temporary:
            dump_function(object_, temporary, **kwargs)
            temporary.flush()
            os.fsync(temporary.fileno())
        os.chmod(temporary_path, mode)
        os.replace(temporary_path, path)
    except BaseException:
        try:
            os.remove(temporary_path)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(directory)


class TrainingComplete(Exception):
    """The checkpoint given to :func:`continue_training` is of a run that
    already finished."""


def continue_training(path, more_epochs=None):
    """Load the main loop saved at `path` (by a Checkpoint) and run it.

    This unpickles the file (see :func:`load`): only use trusted files.

    Parameters
    ----------
    path : str
    more_epochs : int, optional
        Train this many epochs more, also when the run had finished (see
        ``MainLoop.extend_training``).

    Returns
    -------
    The main loop, after its run.

    Raises
    ------
    TrainingComplete
        If the run had finished and `more_epochs` is not given.

    """
    main_loop = load(path)
    if not callable(getattr(main_loop, 'run', None)):
        raise SerializationError(
            '{} holds a {}, not a main loop: it has no run() method'.format(
                path, type(main_loop).__name__))
    if more_epochs is not None:
        main_loop.extend_training(more_epochs)
    elif getattr(main_loop, 'finished', False):
        status = main_loop.status
        raise TrainingComplete(
            'the run saved in {} is complete ({} epochs, {} batches done); '
            'to train further, give the number of epochs to add '
            '(blocks-continue --more-epochs N {})'.format(
                path, status['epochs_done'], status['iterations_done'],
                path))
    main_loop.run()
    return main_loop
