"""Numba kernels behind the 2-d convolution Ops (private).

All three kernels process the batch in chunks of images. Each chunk is
unfolded into column matrices (``im2col``: one row per (channel, filter
row, filter column), one column per output pixel) and BLAS products do the
arithmetic. How the products are cut depends on how many threads NumPy's
BLAS runs (:func:`blas_threads`, read once per process):

- one thread: the forward pass and the gradient with respect to the images
  keep one column matrix per image, ``(chunk, rows, pixels)``, and make one
  product per image (a single ``numpy.matmul`` over the stack), whose
  result is already in the output's ``(filters, pixels)`` layout, or is
  read straight from the output gradient's: no transposing copy. Chunks of
  ``PER_IMAGE_BUDGET_BYTES`` keep the columns in the core's cache between
  their unfolding and their product;
- more threads: one product per chunk of ``CHUNK_BUDGET_BYTES``, with the
  long axis (images * pixels) as the rows of the result, which OpenBLAS
  splits between its threads; per-image products are too small to gain
  from a second thread and each pays the threads' synchronisation.

The gradient with respect to the filters sums over images and pixels: one
product per chunk either way, over a column matrix whose columns run
across the chunk's images, ``(rows, chunk * pixels)``.

The unfolding and folding loops are Numba functions; the products are made
by ``numpy`` in Python, between them: ``np.dot`` inside Numba calls SciPy's
copy of OpenBLAS, a second BLAS with a thread pool of its own, whose
threads and NumPy's then compete for the same cores. The same functions
serve the Ops' ``perform`` (Python and C linkers) and the Numba linker, so
every compile mode runs the same code.

Geometry arguments are always ``(stride_r, stride_c, pad_r, pad_c, dil_r,
dil_c)``; the operation computed is a cross-correlation.
"""
import functools
import os

import numba
import numpy as np

try:
    import threadpoolctl
except ImportError:  # an optional dependency: the environment is read then
    threadpoolctl = None

#: Target size in bytes of one chunk's column matrices when the products
#: are made image by image (BLAS on one thread).
PER_IMAGE_BUDGET_BYTES = 2 ** 20
#: The same when each chunk is one product (BLAS on several threads): few
#: large products, as each one synchronises the BLAS threads.
CHUNK_BUDGET_BYTES = 2 ** 24

_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")


@functools.cache
def blas_threads():
    """The number of threads of NumPy's BLAS, read once: from
    ``threadpoolctl`` when it is installed, else from the environment
    variables OpenBLAS reads, else the number of CPUs."""
    if threadpoolctl is not None:
        counts = [info["num_threads"]
                  for info in threadpoolctl.threadpool_info()
                  if info["user_api"] == "blas"]
        if counts:
            return max(counts)
    for name in _THREAD_VARIABLES:
        value = os.environ.get(name, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return os.cpu_count() or 1


def _products_per_image(per_image):
    return blas_threads() == 1 if per_image is None else per_image


def _budget(budget, per_image):
    if budget is not None:
        return budget
    return PER_IMAGE_BUDGET_BYTES if per_image else CHUNK_BUDGET_BYTES


_jit = numba.njit(cache=True, nogil=True)


@_jit
def output_size(size, kernel, stride, pad, dilation):
    """Output length of one axis; may be <= 0 when the kernel does not fit."""
    return (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1


@_jit
def _valid_range(offset, stride, size, out_size):
    """Output indices ``o`` with ``0 <= o * stride + offset < size``."""
    if offset >= 0:
        lo = 0
    else:
        lo = (-offset + stride - 1) // stride
    last = size - 1 - offset
    if last < 0:
        hi = 0
    else:
        hi = min(out_size, last // stride + 1)
    if hi < lo:
        hi = lo
    return lo, hi


def _chunk_size(rows, out_pixels, itemsize, batch, budget):
    per_image = max(1, rows * out_pixels * itemsize)
    return max(1, min(batch, budget // per_image))


@_jit
def _fill_zero(flat, start, count):
    ustart = np.uint64(start)
    for o in range(np.uint64(count)):
        flat[ustart + o] = 0


@_jit
def im2col(x, n0, nb, col, image_step, row_step, kr, kc, sr, sc, pr, pc,
           dr, dc, orows, ocols):
    """Unfold images ``x[n0:n0 + nb]`` (C-contiguous) into the flat buffer
    ``col`` (zeros where the window hangs over the padding).

    Image ``b``'s column row ``r`` starts at ``b * image_step + r *
    row_step`` in ``col``; its pixels are contiguous. Flat arrays and
    unsigned indices matter here: with signed indices Numba checks every
    access for negative wrap-around, which made this loop about seven times
    slower.
    """
    channels, rows, cols = x.shape[1], x.shape[2], x.shape[3]
    xf = x.reshape(x.size)
    cf = col.reshape(col.size)
    usc = np.uint64(sc)
    for b in range(nb):
        for r in range(channels * kr * kc):
            ch = r // (kr * kc)
            i = (r // kc) % kr
            j = r % kc
            off_r = i * dr - pr
            off_c = j * dc - pc
            lo, hi = _valid_range(off_c, sc, cols, ocols)
            plane = ((n0 + b) * channels + ch) * rows * cols
            for y in range(orows):
                dst = b * image_step + r * row_step + y * ocols
                iy = y * sr + off_r
                if iy < 0 or iy >= rows:
                    _fill_zero(cf, dst, ocols)
                    continue
                _fill_zero(cf, dst, lo)
                _fill_zero(cf, dst + hi, ocols - hi)
                usrc = np.uint64(plane + iy * cols + lo * sc + off_c)
                udst = np.uint64(dst + lo)
                if sc == 1:
                    for o in range(np.uint64(hi - lo)):
                        cf[udst + o] = xf[usrc + o]
                else:
                    for o in range(np.uint64(hi - lo)):
                        cf[udst + o] = xf[usrc + o * usc]


@_jit
def col2im(col, dx, n0, nb, image_step, row_step, kr, kc, sr, sc, pr, pc,
           dr, dc, orows, ocols):
    """Add the columns ``col`` (laid out as :func:`im2col` writes them)
    back into images ``dx[n0:n0 + nb]`` (C-contiguous)."""
    channels, rows, cols = dx.shape[1], dx.shape[2], dx.shape[3]
    xf = dx.reshape(dx.size)
    cf = col.reshape(col.size)
    usc = np.uint64(sc)
    for b in range(nb):
        for ch in range(channels):
            plane = ((n0 + b) * channels + ch) * rows * cols
            for i in range(kr):
                off_r = i * dr - pr
                for j in range(kc):
                    off_c = j * dc - pc
                    lo, hi = _valid_range(off_c, sc, cols, ocols)
                    r = (ch * kr + i) * kc + j
                    for y in range(orows):
                        iy = y * sr + off_r
                        if iy < 0 or iy >= rows:
                            continue
                        usrc = np.uint64(b * image_step + r * row_step
                                         + y * ocols + lo)
                        udst = np.uint64(plane + iy * cols + lo * sc + off_c)
                        if sc == 1:
                            for o in range(np.uint64(hi - lo)):
                                xf[udst + o] += cf[usrc + o]
                        else:
                            for o in range(np.uint64(hi - lo)):
                                xf[udst + o * usc] += cf[usrc + o]


@_jit
def _scatter_chunk(res, out3, n0, nb):
    """Copy ``res`` (nb * P, F) into ``out3[n0:n0 + nb]`` (., F, P)."""
    nf, opix = out3.shape[1], out3.shape[2]
    rf = res.reshape(res.size)
    of = out3.reshape(out3.size)
    unf = np.uint64(nf)
    for b in range(nb):
        for f in range(nf):
            udst = np.uint64(((n0 + b) * nf + f) * opix)
            usrc = np.uint64(b * opix * nf + f)
            for p in range(np.uint64(opix)):
                of[udst + p] = rf[usrc + p * unf]


@_jit
def _gather_chunk(g, n0, nb, buf):
    """Copy ``g[n0:n0 + nb]`` (nb, F, P) into ``buf`` as (F, nb * P)."""
    nf, opix = g.shape[1], g.shape[2]
    gf = g.reshape(g.size)
    bf = buf.reshape(buf.size)
    upix = np.uint64(opix)
    for b in range(nb):
        for f in range(nf):
            usrc = np.uint64(((n0 + b) * nf + f) * opix)
            udst = np.uint64(f * nb * opix + b * opix)
            for o in range(upix):
                bf[udst + o] = gf[usrc + o]


def conv2d_forward(x, w, sr, sc, pr, pc, dr, dc, budget=None, per_image=None):
    """Cross-correlate images (N, C, H, W) with filters (F, C, KH, KW).

    ``per_image``: one product per image (True) or per chunk (False); None
    chooses by :func:`blas_threads`. ``budget``: bytes of columns per chunk
    (None: the default of that choice).
    """
    x = np.ascontiguousarray(x)
    w = np.ascontiguousarray(w)
    batch, channels, rows, cols = x.shape
    nf, kr, kc = w.shape[0], w.shape[2], w.shape[3]
    if w.shape[1] != channels:
        raise ValueError("conv2d: filters and input differ in channels")
    orows = max(0, output_size(rows, kr, sr, pr, dr))
    ocols = max(0, output_size(cols, kc, sc, pc, dc))
    opix = orows * ocols
    out = np.empty((batch, nf, orows, ocols), dtype=x.dtype)
    nrows = channels * kr * kc
    if batch == 0 or opix == 0 or nf == 0:
        return out
    if nrows == 0:
        out[...] = 0
        return out
    per_image = _products_per_image(per_image)
    wm = w.reshape((nf, nrows))
    out3 = out.reshape((batch, nf, opix))
    chunk = _chunk_size(nrows, opix, x.itemsize, batch,
                        _budget(budget, per_image))
    buf = np.empty(chunk * nrows * opix, dtype=x.dtype)
    rbuf = None if per_image else np.empty(chunk * opix * nf, dtype=x.dtype)
    for n0 in range(0, batch, chunk):
        nb = min(chunk, batch - n0)
        if per_image:
            col = buf[:nb * nrows * opix].reshape((nb, nrows, opix))
            im2col(x, n0, nb, col, nrows * opix, opix, kr, kc, sr, sc, pr,
                   pc, dr, dc, orows, ocols)
            np.matmul(wm, col, out=out3[n0:n0 + nb])
            continue
        col = buf[:nb * nrows * opix].reshape((nrows, nb * opix))
        im2col(x, n0, nb, col, opix, nb * opix, kr, kc, sr, sc, pr, pc, dr,
               dc, orows, ocols)
        res = np.dot(col.T, wm.T,
                     out=rbuf[:nb * opix * nf].reshape((nb * opix, nf)))
        _scatter_chunk(res, out3, n0, nb)
    return out


def conv2d_grad_weights(x, g, kr, kc, sr, sc, pr, pc, dr, dc, budget=None,
                        per_image=None):
    """Gradient of the cross-correlation with respect to the filters
    (``budget`` and ``per_image`` as in :func:`conv2d_forward`; the
    products are per chunk either way)."""
    x = np.ascontiguousarray(x)
    g = np.ascontiguousarray(g)
    batch, channels = x.shape[0], x.shape[1]
    nf, orows, ocols = g.shape[1], g.shape[2], g.shape[3]
    if (g.shape[0] != batch
            or orows != max(0, output_size(x.shape[2], kr, sr, pr, dr))
            or ocols != max(0, output_size(x.shape[3], kc, sc, pc, dc))):
        raise ValueError(
            "conv2d weight gradient: output gradient shape does not match "
            "the input and filter size")
    opix = orows * ocols
    nrows = channels * kr * kc
    if batch == 0 or opix == 0 or nf == 0 or nrows == 0:
        return np.zeros((nf, channels, kr, kc), dtype=x.dtype)
    g3 = g.reshape((batch, nf, opix))
    chunk = _chunk_size(nrows, opix, x.itemsize, batch,
                        _budget(budget, _products_per_image(per_image)))
    buf = np.empty(nrows * chunk * opix, dtype=x.dtype)
    gbuf = np.empty(nf * chunk * opix, dtype=x.dtype)
    # Accumulated transposed: col @ gcol.T measured faster in OpenBLAS than
    # gcol @ col.T (the long summed axis is the columns of both).
    dwt = None
    for n0 in range(0, batch, chunk):
        nb = min(chunk, batch - n0)
        col = buf[:nrows * nb * opix].reshape((nrows, nb * opix))
        gcol = gbuf[:nf * nb * opix].reshape((nf, nb * opix))
        im2col(x, n0, nb, col, opix, nb * opix, kr, kc, sr, sc, pr, pc,
               dr, dc, orows, ocols)
        _gather_chunk(g3, n0, nb, gcol)
        if dwt is None:
            dwt = np.dot(col, gcol.T)
        else:
            dwt += np.dot(col, gcol.T)
    return np.ascontiguousarray(dwt.T).reshape((nf, channels, kr, kc))


def conv2d_grad_inputs(w, g, rows, cols, sr, sc, pr, pc, dr, dc, budget=None,
                       per_image=None):
    """Gradient of the cross-correlation with respect to the images
    (``budget`` and ``per_image`` as in :func:`conv2d_forward`)."""
    w = np.ascontiguousarray(w)
    g = np.ascontiguousarray(g)
    nf, channels, kr, kc = w.shape
    batch, orows, ocols = g.shape[0], g.shape[2], g.shape[3]
    if (g.shape[1] != nf
            or orows != max(0, output_size(rows, kr, sr, pr, dr))
            or ocols != max(0, output_size(cols, kc, sc, pc, dc))):
        raise ValueError(
            "conv2d input gradient: output gradient shape does not match "
            "the image size and filters")
    opix = orows * ocols
    nrows = channels * kr * kc
    dx = np.zeros((batch, channels, rows, cols), dtype=w.dtype)
    if batch == 0 or opix == 0 or nf == 0 or nrows == 0:
        return dx
    wt = np.ascontiguousarray(w.reshape((nf, nrows)).T)
    g3 = g.reshape((batch, nf, opix))
    per_image = _products_per_image(per_image)
    chunk = _chunk_size(nrows, opix, w.itemsize, batch,
                        _budget(budget, per_image))
    cbuf = np.empty(chunk * nrows * opix, dtype=w.dtype)
    gbuf = None if per_image else np.empty(nf * chunk * opix, dtype=w.dtype)
    for n0 in range(0, batch, chunk):
        nb = min(chunk, batch - n0)
        if per_image:
            col = cbuf[:nb * nrows * opix].reshape((nb, nrows, opix))
            np.matmul(wt, g3[n0:n0 + nb], out=col)
            col2im(col, dx, n0, nb, nrows * opix, opix, kr, kc, sr, sc, pr,
                   pc, dr, dc, orows, ocols)
            continue
        gcol = gbuf[:nf * nb * opix].reshape((nf, nb * opix))
        _gather_chunk(g3, n0, nb, gcol)
        col = np.dot(wt, gcol, out=cbuf[:nb * nrows * opix].reshape(
            (nrows, nb * opix)))
        col2im(col, dx, n0, nb, opix, nb * opix, kr, kc, sr, sc, pr, pc, dr,
               dc, orows, ocols)
    return dx
