import os
import pickle

import pytest

from blocks.data.datasets import OneBillionWord, TextFile
from blocks.data.datasets.text import OneBillionWordNotFound
from blocks.data.schemes import ConstantScheme
from blocks.data.streams import DataStream
from blocks.data.transformers import Batch, Padding

WORDS = {'<S>': 0, '</S>': 1, '<UNK>': 2, 'the': 3, 'cat': 4, 'sat': 5}
CHARACTERS = {'<S>': 0, '</S>': 1, '<UNK>': 2, 'a': 3, 'b': 4, ' ': 5}


@pytest.fixture
def two_files(tmp_path):
    first, second = tmp_path / 'one.txt', tmp_path / 'two.txt'
    first.write_text('The cat sat\nthe dog\n', encoding='utf-8')
    second.write_text('sat sat\ncat\nthe\n', encoding='utf-8')
    return [str(first), str(second)]


def epoch(stream):
    return [example for example, in stream.get_epoch_iterator()]


def test_words_with_markers_and_unknowns_across_files(two_files):
    text = TextFile(two_files, WORDS)
    assert epoch(DataStream(text)) == [[0, 2, 4, 5, 1], [0, 3, 2, 1],
                                       [0, 5, 5, 1], [0, 4, 1], [0, 3, 1]]


def test_preprocess_and_no_markers(two_files):
    text = TextFile(two_files[:1], WORDS, bos_token=None, eos_token=None,
                    preprocess=str.lower)
    assert epoch(DataStream(text)) == [[3, 4, 5], [3, 2]]


def test_characters_strip_the_line(tmp_path):
    path = tmp_path / 'chars.txt'
    path.write_text('  ab ca\n', encoding='utf-8')
    text = TextFile(str(path), CHARACTERS, level='character')
    assert epoch(DataStream(text)) == [[0, 3, 4, 5, 2, 3, 1]]


def test_dictionary_from_a_pickle_file(tmp_path, two_files):
    path = tmp_path / 'dictionary.pkl'
    path.write_bytes(pickle.dumps(WORDS))
    assert epoch(DataStream(TextFile(two_files, str(path))))[3] == [0, 4, 1]


@pytest.mark.parametrize('arguments, message', [
    (dict(bos_token='<B>'), "bos_token '<B>' is not in"),
    (dict(eos_token='<E>'), "eos_token '<E>' is not in"),
    (dict(unk_token='<?>'), "unk_token '<\\?>' is not in"),
    (dict(level='sentence'), "level must be 'word' or 'character'"),
])
def test_bad_arguments(two_files, arguments, message):
    with pytest.raises(ValueError, match=message):
        TextFile(two_files, WORDS, **arguments)


def test_pickled_mid_epoch_goes_on_with_the_next_line(two_files):
    stream = Padding(Batch(DataStream(TextFile(two_files, WORDS)),
                           ConstantScheme(2)))
    iterator = stream.get_epoch_iterator()
    next(iterator)
    copy = pickle.loads(pickle.dumps(stream))
    rest = [features.tolist() for features, _ in iterator]
    rest_copy = [features.tolist() for features, _ in copy.epoch_iterator]
    assert rest == rest_copy == [[[0, 5, 5, 1], [0, 4, 1, 0]], [[0, 3, 1]]]


def test_pickling_releases_and_reopens_the_file(two_files):
    text = TextFile(two_files, WORDS)
    state = text.open()
    text.get_data(state)
    copy = pickle.loads(pickle.dumps(state))
    assert copy.file is None
    assert text.get_data(copy) == text.get_data(state) == ([0, 3, 2, 1],)
    text.close(state)
    text.close(copy)
    assert state.file is None


def corpus_file(root, which_set, partition):
    if which_set == 'training':
        directory = 'training-monolingual.tokenized.shuffled'
        name = 'news.en-{:05d}-of-00100'.format(partition)
    else:
        directory = 'heldout-monolingual.tokenized.shuffled'
        name = 'news.en.heldout-{:05d}-of-00050'.format(partition)
    path = root / '1-billion-word' / directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def test_one_billion_word_reads_the_data_path(tmp_path, monkeypatch):
    monkeypatch.setenv('BLOCKS_DATA_PATH', str(tmp_path))
    corpus_file(tmp_path, 'training', 99).write_text('the cat\n')
    corpus_file(tmp_path, 'heldout', 0).write_text('sat\n')
    training = OneBillionWord('training', [99], WORDS)
    assert epoch(DataStream(training)) == [[0, 3, 4, 1]]
    heldout = OneBillionWord('heldout', [0], WORDS, bos_token=None)
    assert epoch(DataStream(heldout)) == [[5, 1]]


def test_one_billion_word_says_where_to_put_the_corpus(tmp_path,
                                                       monkeypatch):
    monkeypatch.setenv('BLOCKS_DATA_PATH', str(tmp_path))
    with pytest.raises(OneBillionWordNotFound) as info:
        OneBillionWord('training', [7], WORDS)
    expected = os.path.join(str(tmp_path), '1-billion-word')
    assert expected in str(info.value)
    assert 'news.en-00007-of-00100' in str(info.value)
    assert 'BLOCKS_DATA_PATH' in str(info.value)


@pytest.mark.parametrize('which_set, partitions, message', [
    ('test', [1], "which_set must be 'training' or 'heldout'"),
    ('training', [0], 'training partitions lie in 1-99'),
    ('heldout', [50], 'heldout partitions lie in 0-49'),
])
def test_one_billion_word_checks_set_and_partitions(which_set, partitions,
                                                    message):
    with pytest.raises(ValueError, match=message):
        OneBillionWord(which_set, partitions, WORDS)
