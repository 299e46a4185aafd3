import errno
import os

import numpy
import pytest

import blocks.extensions.saveload as saveload
from blocks.algorithms import GradientDescent, Scale
from blocks.extensions import FinishAfter
from blocks.extensions.saveload import Checkpoint, Load
from blocks.main_loop import MainLoop
from blocks.model import Model
from blocks.serialization import (SerializationError, dump, load,
                                  load_parameters)

from tests.training_helpers import regression_model, regression_stream


def make_loop(extensions, epochs=1):
    cost, parameters, _, _ = regression_model()
    algorithm = GradientDescent(cost=cost, parameters=parameters,
                                step_rule=Scale(0.01))
    return MainLoop(algorithm, regression_stream(16, 8), model=Model(cost),
                    extensions=list(extensions)
                    + [FinishAfter(after_n_epochs=epochs)])


def test_checkpoint_saves_loop_and_parameters(tmp_path):
    path = str(tmp_path / 'checkpoint.tar')
    loop = make_loop([Checkpoint(path, every_n_batches=1,
                                 save_separately=['log'])])
    loop.run()
    assert loop.log[1]['saved_to'] == (path,)
    assert loop.log[2]['saved_to'] == (path, path)  # after_training too
    parameters = load_parameters(path)
    weights = loop.algorithm.parameters[0].get_value()
    numpy.testing.assert_array_equal(parameters['W'], weights)
    loaded = load(path)
    assert loaded.status['iterations_done'] == 2
    numpy.testing.assert_array_equal(
        loaded.algorithm.parameters[0].get_value(), weights)
    assert load(path, 'log').status['iterations_done'] == 2


def test_checkpoint_failure_keeps_the_previous_file(tmp_path, monkeypatch):
    path = str(tmp_path / 'checkpoint.tar')
    loop = make_loop([Checkpoint(path, after_epoch=True)], epochs=1)
    loop.run()
    with open(path, 'rb') as file_:
        before = file_.read()

    def failing_dump(object_, file_, **kwargs):
        file_.write(b'half a checkpoint')
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(saveload, 'dump', failing_dump)
    loop.find_extension('FinishAfter').set_conditions(after_n_epochs=2)
    with pytest.raises(OSError, match='No space left'):
        loop.run()
    with open(path, 'rb') as file_:
        assert file_.read() == before
    assert os.listdir(str(tmp_path)) == ['checkpoint.tar']
    assert load(path).status['epochs_done'] == 1
    assert 'saved_to' not in loop.log.current_row


def test_checkpoint_with_explicit_parameters_only(tmp_path):
    path = str(tmp_path / 'parameters.tar')
    cost, parameters, _, _ = regression_model()
    loop = make_loop([Checkpoint(path, parameters=parameters[:1],
                                 save_main_loop=False)])
    loop.run()
    assert set(load_parameters(path)) == {'W'}
    with pytest.raises(SerializationError):
        load(path)


def test_load_restores_parameters_log_and_iteration_state(tmp_path):
    path = str(tmp_path / 'checkpoint.tar')
    first = make_loop([Checkpoint(path)], epochs=1)
    first.run()
    saved = [p.get_value() for p in first.algorithm.parameters]

    second = make_loop([Load(path, load_log=True,
                             load_iteration_state=True)], epochs=2)
    second.run()
    assert second.status['epochs_done'] == 2
    assert second.status['iterations_done'] == 4
    assert second.log[2]['training_finished']  # the old log came along

    third = make_loop([Load(path)], epochs=1)
    third.extensions[0].load_to(third)
    for parameter, value in zip(third.algorithm.parameters, saved):
        numpy.testing.assert_array_equal(parameter.get_value(), value)
    # Blocks scripts call do() without a callback name
    fourth = make_loop([Load(path)], epochs=1)
    for parameter in fourth.algorithm.parameters:
        parameter.set_value(parameter.get_value() * 0)
    fourth.extensions[0].main_loop = fourth
    fourth.extensions[0].do()
    for parameter, value in zip(fourth.algorithm.parameters, saved):
        numpy.testing.assert_array_equal(parameter.get_value(), value)
    third.run()
    assert third.log[0]['loaded_from'] == path


def test_load_missing_file_warns_and_goes_on(tmp_path, caplog):
    loop = make_loop([Load(str(tmp_path / 'nothing.tar'))])
    loop.run()
    assert 'no checkpoint' in caplog.text


def test_load_corrupt_file_raises_clearly(tmp_path):
    path = tmp_path / 'corrupt.tar'
    path.write_bytes(b'this is not a checkpoint')
    loop = make_loop([Load(str(path))])
    with pytest.raises(SerializationError, match='corrupt.tar'):
        loop.run()


def corrupt_member(path, name):
    import tarfile
    with tarfile.open(path) as tar_file:
        member = tar_file.getmember(name)
        offset = member.offset_data + member.size // 2
    data = bytearray(open(path, 'rb').read())
    data[offset] ^= 0xff
    open(path, 'wb').write(bytes(data))


def test_load_with_a_corrupt_pickle_changes_nothing(tmp_path):
    path = str(tmp_path / 'checkpoint.tar')
    first = make_loop([Checkpoint(path)])
    first.run()
    corrupt_member(path, '_pkl')  # the parameters stay intact
    second = make_loop([Load(path, load_log=True)])
    before = [p.get_value() for p in second.algorithm.parameters]
    log = second.log
    with pytest.raises(SerializationError, match="'_pkl'"):
        second.extensions[0].load_to(second)
    assert second.log is log
    for parameter, value in zip(second.algorithm.parameters, before):
        numpy.testing.assert_array_equal(parameter.get_value(), value)


def test_load_refuses_a_file_lacking_parameters_unless_partial(tmp_path):
    path = str(tmp_path / 'weights.tar')
    first = make_loop([])
    weights = first.algorithm.parameters[0]
    weights.set_value(weights.get_value() + 1)
    dump(None, path, parameters=[weights])
    second = make_loop([Load(path)])
    with pytest.raises(SerializationError,
                       match=r'lacks 1 of the model\'s 2 parameters: b; '
                             r'give allow_partial=True'):
        second.extensions[0].load_to(second)
    assert not second.algorithm.parameters[0].get_value().any()
    third = make_loop([Load(path, allow_partial=True)])
    third.extensions[0].load_to(third)
    numpy.testing.assert_array_equal(
        third.algorithm.parameters[0].get_value(), weights.get_value())
