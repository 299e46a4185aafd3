"""Text corpora read line by line and turned into integer codes.

:class:`TextFile` reads one sentence per line from local files and maps
each word (or character) to its code in a dictionary, with optional
begin- and end-of-sentence markers. :class:`OneBillionWord` is a
:class:`TextFile` over the partitions of Google's One Billion Word
benchmark, read from blocks' data path.

"""
import os
import pickle
from collections.abc import Iterator

from blocks.data.datasets.base import Dataset, data_path

__all__ = ['TextFile', 'TextFileState', 'OneBillionWord',
           'OneBillionWordNotFound', 'one_billion_word_directory']


class TextFile(Dataset):
    r"""Sentences of text files as lists of codes, one line per example.

    Parameters
    ----------
    files : str or list of str
        The files to read, in this order; each holds one sentence a line.
    dictionary : dict or str
        Maps tokens to integer codes, or is the path of a pickled such
        dictionary. It must contain `unk_token` and the markers that are
        not None.
    bos_token : str or None, optional
        The marker put before every sentence (``'<S>'``); None for none.
    eos_token : str or None, optional
        The marker put after every sentence (``'</S>'``); None for none.
    unk_token : str, optional
        The token whose code replaces tokens missing from the dictionary.
    level : {'word', 'character'}, optional
        ``'word'`` splits each line at whitespace; ``'character'`` takes
        every character of the line without its surrounding whitespace.
    preprocess : callable, optional
        Applied to each line (a str, newline included) before it is split,
        e.g. ``str.lower``. Must be picklable for checkpoints.
    encoding : str, optional
        The encoding of the files.

    Notes
    -----
    The only source is ``'features'``; examples are lists of int. The
    reading state (:class:`TextFileState`) keeps a file index and a byte
    offset, so a stream pickled in the middle of an epoch goes on from the
    next line.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), 'sentences.txt')
    >>> with open(path, 'w') as file_:
    ...     _ = file_.write('This is a sentence\nthis another one\n')
    >>> dictionary = {'<UNK>': 0, '</S>': 1, 'this': 2, 'a': 3, 'one': 4}
    >>> text = TextFile([path], dictionary, bos_token=None,
    ...                 preprocess=str.lower)
    >>> from blocks.data.streams import DataStream
    >>> list(DataStream(text).get_epoch_iterator())
    [([2, 0, 3, 0, 1],), ([2, 0, 4, 1],)]

    """
    provides_sources = ('features',)
    example_iteration_scheme = None

    def __init__(self, files, dictionary, bos_token='<S>', eos_token='</S>',
                 unk_token='<UNK>', level='word', preprocess=None,
                 encoding='utf-8', **kwargs):
        if isinstance(files, str):
            files = [files]
        self.files = list(files)
        if isinstance(dictionary, str):
            with open(dictionary, 'rb') as file_:
                dictionary = pickle.load(file_)
        self.dictionary = dictionary
        for role, token in (('bos_token', bos_token),
                            ('eos_token', eos_token),
                            ('unk_token', unk_token)):
            if token is not None and token not in dictionary:
                raise ValueError('TextFile: {} {!r} is not in the '
                                 'dictionary'.format(role, token))
        if unk_token is None:
            raise ValueError('TextFile: unk_token must be a token of the '
                             'dictionary, got None')
        if level not in ('word', 'character'):
            raise ValueError("TextFile: level must be 'word' or "
                             "'character', got {!r}".format(level))
        self.bos_token = bos_token
        self.eos_token = eos_token
        self.unk_token = unk_token
        self.level = level
        self.preprocess = preprocess
        self.encoding = encoding
        super().__init__(**kwargs)

    def open(self):
        return TextFileState(self.files)

    def close(self, state):
        state.close()

    def get_data(self, state=None, request=None):
        if request is not None or state is None:
            raise ValueError('TextFile.get_data needs the state returned by '
                             'open() and no request, got request={!r}'
                             .format(request))
        line = next(state).decode(self.encoding)
        return self.filter_sources((self.numberize(line),))

    def numberize(self, sentence):
        """The codes of one sentence, with its markers."""
        if self.preprocess is not None:
            sentence = self.preprocess(sentence)
        tokens = (sentence.split() if self.level == 'word'
                  else sentence.strip())
        unknown = self.dictionary[self.unk_token]
        codes = [self.dictionary.get(token, unknown) for token in tokens]
        if self.bos_token is not None:
            codes.insert(0, self.dictionary[self.bos_token])
        if self.eos_token is not None:
            codes.append(self.dictionary[self.eos_token])
        return codes


class TextFileState(Iterator):
    """The lines of several files, one after the other, as bytes.

    Pickling keeps the file index and the byte offset in the open file,
    not the file object; unpickling reopens the file at that offset.

    Parameters
    ----------
    files : list of str
        The paths, read in order.

    """
    def __init__(self, files):
        self.files = list(files)
        self.index = 0
        self.offset = 0
        self.file = None

    def __next__(self):
        while self.index < len(self.files):
            if self.file is None:
                self.file = open(self.files[self.index], 'rb')
                self.file.seek(self.offset)
            line = self.file.readline()
            if line:
                self.offset = self.file.tell()
                return line
            self.close()
            self.index += 1
            self.offset = 0
        raise StopIteration

    def close(self):
        if self.file is not None:
            self.file.close()
            self.file = None

    def __getstate__(self):
        state = self.__dict__.copy()
        state['file'] = None
        return state


class OneBillionWordNotFound(FileNotFoundError):
    """A file of the One Billion Word corpus is missing; the message says
    where to put it."""


def one_billion_word_directory():
    """Where the corpus is read from: ``data_path()/1-billion-word``."""
    return os.path.join(data_path(), '1-billion-word')


# which set -> (sub-directory, file name pattern, valid partitions)
_BILLION_SETS = {
    'training': ('training-monolingual.tokenized.shuffled',
                 'news.en-{:05d}-of-00100', range(1, 100)),
    'heldout': ('heldout-monolingual.tokenized.shuffled',
                'news.en.heldout-{:05d}-of-00050', range(50)),
}


class OneBillionWord(TextFile):
    """Google's One Billion Word benchmark (Chelba et al., 2013), read from
    its released partition files.

    Parameters
    ----------
    which_set : {'training', 'heldout'}
        The set.
    which_partitions : list of int
        Training partitions lie in 1-99, held-out ones in 0-49.
    dictionary : dict or str
        As for :class:`TextFile`; it must hold ``<UNK>`` and, unless the
        markers are switched off, ``<S>`` and ``</S>``.
    directory : str, optional
        The corpus root; :func:`one_billion_word_directory` by default.
    **kwargs
        Passed to :class:`TextFile` (``level``, ``preprocess``...).

    Notes
    -----
    The files are those of the archive
    ``1-billion-word-language-modeling-benchmark-r13output.tar.gz``
    (statmt.org), unpacked into ``$BLOCKS_DATA_PATH/1-billion-word``, so
    that its directories ``training-monolingual.tokenized.shuffled`` (files
    ``news.en-00001-of-00100``...) and
    ``heldout-monolingual.tokenized.shuffled`` are there. A missing file
    raises :class:`OneBillionWordNotFound` naming the path expected.

    Examples
    --------
    >>> OneBillionWord('training', [99], {'<UNK>': 0})  # doctest: +SKIP

    """
    def __init__(self, which_set, which_partitions, dictionary,
                 directory=None, **kwargs):
        if which_set not in _BILLION_SETS:
            raise ValueError("OneBillionWord: which_set must be 'training' "
                             "or 'heldout', got {!r}".format(which_set))
        subdirectory, pattern, valid = _BILLION_SETS[which_set]
        wrong = [partition for partition in which_partitions
                 if partition not in valid]
        if wrong or not which_partitions:
            raise ValueError('OneBillionWord: {} partitions lie in {}-{}, '
                             'got {}'.format(which_set, valid[0], valid[-1],
                                             list(which_partitions)))
        self.which_set = which_set
        self.which_partitions = list(which_partitions)
        root = directory or one_billion_word_directory()
        files = [os.path.join(root, subdirectory, pattern.format(partition))
                 for partition in which_partitions]
        for path in files:
            if not os.path.isfile(path):
                raise OneBillionWordNotFound(
                    'One Billion Word file not found: {}. Unpack '
                    '1-billion-word-language-modeling-benchmark-r13output'
                    '.tar.gz (http://www.statmt.org/lm-benchmark/) so that '
                    'its two *-monolingual.tokenized.shuffled directories '
                    'are in {}, or set BLOCKS_DATA_PATH to the directory '
                    'that holds 1-billion-word/.'.format(path, root))
        super().__init__(files, dictionary, **kwargs)
