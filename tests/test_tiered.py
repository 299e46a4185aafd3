"""TieredFunction: the switch between tiers, the fallback when the final
tier fails, attribute delegation; with plain Python callables, no
compilation."""
import logging
import pathlib
import pickle
import subprocess
import sys
import threading

import pytest

from blocks.tiered import FinalTierFailed, TieredFunction


class Tier:
    """A callable standing for a compiled function: it says which tier
    ran and keeps PyTensor's ``trust_input`` attribute."""
    def __init__(self, label):
        self.label = label
        self.trust_input = False
        self.maker = 'maker of ' + label

    def __call__(self, value):
        return self.label, value


def gated(tier, gate, error=None):
    """A builder that returns `tier` (or raises `error`) once `gate` is
    set."""
    def build():
        gate.wait(10)
        if error is not None:
            raise error
        return tier
    return build


@pytest.fixture
def gate():
    gate = threading.Event()
    yield gate
    gate.set()  # never leave a builder thread waiting


def test_runs_the_first_tier_until_the_final_one_is_built(gate):
    built = []

    def build_final():
        built.append(True)
        return gated(Tier('c'), gate)()
    tiered = TieredFunction(lambda: Tier('python'), build_final)
    assert not built  # the first call runs alone
    assert tiered(1) == ('python', 1)
    assert tiered(2) == ('python', 2)
    assert tiered.tier == 'first'
    gate.set()
    tiered._thread.join(10)
    assert tiered.tier == 'first'  # the switch waits for the next call
    assert tiered(3) == ('c', 3)
    assert tiered.tier == 'final'


def test_wait_switches_and_logs_it(gate, caplog):
    tiered = TieredFunction(lambda: Tier('python'), gated(Tier('c'), gate),
                            name='the step')
    assert tiered.wait(timeout=0.01) == 'first'
    gate.set()
    with caplog.at_level(logging.DEBUG, logger='blocks.tiered'):
        assert tiered.wait() == 'final'
    assert tiered(4) == ('c', 4)
    assert 'the step switched to its final tier' in caplog.text


def test_a_failing_final_tier_warns_and_keeps_the_first(gate):
    tiered = TieredFunction(
        lambda: Tier('python'),
        gated(None, gate, error=RuntimeError('gcc is missing')),
        name='the step')
    gate.set()
    tiered.start()
    tiered._thread.join(10)
    with pytest.warns(FinalTierFailed, match='the final tier of the step '
                      'could not be built .RuntimeError: gcc is missing.'):
        assert tiered(5) == ('python', 5)
    assert tiered.tier == 'first'
    assert isinstance(tiered.final_error, RuntimeError)
    assert tiered(6) == ('python', 6)  # warned once


def test_trust_input_reaches_both_tiers(gate):
    first, final = Tier('python'), Tier('c')
    tiered = TieredFunction(lambda: first, gated(final, gate))
    tiered.trust_input = True
    assert first.trust_input and tiered.trust_input
    gate.set()
    tiered.wait()
    assert final.trust_input


def test_attributes_are_those_of_the_current_tier(gate):
    tiered = TieredFunction(lambda: Tier('python'), gated(Tier('c'), gate))
    assert tiered.maker == 'maker of python'
    gate.set()
    tiered.wait()
    assert tiered.maker == 'maker of c'
    with pytest.raises(AttributeError):
        tiered.no_such_attribute


def test_an_error_of_the_first_tier_build_is_raised_at_once():
    def fail():
        raise ValueError('not initialized')
    with pytest.raises(ValueError, match='not initialized'):
        TieredFunction(fail, lambda: Tier('c'))


def test_refuses_to_be_pickled(gate):
    tiered = TieredFunction(lambda: Tier('python'), gated(Tier('c'), gate),
                            name='the step')
    with pytest.raises(TypeError, match='the step.* cannot be pickled'):
        pickle.dumps(tiered)


def test_a_program_ending_early_waits_for_the_final_tier(tmp_path):
    done = tmp_path / 'built'
    program = (
        'import pathlib, time\n'
        'from blocks.tiered import TieredFunction\n'
        'def build_final():\n'
        '    time.sleep(0.5)\n'
        '    pathlib.Path({!r}).write_text("final")\n'
        '    return abs\n'
        'TieredFunction(lambda: abs, build_final)(-1)\n'.format(str(done)))
    subprocess.run([sys.executable, '-c', program], check=True, timeout=120,
                   cwd=pathlib.Path(__file__).resolve().parent.parent)
    assert done.read_text() == 'final'
