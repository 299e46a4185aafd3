import gzip
import os

import numpy
import pytest

from blocks.data.idx import (IDXError, idx_bytes, parse_idx, read_idx,
                             write_idx)


@pytest.mark.parametrize('dtype', ['uint8', 'int8', 'int16', 'int32',
                                   'float32', 'float64'])
@pytest.mark.parametrize('name', ['data-idx', 'data-idx.gz'])
def test_write_then_read(tmp_path, dtype, name):
    array = (numpy.arange(24) - 5).astype(dtype).reshape(2, 3, 4)
    if dtype == 'uint8':
        array = numpy.arange(24, dtype=dtype).reshape(2, 3, 4)
    path = str(tmp_path / name)
    write_idx(path, array)
    with open(path, 'rb') as file_:
        assert (file_.read(2) == b'\x1f\x8b') == name.endswith('.gz')
    loaded = read_idx(path)
    assert loaded.dtype == array.dtype and loaded.dtype.isnative
    numpy.testing.assert_array_equal(loaded, array)
    assert os.listdir(tmp_path) == [name]  # no temporary file left


def test_known_bytes():
    # MNIST's labels header: magic 2049 (0x00000801), then the count.
    content = idx_bytes(numpy.array([7, 2], dtype='uint8'))
    assert content == b'\x00\x00\x08\x01\x00\x00\x00\x02\x07\x02'
    content = idx_bytes(numpy.array([[1]], dtype='int16'))
    assert content == b'\x00\x00\x0b\x02\x00\x00\x00\x01\x00\x00\x00\x01' \
                      b'\x00\x01'


def test_mmap(tmp_path):
    path = str(tmp_path / 'images')
    array = numpy.arange(60, dtype='uint8').reshape(3, 4, 5)
    write_idx(path, array)
    mapped = read_idx(path, mmap=True)
    assert isinstance(mapped, numpy.memmap)
    numpy.testing.assert_array_equal(mapped, array)
    with open(path, 'ab') as file_:
        file_.write(b'\x00')
    with pytest.raises(IDXError, match='too long'):
        read_idx(path, mmap=True)


def test_truncated_and_corrupt(tmp_path):
    content = idx_bytes(numpy.zeros((4, 3), dtype='uint8'))
    with pytest.raises(IDXError, match='truncated IDX file.*\\(4, 3\\)'):
        parse_idx(content[:-1])
    with pytest.raises(IDXError, match='too long'):
        parse_idx(content + b'\x00')
    with pytest.raises(IDXError, match='magic number 0x01000802'):
        parse_idx(b'\x01' + content[1:])
    with pytest.raises(IDXError, match='magic number 0x00000702'):
        parse_idx(b'\x00\x00\x07' + content[3:])
    with pytest.raises(IDXError, match='truncated IDX header'):
        parse_idx(content[:6])
    with pytest.raises(IDXError, match='too short'):
        parse_idx(b'\x00\x00')
    path = tmp_path / 'cut.gz'
    path.write_bytes(gzip.compress(content)[:-6])
    with pytest.raises(IDXError, match='corrupt or truncated gzip'):
        read_idx(str(path))
    path.write_bytes(gzip.compress(content[:-2]))
    with pytest.raises(IDXError, match='truncated IDX file'):
        read_idx(str(path))


def test_unsupported_arrays():
    with pytest.raises(IDXError, match='dtype int64'):
        idx_bytes(numpy.zeros(2, dtype='int64'))
    with pytest.raises(IDXError, match='0 dimensions'):
        idx_bytes(numpy.uint8(3))
