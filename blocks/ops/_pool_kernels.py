"""Numba kernels behind the 2-d pooling Ops (private).

Kernels work on C-contiguous stacks of images ``(M, rows, cols)``; the Ops
fold any leading axes into ``M``. Window ``(yo, xo)`` covers input rows
``[yo * stride_r - pad_r, yo * stride_r - pad_r + window_r)`` (and likewise
for columns), cut to the padded image for the ``average_inc_pad`` divisor
and to the image itself for everything else, as in Theano.

Each window's maximum is its first maximum in row-major order: a later
element replaces it only if it is greater (so a NaN wins only as the first
element). The comparisons are written as selects, which Numba compiles
without a data-dependent branch, and which is faster on random data.

Indices of the gradient kernels are unsigned (``np.uint64``) in the inner
loops: with signed ones Numba checks each access for negative wrap-around,
which is several times slower.
"""
import numba
import numpy as np

MAX, AVERAGE_INC_PAD, AVERAGE_EXC_PAD = 0, 1, 2

_jit = numba.njit(cache=True, nogil=True)


@_jit
def output_size(size, window, stride, pad, ignore_border):
    """Number of windows along one axis (Theano's rule)."""
    if ignore_border:
        return max(0, (size + 2 * pad - window) // stride + 1)
    if size <= 0:
        return 0
    if stride >= window:
        return (size - 1) // stride + 1
    return max(0, (size - 1 - window + stride) // stride) + 1


@_jit
def _window(o, stride, pad, window, size):
    """(start, end) of a window in the image and the padded extent."""
    start = o * stride - pad
    end = min(start + window, size + pad)
    return max(start, 0), min(end, size), end - start


@_jit
def _argmax(xf, plane, cols, r0, r1, c0, c1):
    best = np.uint64(plane + r0 * cols + c0)
    value = xf[best]
    for r in range(r0, r1):
        row = np.uint64(plane + r * cols)
        for c in range(np.uint64(c0), np.uint64(c1)):
            v = xf[row + c]
            greater = v > value
            best = row + c if greater else best
            value = v if greater else value
    return best


@_jit
def _window_mean(x, m, r0, r1, c0, c1, count):
    total = 0.0
    for r in range(r0, r1):
        for c in range(c0, c1):
            total += x[m, r, c]
    return total / count


@_jit
def pool_forward(x, out, wr, wc, sr, sc, pr, pc, mode):
    """Pool ``x`` (M, rows, cols) into ``out`` (M, out_rows, out_cols)."""
    m_count, rows, cols = x.shape
    orows, ocols = out.shape[1], out.shape[2]
    for m in range(m_count):
        for yo in range(orows):
            r0, r1, rspan = _window(yo, sr, pr, wr, rows)
            for xo in range(ocols):
                c0, c1, cspan = _window(xo, sc, pc, wc, cols)
                if mode == MAX:
                    value = x[m, r0, c0]
                    for r in range(r0, r1):
                        for c in range(c0, c1):
                            v = x[m, r, c]
                            value = v if v > value else value
                    out[m, yo, xo] = value
                elif mode == AVERAGE_INC_PAD:
                    out[m, yo, xo] = _window_mean(x, m, r0, r1, c0, c1,
                                                  rspan * cspan)
                else:
                    out[m, yo, xo] = _window_mean(x, m, r0, r1, c0, c1,
                                                  (r1 - r0) * (c1 - c0))


@_jit
def pool_backward(x, gz, gx, wr, wc, sr, sc, pr, pc, mode):
    """Add the gradient of pooling ``x`` given ``gz`` into ``gx`` (zeros).

    Max pooling sends each window's gradient to its first maximum.
    """
    m_count, rows, cols = x.shape
    orows, ocols = gz.shape[1], gz.shape[2]
    xf = x.reshape(x.size)
    gzf = gz.reshape(gz.size)
    gxf = gx.reshape(gx.size)
    for m in range(m_count):
        plane = m * rows * cols
        for yo in range(orows):
            r0, r1, rspan = _window(yo, sr, pr, wr, rows)
            for xo in range(ocols):
                c0, c1, cspan = _window(xo, sc, pc, wc, cols)
                g = gzf[np.uint64((m * orows + yo) * ocols + xo)]
                if mode == MAX:
                    gxf[_argmax(xf, plane, cols, r0, r1, c0, c1)] += g
                    continue
                if mode == AVERAGE_INC_PAD:
                    g = g / (rspan * cspan)
                else:
                    g = g / ((r1 - r0) * (c1 - c0))
                for r in range(r0, r1):
                    row = np.uint64(plane + r * cols)
                    for c in range(np.uint64(c0), np.uint64(c1)):
                        gxf[row + c] += g


@_jit
def max_pool_gather(x, ggx, out, wr, wc, sr, sc, pr, pc):
    """``out[window] = ggx[argmax of x in window]``: the gradient of max
    pooling's gradient with respect to the output gradient."""
    m_count, rows, cols = x.shape
    orows, ocols = out.shape[1], out.shape[2]
    xf = x.reshape(x.size)
    gf = ggx.reshape(ggx.size)
    of = out.reshape(out.size)
    for m in range(m_count):
        plane = m * rows * cols
        for yo in range(orows):
            r0, r1, _ = _window(yo, sr, pr, wr, rows)
            for xo in range(ocols):
                c0, c1, _ = _window(xo, sc, pc, wc, cols)
                dst = np.uint64((m * orows + yo) * ocols + xo)
                of[dst] = gf[_argmax(xf, plane, cols, r0, r1, c0, c1)]
