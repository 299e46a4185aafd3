"""The reverse_words example on a tiny setting: Blocks' test (ten lines
"A line.", one training batch, beam search on "abc" with a beam of 10),
plus the checkpoint, the evaluation and the interactive modes."""
import numpy
import pytest

from blocks.serialization import load

from examples import float32, reverse_words as example


def test_reverse_words_targets():
    encoded = [example.CHAR2CODE[char] for char in 'ab cd!']
    reversed_, = example.reverse_words((encoded,))
    # As upstream, punctuation (coded below the space) belongs to words.
    assert ''.join(example.CODE2CHAR[code] for code in reversed_) == \
        'ba !dc'
    wrapped = example.Reverser.encode('Abc')
    target, = example.reverse_words((wrapped,))
    assert target == [example.CHAR2CODE[char] for char in
                      ['<S>', 'c', 'b', 'a', '</S>']]


def test_corpus_and_held_out_words_are_disjoint(tmp_path):
    corpus = str(tmp_path / 'corpus.txt')
    example.make_corpus(corpus, num_lines=50)
    with open(corpus) as file_:
        lines = file_.read().splitlines()
    assert len(lines) == 50
    assert all(1 <= len(line.split()) <= 5 for line in lines)
    words = example.held_out_words(corpus, count=20)
    assert len(set(words)) == 20
    assert not set(words) & set(' '.join(lines).split())


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    directory = tmp_path_factory.mktemp('reverse_words')
    data = directory / 'lines.txt'
    data.write_text('A line.\n' * 10)
    save_path = str(directory / 'model.tar')
    with float32():
        main_loop = example.train(save_path, 1, data_path=str(data),
                                  dimension=6, checkpoint_every=1,
                                  print_every=1)
    return save_path, main_loop


def test_one_batch_trains_and_checkpoints(trained):
    save_path, main_loop = trained
    assert main_loop.status['iterations_done'] == 1
    assert numpy.isfinite(
        main_loop.log.current_row['average_sequence_log_likelihood'])
    assert load(save_path).status['iterations_done'] == 1


def test_beam_search_sample_and_evaluate(trained, capsys):
    save_path, _ = trained
    with float32():
        reverser = example.Reverser(save_path, dimension=6)
        encoded = reverser.encode('abc')
        outputs, costs = reverser.beam_search(encoded, 10)
        assert len(outputs) == 10 and costs == sorted(costs)
        assert all(output[-1] == example.CHAR2CODE['</S>'] or
                   len(output) == 3 * len(encoded) for output in outputs)
        samples, sample_costs = reverser.sample(encoded, 3)
        assert len(samples) == 3 and all(cost > 0 for cost in sample_costs)
        assert 0 <= example.accuracy(reverser, ['ab', 'c'], 2) <= 1
        example.interact(reverser, 'beam_search', ['abc', '2'])
    printed = capsys.readouterr().out
    assert 'Target:' in printed and printed.count('\n(') == 2
