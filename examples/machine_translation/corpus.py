"""A synthetic language pair: an English-like source language and a
made-up target language with its own word order.

Source sentences follow a small grammar::

    sentence -> NP VERB NP [PREP NP]
    NP       -> DET [ADJ [ADJ]] NOUN

over 4 determiners, 6 adjectives, 8 nouns, 6 verbs and 3 prepositions
("the old dog chases a small red cat near every bird"). The translation
replaces every word by its entry in a fixed dictionary (one target word
per source word, no ambiguity) and reorders twice:

- inside a noun phrase the adjectives follow the noun, in the same order
  ("the old dog" -> "lo kane vek");
- the verb goes to the end of the sentence, after the object and the
  prepositional phrase (a verb-final language).

So the translation is a deterministic function of the source: a perfect
model reaches a BLEU of 100. The verb has to travel up to nine positions,
which is what the attention is for.
"""
import numpy

__all__ = ['DICTIONARY', 'Vocabulary', 'random_sentence', 'translate',
           'parallel_corpus']

# Each part of speech, with the translation of each word.
DICTIONARY = {
    'det': {'the': 'lo', 'a': 'un', 'this': 'ce', 'every': 'ogni'},
    'adj': {'big': 'gran', 'small': 'pic', 'red': 'ros', 'old': 'vek',
            'happy': 'feli', 'quick': 'rap'},
    'noun': {'cat': 'gato', 'dog': 'kane', 'bird': 'avi', 'man': 'omo',
             'woman': 'dona', 'child': 'nino', 'horse': 'kaval',
             'fish': 'pesk'},
    'verb': {'sees': 'vida', 'likes': 'ama', 'chases': 'kasa',
             'finds': 'trova', 'helps': 'juta', 'follows': 'segi'},
    'prep': {'near': 'apud', 'behind': 'dopo', 'under': 'sub'},
}
WORD_TRANSLATIONS = {source: target for words in DICTIONARY.values()
                     for source, target in words.items()}
PROBABILITY_OF_PP = 0.5


class Vocabulary:
    """Words and their codes, with blocks-examples' special symbols:
    ``<S>`` is 0, ``<UNK>`` 1 and ``</S>`` the last code.

    Examples
    --------
    >>> vocabulary = Vocabulary(['cat', 'dog'])
    >>> vocabulary.encode('dog cat'.split())
    [3, 2, 4]
    >>> vocabulary.decode([3, 2, 4])
    ['dog', 'cat']

    """
    def __init__(self, words):
        self.words = ['<S>', '<UNK>'] + sorted(words) + ['</S>']
        self.codes = {word: code for code, word in enumerate(self.words)}
        self.eos = len(self.words) - 1

    def __len__(self):
        return len(self.words)

    def encode(self, words):
        """The codes of `words` followed by ``</S>``."""
        unknown = self.codes['<UNK>']
        return [self.codes.get(word, unknown) for word in words] + [self.eos]

    def decode(self, codes):
        """The words of `codes`, up to the first ``</S>``."""
        words = []
        for code in codes:
            if code == self.eos:
                break
            words.append(self.words[code])
        return words


def source_vocabulary():
    return Vocabulary(WORD_TRANSLATIONS)


def target_vocabulary():
    return Vocabulary(WORD_TRANSLATIONS.values())


def _noun_phrase(rng):
    words = DICTIONARY
    adjectives = rng.choice(sorted(words['adj']), size=rng.randint(3),
                            replace=False)
    return ([rng.choice(sorted(words['det']))] + list(adjectives) +
            [rng.choice(sorted(words['noun']))])


def random_sentence(rng):
    """One source sentence (a list of words) drawn from the grammar."""
    sentence = (_noun_phrase(rng) + [rng.choice(sorted(DICTIONARY['verb']))]
                + _noun_phrase(rng))
    if rng.uniform() < PROBABILITY_OF_PP:
        sentence += ([rng.choice(sorted(DICTIONARY['prep']))] +
                     _noun_phrase(rng))
    return [str(word) for word in sentence]


def _reorder_noun_phrases(words):
    """Move each noun in front of the adjectives that precede it."""
    reordered, adjectives = [], []
    for word in words:
        if word in DICTIONARY['adj']:
            adjectives.append(word)
        elif word in DICTIONARY['noun']:
            reordered += [word] + adjectives
            adjectives = []
        else:
            reordered.append(word)
    return reordered


def translate(words):
    """The target sentence of a source sentence (lists of words).

    Examples
    --------
    >>> ' '.join(translate('the old dog chases a small red cat'.split()))
    'lo kane vek un gato pic ros kasa'

    """
    reordered = _reorder_noun_phrases(words)
    verbs = [word for word in reordered if word in DICTIONARY['verb']]
    rest = [word for word in reordered if word not in DICTIONARY['verb']]
    return [WORD_TRANSLATIONS[word] for word in rest + verbs]


def parallel_corpus(num_sentences, seed, exclude=()):
    """`num_sentences` distinct source sentences and their translations.

    Parameters
    ----------
    num_sentences : int
    seed : int
        Seed of the draws.
    exclude : collection of tuple of str, optional
        Source sentences (as tuples of words) not to draw: the training
        set, when drawing a held-out set.

    Returns
    -------
    list of (list of str, list of str)

    """
    rng = numpy.random.RandomState(seed)
    seen = set(exclude)
    pairs = []
    while len(pairs) < num_sentences:
        sentence = random_sentence(rng)
        if tuple(sentence) in seen:
            continue
        seen.add(tuple(sentence))
        pairs.append((sentence, translate(sentence)))
    return pairs
