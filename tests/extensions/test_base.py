"""The extensions package keeps Blocks' import paths: every name Blocks
had in ``blocks.extensions`` is the object of its own module."""
import blocks.extensions
from blocks.extensions import base, printing, progress, stopping, timing


def test_the_package_re_exports_the_modules_names():
    homes = {'CALLBACKS': base, 'TrainingExtension': base,
             'SimpleExtension': base, 'Predicate': base,
             'has_done_epochs': base, 'CompositeExtension': base,
             'FinishAfter': stopping, 'Printing': printing,
             'ProgressBar': progress, 'Timing': timing, 'Timestamp': timing}
    assert sorted(homes) == sorted(blocks.extensions.__all__)
    for name, module in homes.items():
        assert getattr(blocks.extensions, name) is getattr(module, name)
