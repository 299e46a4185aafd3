// C kernels of the operations of blocks/ops/batch_norm.py (the C linker's
// support code; the Python module notes give the formulas).
//
// The input is viewed as a C-contiguous (A, F, B) array: A the product of
// the leading normalization axes, F of the feature axes (one block in the
// middle), B of the trailing normalization axes. An MLP's (batch,
// features) is (batch, features, 1); images' (batch, channels, rows,
// columns) normalized per channel are (batch, channels, rows * columns).
// Sums accumulate in double; the per-element arithmetic is done in the
// array's own type, in the order of the Python perform.
#include <cmath>
#include <vector>

// A per-feature array (a statistic, a scale or a gradient of one): F
// values, or one value broadcast to every feature (*step = 0).
static int bn_per_feature(PyArrayObject* value, npy_intp features,
                          const char* role, npy_intp* step)
{
    npy_intp size = PyArray_SIZE(value);
    if (size != features && size != 1) {
        PyErr_Format(PyExc_ValueError,
                     "batch normalization: the %s has %ld elements, "
                     "expected one per feature (%ld)", role, (long)size,
                     (long)features);
        return -1;
    }
    *step = (size == 1 && features != 1) ? 0 : 1;
    return 0;
}

// `*out` made a C-contiguous array of `dims` and `typenum`, reusing the
// previous call's array when it fits.
static int bn_output(PyArrayObject** out, int nd, const npy_intp* dims,
                     int typenum)
{
    if (*out && PyArray_NDIM(*out) == nd && PyArray_TYPE(*out) == typenum
            && PyArray_IS_C_CONTIGUOUS(*out)) {
        bool same = true;
        for (int i = 0; i < nd; ++i)
            same = same && PyArray_DIMS(*out)[i] == dims[i];
        if (same)
            return 0;
    }
    Py_XDECREF(*out);
    *out = (PyArrayObject*)PyArray_EMPTY(nd, (npy_intp*)dims, typenum, 0);
    return *out ? 0 : -1;
}

// The contiguous arrays a call reads, released together.
struct BnInputs {
    std::vector<PyArrayObject*> arrays;
    ~BnInputs() {
        for (size_t i = 0; i < arrays.size(); ++i)
            Py_XDECREF(arrays[i]);
    }
    // `value` itself if C-contiguous, else a contiguous copy; NULL stays
    // NULL (an absent input).
    PyArrayObject* add(PyArrayObject* value) {
        if (!value)
            return NULL;
        PyArrayObject* contiguous = PyArray_GETCONTIGUOUS(value);
        if (contiguous)
            arrays.push_back(contiguous);
        return contiguous;
    }
};

// The (A, F, B) sizes of `x`, the feature axes being [first, last).
static void bn_layout(PyArrayObject* x, int first, int last, npy_intp* A,
                      npy_intp* F, npy_intp* B)
{
    *A = *F = *B = 1;
    for (int i = 0; i < PyArray_NDIM(x); ++i) {
        npy_intp size = PyArray_DIMS(x)[i];
        if (i < first) *A *= size;
        else if (i < last) *F *= size;
        else *B *= size;
    }
}

// The shape of the per-feature statistics (size 1 on the normalization
// axes), without the batch axis when `nd` is one less than the input's.
static void bn_statistic_dims(PyArrayObject* x, int first, int last, int nd,
                              npy_intp* dims)
{
    int dropped = PyArray_NDIM(x) - nd;
    for (int i = dropped; i < PyArray_NDIM(x); ++i)
        dims[i - dropped] = (i < first || i >= last) ? 1
                                                     : PyArray_DIMS(x)[i];
}

// The innermost loops: along the features of one row (B = 1: an MLP's
// layout) or along one feature's run of B elements. They take
// restrict-qualified pointers and are kept out of line: inlined into the
// C linker's generated function, gcc left them scalar (4x slower).

template <typename T>
__attribute__((noinline)) static void bn_row_sums(
    const T* __restrict__ x, npy_intp F, double* __restrict__ sums)
{
    for (npy_intp f = 0; f < F; ++f)
        sums[f] += (double)x[f];
}

template <typename T>
__attribute__((noinline)) static void bn_row_square_sums(
    const T* __restrict__ x, const T* __restrict__ center, npy_intp F,
    double* __restrict__ sums)
{
    for (npy_intp f = 0; f < F; ++f) {
        double d = (double)x[f] - (double)center[f];
        sums[f] += d * d;
    }
}

// sums += g, x_hat_sums += g * (x - center) * inverse
template <typename T>
__attribute__((noinline)) static void bn_row_gradient_sums(
    const T* __restrict__ x, const T* __restrict__ g,
    const T* __restrict__ center, const T* __restrict__ inverse, npy_intp F,
    double* __restrict__ sums, double* __restrict__ x_hat_sums)
{
    for (npy_intp f = 0; f < F; ++f) {
        T x_hat = (x[f] - center[f]) * inverse[f];
        sums[f] += (double)g[f];
        x_hat_sums[f] += (double)g[f] * (double)x_hat;
    }
}

// out = (x - center) * factor + offset (+ gain * g when `g` is given)
template <typename T>
__attribute__((noinline)) static void bn_row_affine(
    const T* __restrict__ x, const T* __restrict__ center,
    const T* __restrict__ factor, const T* __restrict__ offset,
    const T* __restrict__ g, const T* __restrict__ gain, npy_intp F,
    T* __restrict__ out)
{
    if (g) {
        for (npy_intp f = 0; f < F; ++f)
            out[f] = (x[f] - center[f]) * factor[f] + offset[f]
                + gain[f] * g[f];
    } else {
        for (npy_intp f = 0; f < F; ++f)
            out[f] = (x[f] - center[f]) * factor[f] + offset[f];
    }
}

// The sum of x[b] - center (of its square with `square`) over a run.
template <typename T>
__attribute__((noinline)) static double bn_run_sum(
    const T* __restrict__ x, npy_intp B, double center, bool square)
{
    double s = 0.;
    for (npy_intp b = 0; b < B; ++b) {
        double d = (double)x[b] - center;
        s += square ? d * d : d;
    }
    return s;
}

// *sum += sum(g), *x_hat_sum += sum(g * (x - center) * inverse) over a run
template <typename T>
__attribute__((noinline)) static void bn_run_gradient_sums(
    const T* __restrict__ x, const T* __restrict__ g, npy_intp B, T center,
    T inverse, double* sum, double* x_hat_sum)
{
    double s = 0., t = 0.;
    for (npy_intp b = 0; b < B; ++b) {
        T x_hat = (x[b] - center) * inverse;
        s += (double)g[b];
        t += (double)g[b] * (double)x_hat;
    }
    *sum += s;
    *x_hat_sum += t;
}

// out = (x - center) * factor + offset (+ gain * g) over a run
template <typename T>
__attribute__((noinline)) static void bn_run_affine(
    const T* __restrict__ x, npy_intp B, T center, T factor, T offset,
    const T* __restrict__ g, T gain, T* __restrict__ out)
{
    if (g) {
        for (npy_intp b = 0; b < B; ++b)
            out[b] = (x[b] - center) * factor + offset + gain * g[b];
    } else {
        for (npy_intp b = 0; b < B; ++b)
            out[b] = (x[b] - center) * factor + offset;
    }
}

// sums[f] = the sum of the elements of feature f of x (of
// (x - center[f])^2 when `center` is given).
template <typename T>
static void bn_feature_sums(const T* x, npy_intp A, npy_intp F, npy_intp B,
                            const T* center, double* sums)
{
    for (npy_intp f = 0; f < F; ++f)
        sums[f] = 0.;
    for (npy_intp a = 0; a < A; ++a) {
        const T* block = x + a * F * B;
        if (B == 1 && center)
            bn_row_square_sums<T>(block, center, F, sums);
        else if (B == 1)
            bn_row_sums<T>(block, F, sums);
        else
            for (npy_intp f = 0; f < F; ++f)
                sums[f] += bn_run_sum<T>(block + f * B, B,
                                         center ? (double)center[f] : 0.,
                                         center != NULL);
    }
}

// out = (x - center[f]) * factor[f] + offset[f] (+ gain[f] * g when `g`
// is given), for every element of feature f.
template <typename T>
static void bn_affine(const T* x, npy_intp A, npy_intp F, npy_intp B,
                      const T* center, const T* factor, const T* offset,
                      const T* g, const T* gain, T* out)
{
    for (npy_intp a = 0; a < A; ++a) {
        npy_intp start = a * F * B;
        if (B == 1) {
            bn_row_affine<T>(x + start, center, factor, offset,
                             g ? g + start : NULL, gain, F, out + start);
            continue;
        }
        for (npy_intp f = 0; f < F; ++f) {
            npy_intp run = start + f * B;
            bn_run_affine<T>(x + run, B, center[f], factor[f], offset[f],
                             g ? g + run : NULL, g ? gain[f] : (T)0,
                             out + run);
        }
    }
}

// One feature value of a per-feature input (absent: `otherwise`).
template <typename T>
static T bn_at(PyArrayObject* value, npy_intp step, npy_intp f, T otherwise)
{
    return value ? ((const T*)PyArray_DATA(value))[f * step] : otherwise;
}

// BatchNormalizationTrain: y, mean and stdev of x (scale, shift: NULL
// when absent).
template <typename T>
static int bn_train(PyArrayObject* x_given, PyArrayObject* scale_given,
                    PyArrayObject* shift_given, int first, int last,
                    double epsilon, int typenum, PyArrayObject** y,
                    PyArrayObject** mean, PyArrayObject** stdev)
{
    BnInputs inputs;
    PyArrayObject* x = inputs.add(x_given);
    PyArrayObject* scale = inputs.add(scale_given);
    PyArrayObject* shift = inputs.add(shift_given);
    if (!x || (scale_given && !scale) || (shift_given && !shift))
        return -1;
    int nd = PyArray_NDIM(x);
    npy_intp A, F, B, scale_step = 0, shift_step = 0;
    bn_layout(x, first, last, &A, &F, &B);
    std::vector<npy_intp> dims(nd);
    bn_statistic_dims(x, first, last, nd, dims.data());
    if ((scale && bn_per_feature(scale, F, "scale", &scale_step))
            || (shift && bn_per_feature(shift, F, "shift", &shift_step))
            || bn_output(y, nd, PyArray_DIMS(x), typenum)
            || bn_output(mean, nd, dims.data(), typenum)
            || bn_output(stdev, nd, dims.data(), typenum))
        return -1;
    const T* data = (const T*)PyArray_DATA(x);
    T* mean_data = (T*)PyArray_DATA(*mean);
    T* stdev_data = (T*)PyArray_DATA(*stdev);
    double count = (double)A * (double)B;
    std::vector<double> sums(F);
    bn_feature_sums<T>(data, A, F, B, NULL, sums.data());
    for (npy_intp f = 0; f < F; ++f)
        mean_data[f] = (T)(sums[f] / count);
    bn_feature_sums<T>(data, A, F, B, mean_data, sums.data());
    std::vector<T> factor(F), offset(F);
    for (npy_intp f = 0; f < F; ++f) {
        stdev_data[f] = (T)std::sqrt(sums[f] / count + epsilon);
        factor[f] = bn_at<T>(scale, scale_step, f, (T)1) / stdev_data[f];
        offset[f] = bn_at<T>(shift, shift_step, f, (T)0);
    }
    bn_affine<T>(data, A, F, B, mean_data, factor.data(), offset.data(),
                 NULL, NULL, (T*)PyArray_DATA(*y));
    return 0;
}

// BatchNormalizationTrainGrad: g_x, g_scale and g_shift (absent inputs:
// NULL); `parameter_nd` is the ndim of g_scale and g_shift.
template <typename T>
static int bn_train_grad(PyArrayObject* x_given, PyArrayObject* scale_given,
                         PyArrayObject* mean_given,
                         PyArrayObject* stdev_given,
                         PyArrayObject* g_output_given,
                         PyArrayObject* g_mean_given,
                         PyArrayObject* g_stdev_given, int first, int last,
                         int parameter_nd, int typenum,
                         PyArrayObject** g_x, PyArrayObject** g_scale,
                         PyArrayObject** g_shift)
{
    BnInputs inputs;
    PyArrayObject* x = inputs.add(x_given);
    PyArrayObject* scale = inputs.add(scale_given);
    PyArrayObject* mean = inputs.add(mean_given);
    PyArrayObject* stdev = inputs.add(stdev_given);
    PyArrayObject* g_output = inputs.add(g_output_given);
    PyArrayObject* g_mean = inputs.add(g_mean_given);
    PyArrayObject* g_stdev = inputs.add(g_stdev_given);
    if (!x || !mean || !stdev || (scale_given && !scale)
            || (g_output_given && !g_output) || (g_mean_given && !g_mean)
            || (g_stdev_given && !g_stdev))
        return -1;
    int nd = PyArray_NDIM(x);
    npy_intp A, F, B, steps[5] = {0, 0, 0, 0, 0};
    bn_layout(x, first, last, &A, &F, &B);
    if (g_output && !PyArray_SAMESHAPE(g_output, x)) {
        PyErr_SetString(PyExc_ValueError,
                        "batch normalization: the output gradient's shape "
                        "differs from the input's");
        return -1;
    }
    std::vector<npy_intp> dims(parameter_nd);
    bn_statistic_dims(x, first, last, parameter_nd, dims.data());
    if ((scale && bn_per_feature(scale, F, "scale", &steps[0]))
            || bn_per_feature(mean, F, "mean", &steps[1])
            || bn_per_feature(stdev, F, "stdev", &steps[2])
            || (g_mean && bn_per_feature(g_mean, F, "mean gradient",
                                         &steps[3]))
            || (g_stdev && bn_per_feature(g_stdev, F, "stdev gradient",
                                          &steps[4]))
            || bn_output(g_x, nd, PyArray_DIMS(x), typenum)
            || bn_output(g_scale, parameter_nd, dims.data(), typenum)
            || bn_output(g_shift, parameter_nd, dims.data(), typenum))
        return -1;
    const T* data = (const T*)PyArray_DATA(x);
    const T* g_data = g_output ? (const T*)PyArray_DATA(g_output) : NULL;
    T* g_scale_data = (T*)PyArray_DATA(*g_scale);
    T* g_shift_data = (T*)PyArray_DATA(*g_shift);
    double count = (double)A * (double)B;
    std::vector<T> center(F), inverse(F);
    for (npy_intp f = 0; f < F; ++f) {
        center[f] = bn_at<T>(mean, steps[1], f, (T)0);
        inverse[f] = (T)1 / bn_at<T>(stdev, steps[2], f, (T)1);
    }
    // g_shift = sum(g), g_scale = sum(g * x_hat), x_hat = (x - mean) / stdev
    std::vector<double> g_sums(F, 0.), g_x_hat_sums(F, 0.);
    if (g_data) {
        for (npy_intp a = 0; a < A; ++a) {
            npy_intp start = a * F * B;
            const T* block = data + start;
            const T* g_block = g_data + start;
            if (B == 1) {
                bn_row_gradient_sums<T>(block, g_block, center.data(),
                                        inverse.data(), F, g_sums.data(),
                                        g_x_hat_sums.data());
                continue;
            }
            for (npy_intp f = 0; f < F; ++f)
                bn_run_gradient_sums<T>(block + f * B, g_block + f * B, B,
                                        center[f], inverse[f], &g_sums[f],
                                        &g_x_hat_sums[f]);
        }
    }
    // g_x = factor * (g - g_shift / m - x_hat * g_scale / m)
    //       + g_mean / m + x_hat * g_stdev / m,  factor = scale / stdev
    std::vector<T> factor(F), slope(F), offset(F);
    for (npy_intp f = 0; f < F; ++f) {
        g_shift_data[f] = (T)g_sums[f];
        g_scale_data[f] = (T)g_x_hat_sums[f];
        double gain = (double)bn_at<T>(scale, steps[0], f, (T)1)
            * (double)inverse[f];
        double x_hat_gain = (double)bn_at<T>(g_stdev, steps[4], f, (T)0)
            - gain * g_x_hat_sums[f];
        factor[f] = (T)gain;
        slope[f] = (T)(x_hat_gain / count * (double)inverse[f]);
        offset[f] = (T)(((double)bn_at<T>(g_mean, steps[3], f, (T)0)
                         - gain * g_sums[f]) / count);
    }
    bn_affine<T>(data, A, F, B, center.data(), slope.data(), offset.data(),
                 g_data, factor.data(), (T*)PyArray_DATA(*g_x));
    return 0;
}
