"""Numba kernels behind the 2-d convolution Ops (private).

All three kernels use the same scheme: the batch is processed in chunks of a
few images; each chunk is unfolded into a column matrix (``im2col``, shape
``(channels * kernel_rows * kernel_cols, chunk * out_rows * out_cols)``) small
enough to stay in cache, and a single BLAS matrix product per chunk does the
arithmetic. The same compiled functions serve the Ops' ``perform`` (Python and
C linkers) and the Numba linker, so every compile mode runs the same code.

Geometry arguments are always ``(stride_r, stride_c, pad_r, pad_c, dil_r,
dil_c)``; the operation computed is a cross-correlation.
"""
import numba
import numpy as np

#: Target size in bytes of one chunk's column matrix (fits in L2/L3 cache).
COLUMN_BUDGET_BYTES = 2 ** 21

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


@_jit
def _chunk_size(rows, out_pixels, itemsize, batch):
    per_image = max(1, rows * out_pixels * itemsize)
    return max(1, min(batch, COLUMN_BUDGET_BYTES // per_image))


@_jit
def im2col(x, n0, nb, col, kr, kc, sr, sc, pr, pc, dr, dc, orows, ocols):
    """Unfold images ``x[n0:n0 + nb]`` into ``col`` (zeros for padding)."""
    channels, rows, cols = x.shape[1], x.shape[2], x.shape[3]
    opix = orows * ocols
    for ch in range(channels):
        for i in range(kr):
            off_r = i * dr - pr
            for j in range(kc):
                off_c = j * dc - pc
                lo, hi = _valid_range(off_c, sc, cols, ocols)
                r = (ch * kr + i) * kc + j
                for b in range(nb):
                    img = x[n0 + b, ch]
                    for y in range(orows):
                        start = b * opix + y * ocols
                        iy = y * sr + off_r
                        if iy < 0 or iy >= rows:
                            for o in range(ocols):
                                col[r, start + o] = 0
                            continue
                        for o in range(lo):
                            col[r, start + o] = 0
                        if sc == 1:
                            for o in range(lo, hi):
                                col[r, start + o] = img[iy, o + off_c]
                        else:
                            for o in range(lo, hi):
                                col[r, start + o] = img[iy, o * sc + off_c]
                        for o in range(hi, ocols):
                            col[r, start + o] = 0


@_jit
def col2im(col, dx, n0, nb, kr, kc, sr, sc, pr, pc, dr, dc, orows, ocols):
    """Add the columns ``col`` back into images ``dx[n0:n0 + nb]``."""
    channels, rows, cols = dx.shape[1], dx.shape[2], dx.shape[3]
    opix = orows * ocols
    for ch in range(channels):
        for i in range(kr):
            off_r = i * dr - pr
            for j in range(kc):
                off_c = j * dc - pc
                lo, hi = _valid_range(off_c, sc, cols, ocols)
                r = (ch * kr + i) * kc + j
                for b in range(nb):
                    img = dx[n0 + b, ch]
                    for y in range(orows):
                        iy = y * sr + off_r
                        if iy < 0 or iy >= rows:
                            continue
                        start = b * opix + y * ocols
                        if sc == 1:
                            for o in range(lo, hi):
                                img[iy, o + off_c] += col[r, start + o]
                        else:
                            for o in range(lo, hi):
                                img[iy, o * sc + off_c] += col[r, start + o]


@_jit
def _gather_chunk(g, n0, nb, buf):
    """Copy ``g[n0:n0 + nb]`` of shape (nb, F, P) into ``buf`` as (F, nb * P)."""
    nf, opix = g.shape[1], g.shape[2]
    for b in range(nb):
        for f in range(nf):
            buf[f, b * opix:(b + 1) * opix] = g[n0 + b, f]


@_jit
def conv2d_forward(x, w, sr, sc, pr, pc, dr, dc):
    """Cross-correlate images (N, C, H, W) with filters (F, C, KH, KW)."""
    x = np.ascontiguousarray(x)
    w = np.ascontiguousarray(w)
    batch, channels, rows, cols = x.shape
    nf, kr, kc = w.shape[0], w.shape[2], w.shape[3]
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
    wm = w.reshape((nf, nrows))
    out3 = out.reshape((batch, nf, opix))
    chunk = _chunk_size(nrows, opix, x.itemsize, batch)
    buf = np.empty(nrows * chunk * opix, dtype=x.dtype)
    for n0 in range(0, batch, chunk):
        nb = min(chunk, batch - n0)
        col = buf[:nrows * nb * opix].reshape((nrows, nb * opix))
        im2col(x, n0, nb, col, kr, kc, sr, sc, pr, pc, dr, dc, orows, ocols)
        res = np.dot(wm, col)
        for b in range(nb):
            out3[n0 + b] = res[:, b * opix:(b + 1) * opix]
    return out


@_jit
def conv2d_grad_weights(x, g, kr, kc, sr, sc, pr, pc, dr, dc):
    """Gradient of the cross-correlation with respect to the filters."""
    x = np.ascontiguousarray(x)
    g = np.ascontiguousarray(g)
    batch, channels = x.shape[0], x.shape[1]
    nf, orows, ocols = g.shape[1], g.shape[2], g.shape[3]
    opix = orows * ocols
    nrows = channels * kr * kc
    dw = np.zeros((nf, nrows), dtype=x.dtype)
    if batch == 0 or opix == 0 or nf == 0 or nrows == 0:
        return dw.reshape((nf, channels, kr, kc))
    g3 = g.reshape((batch, nf, opix))
    chunk = _chunk_size(nrows, opix, x.itemsize, batch)
    buf = np.empty(nrows * chunk * opix, dtype=x.dtype)
    gbuf = np.empty(nf * chunk * opix, dtype=x.dtype)
    for n0 in range(0, batch, chunk):
        nb = min(chunk, batch - n0)
        col = buf[:nrows * nb * opix].reshape((nrows, nb * opix))
        gcol = gbuf[:nf * nb * opix].reshape((nf, nb * opix))
        im2col(x, n0, nb, col, kr, kc, sr, sc, pr, pc, dr, dc, orows, ocols)
        _gather_chunk(g3, n0, nb, gcol)
        dw += np.dot(gcol, col.T)
    return dw.reshape((nf, channels, kr, kc))


@_jit
def conv2d_grad_inputs(w, g, rows, cols, sr, sc, pr, pc, dr, dc):
    """Gradient of the cross-correlation with respect to the images."""
    w = np.ascontiguousarray(w)
    g = np.ascontiguousarray(g)
    nf, channels, kr, kc = w.shape
    batch, orows, ocols = g.shape[0], g.shape[2], g.shape[3]
    opix = orows * ocols
    nrows = channels * kr * kc
    dx = np.zeros((batch, channels, rows, cols), dtype=w.dtype)
    if batch == 0 or opix == 0 or nf == 0 or nrows == 0:
        return dx
    wt = w.reshape((nf, nrows)).T
    g3 = g.reshape((batch, nf, opix))
    chunk = _chunk_size(nrows, opix, w.itemsize, batch)
    gbuf = np.empty(nf * chunk * opix, dtype=w.dtype)
    for n0 in range(0, batch, chunk):
        nb = min(chunk, batch - n0)
        gcol = gbuf[:nf * nb * opix].reshape((nf, nb * opix))
        _gather_chunk(g3, n0, nb, gcol)
        col = np.dot(wt, gcol)
        col2im(col, dx, n0, nb, kr, kc, sr, sc, pr, pc, dr, dc, orows, ocols)
    return dx
