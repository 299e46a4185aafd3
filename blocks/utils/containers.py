"""Lists that run hooks when items are added or removed."""
from collections.abc import MutableSequence

__all__ = ['AnnotatingList']


class AnnotatingList(MutableSequence):
    """A list whose subclasses react to insertion and removal.

    Subclasses override :meth:`_setitem` and :meth:`_delitem`, which are
    called before the underlying list changes. `Brick.parameters` uses this
    to tag new parameters with their role and brick.

    """
    def __init__(self, items=None):
        self._items = []
        if items is not None:
            self.extend(items)

    def __repr__(self):
        return repr(self._items)

    def __eq__(self, other):
        return self._items == list(other)

    def __ne__(self, other):
        return not self == other

    def __getitem__(self, key):
        return self._items[key]

    def _setitem(self, key, value):
        pass

    def _delitem(self, key):
        pass

    def __setitem__(self, key, value):
        if isinstance(key, slice):
            raise TypeError('slice assignment is not supported')
        # The item being overwritten leaves the list: its hook runs first.
        self._delitem(key)
        self._setitem(key, value)
        self._items[key] = value

    def __delitem__(self, key):
        if isinstance(key, slice):
            # Delete one by one from the end so the hooks see each item
            # at its current index.
            for index in sorted(range(*key.indices(len(self))),
                                reverse=True):
                del self[index]
            return
        self._delitem(key)
        del self._items[key]

    def __len__(self):
        return len(self._items)

    def insert(self, index, value):
        self._setitem(index, value)
        self._items.insert(index, value)
