"""The machine translation example on a tiny setting: its corpus, a few
training batches, beam search, BLEU, and an exact resumption from the
checkpoint."""
import numpy
import pytest

from blocks.serialization import load

from examples import machine_translation
from examples.machine_translation import corpus

TINY = dict(num_train=30, num_valid=3, batch_size=10, embedding_dim=6,
            state_dim=8, beam_size=3, bleu_every=2,
            checkpoint_every=1000, progress_bar=False)


def test_help(capsys):
    with pytest.raises(SystemExit) as exit_:
        machine_translation.parse_args(['--help'])
    assert exit_.value.code == 0
    assert '--beam-size' in capsys.readouterr().out


def test_translation_reorders_and_translates_word_by_word():
    source = 'every happy red cat sees the dog behind a fish'.split()
    assert corpus.translate(source) == (
        'ogni gato feli ros lo kane dopo un pesk vida'.split())


def test_held_out_sentences_are_not_in_the_training_set():
    train = corpus.parallel_corpus(200, 1)
    held_out = corpus.parallel_corpus(
        50, 2, exclude={tuple(source) for source, _ in train})
    sources = [tuple(source) for source, _ in train + held_out]
    assert len(set(sources)) == 250
    for source, target in held_out:
        assert len(source) == len(target)
        assert target[-1] in corpus.DICTIONARY['verb'].values()


def test_vocabulary_round_trip():
    vocabulary = corpus.target_vocabulary()
    words = corpus.translate(corpus.random_sentence(
        numpy.random.RandomState(3)))
    codes = vocabulary.encode(words)
    assert codes[-1] == vocabulary.eos == len(vocabulary) - 1
    assert vocabulary.decode(codes) == words


def parameter_values(main_loop):
    return {name: parameter.get_value() for name, parameter
            in main_loop.model.get_parameter_dict().items()}


def test_trains_translates_and_resumes_exactly(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    loop = machine_translation.main(save_to='mt.tar', plot_to='bleu.png',
                                    num_batches=2, **TINY)
    assert loop.status['iterations_done'] == 2
    assert numpy.isfinite(float(loop.log[2]['train_cost']))

    validator = loop.find_extension('BleuValidator')
    translations = validator.translations()
    assert len(translations) == 3
    target_words = set(corpus.target_vocabulary().words)
    for words in translations:
        assert set(words) <= target_words
    if machine_translation.sacrebleu is not None:
        bleu = loop.log[2]['valid_bleu']
        assert 0 <= bleu <= 100
        references = [reference for _, reference in validator.pairs]
        assert machine_translation.corpus_bleu(
            references, references) == pytest.approx(100)
        assert (tmp_path / 'bleu.png').read_bytes()[:4] == b'\x89PNG'

    # Two more batches from the checkpoint give what two more batches of
    # the loop in memory give: the data stream and the optimizer state
    # are restored exactly.
    resumed = load('mt.tar')
    for main_loop in (loop, resumed):
        main_loop.extensions.remove(main_loop.find_extension('BleuValidator'))
        main_loop.find_extension('FinishAfter').set_conditions(
            after_n_batches=4)
        main_loop.run()
        assert main_loop.status['iterations_done'] == 4
    expected = parameter_values(loop)
    for name, value in parameter_values(resumed).items():
        numpy.testing.assert_allclose(value, expected[name], rtol=1e-6,
                                      err_msg=name)


def test_without_sacrebleu_no_bleu_is_reported(monkeypatch):
    monkeypatch.setattr(machine_translation, 'sacrebleu', None)
    assert machine_translation.corpus_bleu([['a']], [['a']]) is None
