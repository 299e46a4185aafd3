import io
import os
import pickle
import tarfile

import numpy
import pytensor
import pytensor.tensor
import pytest

from blocks.bricks.base import Brick
from blocks.annotations import add_annotation
from blocks.scripts.continue_training import main as continue_main
from blocks.serialization import (SerializationError, TrainingComplete,
                                  add_to_dump,
                                  continue_training, dump, load,
                                  load_parameters, secure_dump)


class Dense(Brick):
    """A brick with one weight matrix."""
    def __init__(self, shape, **kwargs):
        super().__init__(**kwargs)
        self.shape = shape

    def _allocate(self):
        self.parameters.append(pytensor.shared(
            numpy.arange(numpy.prod(self.shape), dtype='float64')
            .reshape(self.shape), name='W'))


class Stack(Brick):
    def __init__(self, **kwargs):
        super().__init__(children=[Dense((2, 3), name='linear_0'),
                                   Dense((3, 1), name='linear_1')], **kwargs)


class FakeMainLoop:
    def __init__(self, parameter):
        self.parameter = parameter
        self.runs = 0

    def run(self):
        self.runs += 1


class Exploding:
    def __reduce__(self):
        raise RuntimeError('cannot pickle this')


class CreatesFile:
    """Unpickling this creates a file: stands for a malicious pickle."""
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return open, (self.path, 'w')


@pytest.fixture
def mlp():
    brick = Stack(name='mlp')
    brick.allocate()
    return brick


def all_parameters(brick):
    return [parameter for child in brick.children
            for parameter in child.parameters]


def members(path):
    """The data members of a dump, without its checksums."""
    with tarfile.open(path) as tar_file:
        return [name for name in tar_file.getnames()
                if name != '_checksums']


def test_dump_and_load_round_trip(mlp, tmp_path):
    path = str(tmp_path / 'model.tar')
    dump(mlp, path, parameters=all_parameters(mlp))
    assert members(path) == ['_parameters', '_pkl']
    loaded = load(path)
    assert loaded.name == 'mlp'
    assert [child.name for child in loaded.children] == ['linear_0',
                                                         'linear_1']
    for original, copy in zip(all_parameters(mlp), all_parameters(loaded)):
        numpy.testing.assert_array_equal(copy.get_value(),
                                         original.get_value())
    saved = load_parameters(path)
    numpy.testing.assert_array_equal(
        saved['/mlp/linear_1.W'], loaded.children[1].parameters[0].get_value())


def test_dump_to_a_file_object_without_parameters(mlp):
    file_ = io.BytesIO()
    dump(mlp, file_)
    file_.seek(0)
    assert load(file_).name == 'mlp'
    file_.seek(0)
    with pytest.raises(SerializationError, match="no member '_parameters'"):
        load_parameters(file_)


def test_parameters_named_by_brick_path_or_own_name(mlp, tmp_path):
    free = pytensor.shared(numpy.float64(3.0), name='learning_rate')
    # Any shared variable annotated with a brick, like a batch-norm
    # population statistic, which is not a PARAMETER.
    statistic = pytensor.shared(numpy.ones(3), name='population_mean')
    add_annotation(statistic, mlp.children[0])
    path = str(tmp_path / 'model.tar')
    dump(None, path, parameters=all_parameters(mlp) + [free, statistic])
    assert members(path) == ['_parameters']
    saved = load_parameters(path)
    assert sorted(saved) == ['/mlp/linear_0.W',
                             '/mlp/linear_0.population_mean',
                             '/mlp/linear_1.W', 'learning_rate']
    assert saved['learning_rate'] == 3.0
    with numpy.load(tarfile.open(path).extractfile('_parameters')) as npz:
        assert '|mlp|linear_0.W' in npz.files


def test_duplicate_parameter_names_raise(tmp_path):
    first = pytensor.shared(numpy.zeros(2), name='b')
    second = pytensor.shared(numpy.zeros(2), name='b')
    path = str(tmp_path / 'model.tar')
    with pytest.raises(ValueError, match='same name: b'):
        dump(None, path, parameters=[first, second])
    nameless = pytensor.shared(numpy.zeros(2))
    with pytest.raises(ValueError, match='no name'):
        dump(None, path, parameters=[nameless])
    # the same variable twice is not a duplicate
    dump(None, path, parameters=[first, first])
    assert list(load_parameters(path)) == ['b']


def test_load_parameters_never_unpickles(mlp, tmp_path):
    marker = tmp_path / 'marker'
    parameters_file = io.BytesIO()
    dump(None, parameters_file, parameters=all_parameters(mlp))
    parameters_file.seek(0)
    with tarfile.open(fileobj=parameters_file) as source:
        parameters_bytes = source.extractfile('_parameters').read()
    malicious = pickle.dumps(CreatesFile(str(marker)))
    path = str(tmp_path / 'malicious.tar')
    with tarfile.open(path, 'w') as tar_file:
        for name, data in [('_pkl', malicious),
                           ('_parameters', parameters_bytes)]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar_file.addfile(info, io.BytesIO(data))

    saved = load_parameters(path)
    assert not marker.exists()
    assert sorted(saved) == ['/mlp/linear_0.W', '/mlp/linear_1.W']
    numpy.testing.assert_array_equal(saved['/mlp/linear_0.W'],
                                     numpy.arange(6.).reshape(2, 3))
    # The file really is malicious: load() would have run it.
    load(path).close()
    assert marker.exists()


def test_load_parameters_refuses_pickled_arrays(tmp_path):
    marker = tmp_path / 'marker'
    npz = io.BytesIO()
    numpy.savez(npz, evil=numpy.array([CreatesFile(str(marker))],
                                      dtype=object))
    path = str(tmp_path / 'object_array.tar')
    with tarfile.open(path, 'w') as tar_file:
        info = tarfile.TarInfo('_parameters')
        info.size = len(npz.getvalue())
        tar_file.addfile(info, io.BytesIO(npz.getvalue()))
    with pytest.raises(SerializationError, match='cannot be read'):
        load_parameters(path)
    assert not marker.exists()


def test_add_to_dump(mlp, tmp_path):
    path = str(tmp_path / 'model.tar')
    parameters = all_parameters(mlp)
    dump(mlp, path, parameters=parameters[:1])
    add_to_dump({'epoch': 3}, path, 'extra', parameters=parameters[:1])
    assert members(path) == ['_parameters', '_pkl', 'extra']
    assert load(path, name='extra') == {'epoch': 3}
    assert load(path).name == 'mlp'
    with pytest.raises(ValueError, match='reserved'):
        add_to_dump(1, path, '_pkl')
    with pytest.raises(ValueError, match="already has a member 'extra'"):
        add_to_dump(1, path, 'extra')
    with pytest.raises(ValueError, match='not saved in .*linear_1.W'):
        add_to_dump(1, path, 'other', parameters=parameters)
    assert members(path) == ['_parameters', '_pkl', 'extra']


def test_add_to_dump_on_a_file_object(mlp):
    file_ = io.BytesIO()
    dump(mlp, file_)
    add_to_dump([1, 2], file_, 'numbers')
    file_.seek(0)
    assert load(file_, name='numbers') == [1, 2]
    with pytest.raises(ValueError, match='holds no parameters'):
        add_to_dump(1, file_, 'other', parameters=all_parameters(mlp))


def test_secure_dump_keeps_the_previous_file_on_failure(mlp, tmp_path):
    path = str(tmp_path / 'checkpoint.tar')
    secure_dump(mlp, path, parameters=all_parameters(mlp))
    before = open(path, 'rb').read()
    # Pickling fails after a large part has been written.
    with pytest.raises(RuntimeError, match='cannot pickle'):
        secure_dump([numpy.zeros(100000), Exploding()], path)
    assert open(path, 'rb').read() == before
    assert os.listdir(str(tmp_path)) == ['checkpoint.tar']
    assert load(path).name == 'mlp'


def test_secure_dump_keeps_the_previous_file_when_replacing_fails(
        tmp_path, monkeypatch):
    path = str(tmp_path / 'checkpoint.pkl')
    secure_dump({'a': 1}, path, dump_function=pickle.dump)

    def full_disk(source, destination):
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(os, 'replace', full_disk)
    with pytest.raises(OSError, match='No space'):
        secure_dump({'a': 2}, path, dump_function=pickle.dump)
    monkeypatch.undo()
    assert pickle.load(open(path, 'rb')) == {'a': 1}
    assert os.listdir(str(tmp_path)) == ['checkpoint.pkl']


def test_secure_dump_keeps_file_permissions(tmp_path):
    path = str(tmp_path / 'checkpoint.pkl')
    secure_dump(1, path, dump_function=pickle.dump)
    os.chmod(path, 0o640)
    secure_dump(2, path, dump_function=pickle.dump, protocol=2)
    assert os.stat(path).st_mode & 0o777 == 0o640
    assert pickle.load(open(path, 'rb')) == 2


def test_truncated_or_corrupt_files_raise_a_clear_error(mlp, tmp_path):
    path = str(tmp_path / 'model.tar')
    dump(mlp, path, parameters=all_parameters(mlp))
    data = open(path, 'rb').read()
    with tarfile.open(path) as tar_file:
        offsets = {member.name: (member.offset_data, member.size)
                   for member in tar_file.getmembers()}
    cut = str(tmp_path / 'cut.tar')
    for name, reader in [('_pkl', load), ('_parameters', load_parameters)]:
        start, size = offsets[name]
        for length in [10, start - 100, start + size // 2]:
            with open(cut, 'wb') as file_:
                file_.write(data[:length])
            with pytest.raises(SerializationError, match='cut.tar'):
                reader(cut)
    with open(cut, 'wb') as file_:
        file_.write(b'not a tar file at all' * 100)
    with pytest.raises(SerializationError, match='not a blocks dump'):
        load(cut)
    with pytest.raises(FileNotFoundError):
        load(str(tmp_path / 'missing.tar'))


def test_corrupt_pickle_raises_a_clear_error(tmp_path):
    path = str(tmp_path / 'model.tar')
    with tarfile.open(path, 'w') as tar_file:
        info = tarfile.TarInfo('_pkl')
        data = pickle.dumps({'a': 1})[:-3]
        info.size = len(data)
        tar_file.addfile(info, io.BytesIO(data))
    with pytest.raises(SerializationError, match="cannot unpickle '_pkl'"):
        load(path)


def test_continue_training_and_its_command(tmp_path):
    parameter = pytensor.shared(numpy.zeros(2), name='W')
    path = str(tmp_path / 'checkpoint.tar')
    dump(FakeMainLoop(parameter), path, parameters=[parameter])
    main_loop = continue_training(path)
    assert main_loop.runs == 1
    assert continue_main([path]) == 0
    assert continue_main([str(tmp_path / 'missing.tar')]) == 1
    dump({'not': 'a main loop'}, path)
    with pytest.raises(SerializationError, match='not a main loop'):
        continue_training(path)


def test_deep_graphs_pickle():
    # 2000 chained nodes: past what the default stack and recursion limit
    # of the main thread can pickle.
    x = pytensor.tensor.vector('x')
    y = x
    for _ in range(1000):
        y = pytensor.tensor.tanh(y) + 1
    file_ = io.BytesIO()
    dump(y, file_)
    file_.seek(0)
    assert load(file_).owner is not None


def module_level_function():
    return 1


def test_renamer_names_like_blocks(mlp):
    from blocks.serialization import _Renamer
    named = pytensor.shared(numpy.zeros(2), name='named')
    tagged = pytensor.shared(numpy.zeros(2))
    tagged.tag.name = 'tagged'
    unnamed = pytensor.shared(numpy.zeros(2))
    renamer = _Renamer()
    names = [renamer(variable) for variable in
             [mlp.children[0].parameters[0], named, tagged, unnamed, unnamed,
              named]]
    assert names == ['|mlp|linear_0.W', 'named', 'tagged', 'parameter',
                     'parameter_2', 'named_2']


def test_load_rewinds_so_one_handle_gives_every_member(mlp):
    file_ = io.BytesIO()
    dump(mlp, file_, parameters=all_parameters(mlp))
    add_to_dump({'epoch': 3}, file_, 'extra')
    assert load(file_, 'extra') == {'epoch': 3}
    assert load(file_).name == 'mlp'  # no seek in between
    assert sorted(load_parameters(file_)) == ['/mlp/linear_0.W',
                                              '/mlp/linear_1.W']


def test_dump_and_add_to_dump_through_secure_dump(mlp, tmp_path):
    from blocks.serialization import dump_and_add_to_dump
    path = str(tmp_path / 'checkpoint.tar')
    parameters = all_parameters(mlp)
    secure_dump(mlp, path, dump_and_add_to_dump, parameters=parameters,
                to_add={'log': [1, 2], 'status': {'epochs_done': 1}})
    assert members(path) == ['_parameters', '_pkl', 'log', 'status']
    assert load(path, 'status') == {'epochs_done': 1}
    numpy.testing.assert_array_equal(
        load_parameters(path)['/mlp/linear_1.W'],
        parameters[1].get_value())


def test_dump_warns_about_objects_of_main(monkeypatch):
    monkeypatch.setattr(module_level_function, '__module__', '__main__')
    import __main__
    monkeypatch.setattr(__main__, 'module_level_function',
                        module_level_function, raising=False)
    with pytest.warns(UserWarning, match='module_level_function in the '
                      '__main__ namespace') as record:
        dump({'f': module_level_function, 'g': module_level_function},
             io.BytesIO())
    assert len(record) == 1


def test_unpicklable_functions_and_classes_are_named(tmp_path):
    class Local:
        pass

    with pytest.raises(pickle.PicklingError, match='<lambda>'):
        dump({'f': lambda: None}, io.BytesIO())
    with pytest.raises(pickle.PicklingError,
                       match=r'Local.*defined inside\s+functions'):
        dump([Local()], io.BytesIO())
    with pytest.raises(pickle.PicklingError, match='<lambda>'):
        secure_dump(lambda: None, str(tmp_path / 'never_written.tar'))
    assert os.listdir(str(tmp_path)) == []


# Checksums, stale temporaries, finished runs

def flip_byte_in_member(path, name, position=0.5):
    """Flip one bit in the middle of member `name` of the dump at `path`."""
    with tarfile.open(path) as tar_file:
        member = tar_file.getmember(name)
        offset = member.offset_data + int(member.size * position)
    data = bytearray(open(path, 'rb').read())
    data[offset] ^= 0x10
    with open(path, 'wb') as file_:
        file_.write(bytes(data))


def test_every_member_is_checked_against_its_sha256(mlp, tmp_path):
    path = str(tmp_path / 'model.tar')
    dump(mlp, path, parameters=all_parameters(mlp))
    add_to_dump({'log': 1}, path, 'extra')
    assert load(path, 'extra') == {'log': 1}  # its checksum was added
    for name, reader in [('_pkl', load), ('_parameters', load_parameters),
                         ('extra', lambda path: load(path, 'extra'))]:
        dump(mlp, path, parameters=all_parameters(mlp))
        add_to_dump({'log': 1}, path, 'extra')
        flip_byte_in_member(path, name)
        with pytest.raises(SerializationError,
                           match="'{}' of .*model.tar fails its SHA-256"
                           .format(name)):
            reader(path)


def test_dumps_without_checksums_still_load(tmp_path):
    path = str(tmp_path / 'old.tar')
    with tarfile.open(path, 'w') as tar_file:
        data = pickle.dumps([1, 2])
        info = tarfile.TarInfo('_pkl')
        info.size = len(data)
        tar_file.addfile(info, io.BytesIO(data))
    assert load(path) == [1, 2]


def test_secure_dump_removes_stale_temporaries_of_its_target(tmp_path):
    path = str(tmp_path / 'checkpoint.tar')
    stale = tmp_path / '.checkpoint.tar.abc123.tmp'
    other = tmp_path / '.other.tar.abc123.tmp'
    stale.write_bytes(b'left by kill -9')
    other.write_bytes(b'another target')
    secure_dump([1], path)
    assert not stale.exists()
    assert other.exists()
    assert sorted(os.listdir(tmp_path)) == ['.other.tar.abc123.tmp',
                                            'checkpoint.tar']


class FinishedLoop(FakeMainLoop):
    """A main loop that says its run is complete."""
    def __init__(self, parameter):
        super().__init__(parameter)
        self.finished = True
        self.status = {'epochs_done': 3, 'iterations_done': 30}
        self.extended_by = None

    def extend_training(self, epochs):
        self.extended_by = epochs


def test_continue_training_refuses_a_finished_run(tmp_path, capsys):
    parameter = pytensor.shared(numpy.zeros(2), name='W')
    path = str(tmp_path / 'finished.tar')
    dump(FinishedLoop(parameter), path, parameters=[parameter])
    with pytest.raises(TrainingComplete,
                       match=r'complete \(3 epochs, 30 batches done\).*'
                             r'--more-epochs N'):
        continue_training(path)
    assert continue_main([path]) == 0
    assert 'is complete' in capsys.readouterr().err
    loop = continue_training(path, more_epochs=2)
    assert (loop.runs, loop.extended_by) == (1, 2)
    with pytest.raises(SystemExit):
        continue_main(['--more-epochs', '0', path])
