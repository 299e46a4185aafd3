"""Reading and writing IDX files, the format of the MNIST distribution.

An IDX file is a big-endian header followed by the raw array:

- two zero bytes, then one byte naming the element type (0x08 uint8,
  0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64), then one
  byte giving the number of dimensions n;
- n 32-bit big-endian unsigned integers, the size of each dimension;
- the elements in C order, big-endian.

Files may be gzip-compressed (recognised by their content, not their name).
Every read checks the header and that the file holds exactly the number of
bytes the header announces, so that truncated or corrupt files raise
:class:`IDXError` rather than giving wrong arrays.

Examples
--------
>>> import numpy
>>> data = numpy.arange(6, dtype='uint8').reshape(2, 3)
>>> parse_idx(idx_bytes(data))
array([[0, 1, 2],
       [3, 4, 5]], dtype=uint8)

"""
import gzip
import os
import struct
import zlib

import numpy

__all__ = ['IDXError', 'idx_bytes', 'parse_idx', 'read_idx', 'write_idx',
           'read_raw']

TYPE_CODES = {
    0x08: numpy.dtype('u1'), 0x09: numpy.dtype('i1'),
    0x0B: numpy.dtype('>i2'), 0x0C: numpy.dtype('>i4'),
    0x0D: numpy.dtype('>f4'), 0x0E: numpy.dtype('>f8')}
CODES_BY_KIND = {(dtype.kind, dtype.itemsize): code
                 for code, dtype in TYPE_CODES.items()}
GZIP_MAGIC = b'\x1f\x8b'


class IDXError(ValueError):
    """An IDX file is truncated, corrupt or not what was expected."""


def idx_bytes(array):
    """Serialise an array (uint8, int8, int16, int32, float32 or float64)
    to IDX bytes."""
    array = numpy.asarray(array)
    code = CODES_BY_KIND.get((array.dtype.kind, array.dtype.itemsize))
    if code is None or array.ndim == 0 or array.ndim > 255:
        raise IDXError('IDX cannot store an array of dtype {} with {} '
                       'dimensions'.format(array.dtype, array.ndim))
    header = struct.pack('>BBBB', 0, 0, code, array.ndim) + struct.pack(
        '>{}I'.format(array.ndim), *array.shape)
    return header + numpy.ascontiguousarray(
        array, dtype=TYPE_CODES[code]).tobytes()


def _header(content, size, name):
    """Check the header at the start of `content` against the total size
    `size` of the uncompressed file; return (dtype, shape, data offset)."""
    if size < 4 or len(content) < 4:
        raise IDXError('{}: {} bytes is too short for an IDX header'
                       .format(name, size))
    zero1, zero2, code, ndim = struct.unpack('>BBBB', content[:4])
    if zero1 or zero2 or code not in TYPE_CODES or ndim == 0:
        raise IDXError('{}: not an IDX file (magic number 0x{})'
                       .format(name, content[:4].hex()))
    offset = 4 + 4 * ndim
    if len(content) < offset:
        raise IDXError('{}: truncated IDX header ({} bytes, {} expected)'
                       .format(name, size, offset))
    shape = struct.unpack('>{}I'.format(ndim), content[4:offset])
    dtype = TYPE_CODES[code]
    expected = offset + int(numpy.prod(shape, dtype=numpy.int64)) * \
        dtype.itemsize
    if size != expected:
        what = 'truncated' if size < expected else 'too long'
        raise IDXError('{}: {} IDX file: header announces shape {} of {} '
                       '({} bytes), the file has {} bytes'.format(
                           name, what, shape, dtype.name, expected, size))
    return dtype, shape, offset


def parse_idx(content, name='IDX data'):
    """Turn IDX bytes (not compressed) into a native-endian array."""
    dtype, shape, offset = _header(content, len(content), name)
    array = numpy.frombuffer(content, dtype=dtype, offset=offset)
    return array.reshape(shape).astype(dtype.newbyteorder('='), copy=False)


def read_raw(path):
    """The uncompressed content of an IDX file, gzipped or not."""
    with open(path, 'rb') as file_:
        content = file_.read()
    if content[:2] == GZIP_MAGIC:
        try:
            content = gzip.decompress(content)
        except (OSError, EOFError, zlib.error) as error:
            raise IDXError('{}: corrupt or truncated gzip file ({})'
                           .format(path, error)) from error
    return content


def read_idx(path, mmap=False):
    """Read an IDX file, gzipped or not.

    Parameters
    ----------
    path : str
        The file.
    mmap : bool, optional
        Map an uncompressed file into memory instead of reading it (the
        array is then read-only); gzipped files are always read.

    """
    if mmap:
        with open(path, 'rb') as file_:
            head = file_.read(4 + 4 * 255)
        if head[:2] != GZIP_MAGIC:
            # Validate against the real size, without reading the data.
            dtype, shape, offset = _header(head, os.path.getsize(path), path)
            return numpy.memmap(path, dtype=dtype, mode='r', offset=offset,
                                shape=shape)
    return parse_idx(read_raw(path), path)


def write_idx(path, array, compress=None):
    """Write an array as an IDX file.

    The file is first written next to its destination under a temporary
    name, then renamed, so that an interrupted write leaves no partial
    file.

    Parameters
    ----------
    path : str
        The destination.
    array : numpy.ndarray
        The data.
    compress : bool, optional
        Gzip the file; by default when `path` ends with ``.gz``.

    """
    content = idx_bytes(array)
    if compress is None:
        compress = path.endswith('.gz')
    if compress:
        content = gzip.compress(content, compresslevel=6, mtime=0)
    atomic_write(path, content)


def atomic_write(path, content):
    """Write `content` to `path` through a temporary file in the same
    directory and ``os.replace``."""
    temporary = '{}.part{}'.format(path, os.getpid())
    try:
        with open(temporary, 'wb') as file_:
            file_.write(content)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
