/* The Gaussian masses of attribution's p_side, in C: ceasewatch.analysis._masscore.
 *
 * `_AreaIndex.masses` subtracts, from each area's indicator at each point, the sum over
 * the (point, edge) pairs near it of the whitened Owen's T difference T(h, t_b/h) -
 * T(h, t_a/h) (`_AreaIndex._terms`, `_owens_t_signed`, `_owens_t`, `_q` and `_ieee.exp`).
 * This module does the same, pair by pair (the Owen's T of a block of pairs at a time),
 * with the same IEEE 754 operations in the same order, so it gives the same bits (the
 * tests compare the two on hostile inputs):
 *
 *   set_constants(two_j32, two_k32, nodes_x, nodes_w, erfc, exp_series, scalars) -> None
 *       the tables and constants of the numpy code, taken from it once (some come from
 *       libm or LAPACK at import: copying them, not retyping them, keeps them equal);
 *   masses(qx, qy, l11, l21, l22, ax, ay, bx, by, area, i, k, m, chunk, mass, degenerate)
 *       subtracts from ``mass`` (n * m, in place) the terms of the pairs (i, k), summed per
 *       (point, area) for each ``chunk`` pairs (np.bincount's order: row order, from 0.0,
 *       then one subtraction per chunk), and sets ``degenerate`` of the points on a
 *       boundary;
 *   exp(x, out), q(x, out), owens_t_signed(h, a, out)
 *       the elementwise functions, for the tests.
 *
 * Where numpy decides per call (`_ieee.exp` scales by one table product when every result
 * of the call is normal, else in two steps or by ldexp; `_owens_t` calls `exp_normal` when
 * every argument is in [EXP_NORMAL_MIN, 0]) the choices give the same bits for each element
 * (that is why numpy may make them per call), so here each element takes the one its own
 * value allows (with the choice made per call in numpy, a block's elements would each get
 * the same bits in either path). No NaN passes the `use` filter of the whitened
 * geometry: NaN only decides comparisons there, as it does in numpy.
 *
 * The buffers are plain float64 / intp / bool, C-contiguous (numpy arrays); the loops run
 * without the GIL. Compiled with -ffp-contract=off -fno-fast-math (setup.py FLOAT_FLAGS):
 * no fused multiply-add, no reassociation; the block loops are also vectorized
 * (-fno-trapping-math there lets the compiler use blends for the selects; it changes
 * which exception flags may be raised, never a value).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* _ieee's table ranges: k = 32 m + j; one table product where 2**m * 2**(j/32) is normal,
 * two steps (by 2**(m + 64) and 2**-64) up to _K_MAX_SPLIT, ldexp beyond. */
#define K_NORMAL (-1021 * 32)
#define K_MAX (1023 * 32 + 31)
#define K_MAX_SPLIT (959 * 32 + 31)
#define N_K32 (K_MAX - K_NORMAL + 1)
#define MAX_NODES 32
#define N_ERFC 10
#define N_EXP 8

enum { S_INV_LN2_32, S_LN2_32_HI, S_LN2_32_LO, S_SQRT2, S_TWO_PI, S_DEGENERATE, S_H_MAX,
       S_DIST_MAX, S_EXP_LO, S_EXP_HI, S_K_NORMAL, S_K_MAX, S_K_MAX_SPLIT, N_SCALARS };

static double two_j32[32];
static double *two_k32 = NULL;
static double nodes_x[MAX_NODES], nodes_w[MAX_NODES];
static Py_ssize_t n_nodes = 0;
static double erfc_c[N_ERFC];
static double exp_series[N_EXP];
static double sc[N_SCALARS];
static int ready = 0;

/* ---- the elementwise functions (each line one numpy operation) ---- */

/* _ieee.exp of one element (after its clip to [-746, 710]). */
static double ieee_exp(double x)
{
    if (x < sc[S_EXP_LO]) x = sc[S_EXP_LO]; /* np.clip; NaN stays */
    if (x > sc[S_EXP_HI]) x = sc[S_EXP_HI];
    /* _series */
    double k = x * sc[S_INV_LN2_32];
    k = rint(k);
    double r = x - k * sc[S_LN2_32_HI];
    r -= k * sc[S_LN2_32_LO];
    double p = r * exp_series[N_EXP - 1];
    for (int c = N_EXP - 2; c >= 1; c--) {
        p += exp_series[c];
        p *= r;
    }
    p += 1.0;
    if (k >= (double)K_NORMAL && k <= (double)K_MAX) /* _scale_normal (NaN fails) */
        return p * two_k32[(Py_ssize_t)k - K_NORMAL];
    if (k != k) /* NaN: numpy's ldexp path with j = 0 (table entry 1.0) and m = 0 */
        return p * two_j32[0];
    int64_t ki = (int64_t)k; /* |k| < 2**16: exact */
    p *= two_j32[ki & 31];
    int64_t m = (ki - (ki & 31)) / 32; /* ki >> 5 (floor) */
    if (k <= (double)K_MAX_SPLIT) {
        uint64_t bits = (uint64_t)(m + 1023 + 64) << 52;
        double scale;
        memcpy(&scale, &bits, sizeof scale);
        p *= scale;
        p *= 0x1p-64;
        return p;
    }
    return ldexp(p, (int)m);
}

/* np.sign: 0.0 for either zero, the NaN itself for NaN. */
static double np_sign(double a)
{
    return a > 0.0 ? 1.0 : a < 0.0 ? -1.0 : a == 0.0 ? 0.0 : a;
}

/* np.minimum: NaN propagates (the first NaN). */
static double np_minimum(double x, double y)
{
    return (x <= y || x != x) ? x : y;
}


/* ---- the same functions over blocks (loops the compiler may vectorize) ----
 *
 * Each loop is elementwise, so vector instructions (SSE2, or AVX2 in the clone made for
 * CPUs that have it) do the very operations of the scalar functions above: no sum is
 * reordered, no multiply-add fused (-ffp-contract=off). The rare elements that `ieee_exp`
 * does not scale by one table product (subnormal results, NaN) are redone by it. */

#define BLK 256 /* used pairs per block: two Owen's T each */
#define TB (2 * BLK)

typedef struct {
    Py_ssize_t idx[BLK];
    unsigned char flat[BLK];
    double h[TB], a[TB], t[TB];
    double hv[TB], ah[TB], aa[TB], hh2[TB], sg[TB], arg[TB], rr[TB], ex[TB];
    unsigned char small[TB], redo[2 * TB];
    Py_ssize_t big[TB];
    double qin[2 * TB], qout[2 * TB], qt[2 * TB], qarg[2 * TB];
} Work;

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define VECTORIZE                                                                             \
    __attribute__((target_clones("avx2", "default"),                                         \
                   optimize("tree-vectorize", "vect-cost-model=dynamic", "no-trapping-math")))
#else
#define VECTORIZE
#endif

VECTORIZE
static void exp_block(const double *restrict x, double *restrict out, unsigned char *restrict redo,
                      Py_ssize_t n)
{
    const double lo = sc[S_EXP_LO], hi = sc[S_EXP_HI], inv = sc[S_INV_LN2_32];
    const double c_hi = sc[S_LN2_32_HI], c_lo = sc[S_LN2_32_LO];
    const double *restrict tk = two_k32;
    int any = 0;
    for (Py_ssize_t j = 0; j < n; j++) {
        double v = x[j];
        v = v < lo ? lo : v;
        v = v > hi ? hi : v;
        double k = v * inv;
        k = rint(k);
        double r = v - k * c_hi;
        r -= k * c_lo;
        double p = r * exp_series[7];
        p += exp_series[6];
        p *= r;
        p += exp_series[5];
        p *= r;
        p += exp_series[4];
        p *= r;
        p += exp_series[3];
        p *= r;
        p += exp_series[2];
        p *= r;
        p += exp_series[1];
        p *= r;
        p += 1.0;
        int ok = k >= (double)K_NORMAL && k <= (double)K_MAX;
        double kk = ok ? k - (double)K_NORMAL : 0.0;
        out[j] = p * tk[(int)kk];
        redo[j] = !ok;
        any |= !ok;
    }
    if (any)
        for (Py_ssize_t j = 0; j < n; j++)
            if (redo[j]) out[j] = ieee_exp(x[j]);
}

VECTORIZE
static void q_block(const double *restrict x, double *restrict out, Work *w, Py_ssize_t n)
{
    const double sqrt2 = sc[S_SQRT2];
    double *restrict t_ = w->qt, *restrict arg = w->qarg;
    for (Py_ssize_t j = 0; j < n; j++) {
        double z = fabs(x[j]) / sqrt2;
        double t = 0.5 * z;
        t += 1.0;
        t = 1.0 / t;
        double poly = 0.0;
        for (int c = 0; c < N_ERFC; c++) {
            poly *= t;
            poly += erfc_c[c];
        }
        double g = -z;
        g *= z;
        g += poly;
        t_[j] = t;
        arg[j] = g;
    }
    exp_block(arg, out, w->redo, n);
    for (Py_ssize_t j = 0; j < n; j++) {
        double q = 0.5 * t_[j];
        q *= out[j];
        out[j] = q;
    }
}

/* owens_t_signed of w->h, w->a (n elements) into w->t. */
VECTORIZE
static void owens_block(Work *w, Py_ssize_t n)
{
    double *restrict hv = w->hv, *restrict ah = w->ah, *restrict aa = w->aa;
    double *restrict hh2 = w->hh2, *restrict sg = w->sg, *restrict t = w->t;
    double *restrict arg = w->arg, *restrict rr = w->rr, *restrict ex = w->ex;
    unsigned char *restrict small = w->small;
    const double *restrict h_in = w->h, *restrict a_in = w->a;
    const double two_pi = sc[S_TWO_PI];
    for (Py_ssize_t j = 0; j < n; j++) {
        double a0 = a_in[j];
        sg[j] = np_sign(a0);
        double h = fabs(h_in[j]), a = fabs(a0);
        int sm = a <= 1.0;
        double ahj = h * a;
        double inv = 1.0 / a;
        double hh = sm ? h : ahj;
        double aaj = sm ? a : inv;
        double g = -0.5 * hh;
        g *= hh;
        hv[j] = h;
        ah[j] = ahj;
        aa[j] = aaj;
        hh2[j] = g;
        small[j] = (unsigned char)sm;
        t[j] = 0.0;
    }
    for (Py_ssize_t node = 0; node < n_nodes; node++) {
        const double x = nodes_x[node], wt = nodes_w[node];
        for (Py_ssize_t j = 0; j < n; j++) {
            double r = aa[j] * x;
            r *= r;
            r += 1.0;
            rr[j] = r;
            arg[j] = hh2[j] * r;
        }
        exp_block(arg, ex, w->redo, n);
        for (Py_ssize_t j = 0; j < n; j++) {
            double e = ex[j] * wt;
            e /= rr[j];
            t[j] += e;
        }
    }
    for (Py_ssize_t j = 0; j < n; j++) t[j] *= aa[j] / two_pi;
    Py_ssize_t nb = 0;
    for (Py_ssize_t j = 0; j < n; j++)
        if (!small[j]) w->big[nb++] = j;
    if (nb) {
        for (Py_ssize_t b = 0; b < nb; b++) {
            w->qin[b] = hv[w->big[b]];
            w->qin[nb + b] = ah[w->big[b]];
        }
        q_block(w->qin, w->qout, w, 2 * nb);
        for (Py_ssize_t b = 0; b < nb; b++) {
            double qh = w->qout[b], qah = w->qout[nb + b];
            Py_ssize_t j = w->big[b];
            t[j] = 0.5 * ((1.0 - qh) * qah + (1.0 - qah) * qh) - t[j];
        }
    }
    for (Py_ssize_t j = 0; j < n; j++) t[j] = sg[j] * t[j];
}

/* The terms T(h, t_b/h) - T(h, t_a/h) of a block's used pairs (0.0 where flat), added to
 * their (point, area) sums in the pairs' order. */
static void add_terms(Work *w, Py_ssize_t nu, double *sum)
{
    if (nu == 0) return;
    owens_block(w, 2 * nu);
    for (Py_ssize_t u = 0; u < nu; u++)
        sum[w->idx[u]] += w->flat[u] ? 0.0 : w->t[2 * u] - w->t[2 * u + 1];
}

/* ---- buffers ---- */

#include "_buffers.h"

static int copy_doubles(PyObject *obj, double *dst, Py_ssize_t want, Py_ssize_t max,
                        Py_ssize_t *got, const char *name)
{
    Buf b;
    if (get_buf(obj, &b, 'd', 0, name) < 0) {
        release_bufs(&b, 1);
        return -1;
    }
    if ((want >= 0 && b.len != want) || b.len > max) {
        PyErr_Format(PyExc_ValueError, "%s: %zd values, expected %zd", name, b.len,
                     want >= 0 ? want : max);
        release_bufs(&b, 1);
        return -1;
    }
    memcpy(dst, b.view.buf, (size_t)b.len * sizeof(double));
    if (got) *got = b.len;
    release_bufs(&b, 1);
    return 0;
}

/* ---- Python functions ---- */

static PyObject *py_set_constants(PyObject *self, PyObject *args)
{
    PyObject *oj, *ok, *ox, *ow, *oe, *os, *osc;
    if (!PyArg_ParseTuple(args, "OOOOOOO:set_constants", &oj, &ok, &ox, &ow, &oe, &os, &osc))
        return NULL;
    Py_ssize_t nx = 0, nw = 0;
    double *k32 = two_k32 ? two_k32 : PyMem_RawMalloc(N_K32 * sizeof(double));
    if (!k32) return PyErr_NoMemory();
    two_k32 = k32;
    ready = 0;
    if (copy_doubles(oj, two_j32, 32, 32, NULL, "two_j32") < 0 ||
        copy_doubles(ok, two_k32, N_K32, N_K32, NULL, "two_k32") < 0 ||
        copy_doubles(ox, nodes_x, -1, MAX_NODES, &nx, "nodes_x") < 0 ||
        copy_doubles(ow, nodes_w, -1, MAX_NODES, &nw, "nodes_w") < 0 ||
        copy_doubles(oe, erfc_c, N_ERFC, N_ERFC, NULL, "erfc") < 0 ||
        copy_doubles(os, exp_series, N_EXP, N_EXP, NULL, "exp_series") < 0 ||
        copy_doubles(osc, sc, N_SCALARS, N_SCALARS, NULL, "scalars") < 0)
        return NULL;
    if (sc[S_K_NORMAL] != K_NORMAL || sc[S_K_MAX] != K_MAX || sc[S_K_MAX_SPLIT] != K_MAX_SPLIT) {
        PyErr_SetString(PyExc_ValueError, "_ieee's table ranges are not this module's");
        return NULL;
    }
    if (nx != nw) {
        PyErr_SetString(PyExc_ValueError, "nodes_x and nodes_w differ in length");
        return NULL;
    }
    n_nodes = nx;
    ready = 1;
    Py_RETURN_NONE;
}

static int check_ready(void)
{
    if (!ready) PyErr_SetString(PyExc_RuntimeError, "_masscore.set_constants was not called");
    return ready;
}

/* f(x, out) or f(h, a, out), elementwise. */
enum { OP_EXP, OP_Q, OP_OWENS };

static PyObject *elementwise(PyObject *args, int op, const char *fmt)
{
    int arity = op == OP_OWENS ? 2 : 1;
    PyObject *o[3];
    Buf b[3];
    memset(b, 0, sizeof b);
    if (!check_ready()) return NULL;
    if (arity == 1 ? !PyArg_ParseTuple(args, fmt, &o[0], &o[2])
                   : !PyArg_ParseTuple(args, fmt, &o[0], &o[1], &o[2]))
        return NULL;
    const char *names[3] = {op == OP_OWENS ? "h" : "x", "a", "out"};
    for (int j = 0; j < 3; j++) {
        if (arity == 1 && j == 1) continue;
        if (get_buf(o[j], &b[j], 'd', j == 2, names[j]) < 0) goto fail;
    }
    Py_ssize_t n = b[0].len;
    if (b[2].len != n || (arity == 2 && b[1].len != n)) {
        PyErr_SetString(PyExc_ValueError, "the arrays differ in length");
        goto fail;
    }
    const double *x = b[0].view.buf, *a = arity == 2 ? b[1].view.buf : NULL;
    double *out = b[2].view.buf;
    Work *w = PyMem_Malloc(sizeof(Work));
    if (!w) {
        PyErr_NoMemory();
        goto fail;
    }
    Py_BEGIN_ALLOW_THREADS;
    for (Py_ssize_t j0 = 0; j0 < n; j0 += TB) {
        Py_ssize_t len = n - j0 < TB ? n - j0 : TB;
        if (op == OP_OWENS) {
            memcpy(w->h, x + j0, (size_t)len * sizeof(double));
            memcpy(w->a, a + j0, (size_t)len * sizeof(double));
            owens_block(w, len);
            memcpy(out + j0, w->t, (size_t)len * sizeof(double));
        } else if (op == OP_EXP) {
            exp_block(x + j0, out + j0, w->redo, len);
        } else {
            q_block(x + j0, out + j0, w, len);
        }
    }
    Py_END_ALLOW_THREADS;
    PyMem_Free(w);
    release_bufs(b, 3);
    Py_RETURN_NONE;
fail:
    release_bufs(b, 3);
    return NULL;
}

static PyObject *py_exp(PyObject *self, PyObject *args) { return elementwise(args, OP_EXP, "OO:exp"); }

static PyObject *py_q(PyObject *self, PyObject *args) { return elementwise(args, OP_Q, "OO:q"); }

static PyObject *py_owens_t_signed(PyObject *self, PyObject *args)
{
    return elementwise(args, OP_OWENS, "OOO:owens_t_signed");
}

enum { B_QX, B_QY, B_L11, B_L21, B_L22, B_AX, B_AY, B_BX, B_BY, B_AREA, B_I, B_K, B_MASS,
       B_DEG, N_BUFS };

static PyObject *py_masses(PyObject *self, PyObject *args)
{
    PyObject *o[N_BUFS];
    Py_ssize_t m, chunk;
    Buf b[N_BUFS];
    memset(b, 0, sizeof b);
    if (!check_ready()) return NULL;
    if (!PyArg_ParseTuple(args, "OOOOOOOOOOOOnnOO:masses", &o[B_QX], &o[B_QY], &o[B_L11],
                          &o[B_L21], &o[B_L22], &o[B_AX], &o[B_AY], &o[B_BX], &o[B_BY],
                          &o[B_AREA], &o[B_I], &o[B_K], &m, &chunk, &o[B_MASS], &o[B_DEG]))
        return NULL;
    static const char *names[N_BUFS] = {"qx", "qy", "l11", "l21", "l22", "ax", "ay",
                                        "bx", "by", "area", "i", "k", "mass", "degenerate"};
    static const char kinds[N_BUFS] = {'d', 'd', 'd', 'd', 'd', 'd', 'd',
                                       'd', 'd', 'n', 'n', 'n', 'd', '?'};
    for (int j = 0; j < N_BUFS; j++)
        if (get_buf(o[j], &b[j], kinds[j], j >= B_MASS, names[j]) < 0) goto fail;
    Py_ssize_t n = b[B_QX].len, ne = b[B_AX].len, np_ = b[B_I].len;
    if (m < 1 || chunk < 1) {
        PyErr_SetString(PyExc_ValueError, "m and chunk must be positive");
        goto fail;
    }
    for (int j = B_QY; j <= B_L22; j++)
        if (b[j].len != n) {
            PyErr_Format(PyExc_ValueError, "%s: length %zd, qx has %zd", names[j], b[j].len, n);
            goto fail;
        }
    for (int j = B_AY; j <= B_AREA; j++)
        if (b[j].len != ne) {
            PyErr_Format(PyExc_ValueError, "%s: length %zd, ax has %zd", names[j], b[j].len, ne);
            goto fail;
        }
    if (b[B_K].len != np_) {
        PyErr_SetString(PyExc_ValueError, "i and k differ in length");
        goto fail;
    }
    if (n > PY_SSIZE_T_MAX / m || b[B_MASS].len != n * m || b[B_DEG].len != n) {
        PyErr_Format(PyExc_ValueError, "mass must have n * m = %zd * %zd values and degenerate n",
                     n, m);
        goto fail;
    }
    const double *qx = b[B_QX].view.buf, *qy = b[B_QY].view.buf;
    const double *l11 = b[B_L11].view.buf, *l21 = b[B_L21].view.buf, *l22 = b[B_L22].view.buf;
    const double *ax = b[B_AX].view.buf, *ay = b[B_AY].view.buf;
    const double *bx = b[B_BX].view.buf, *by = b[B_BY].view.buf;
    const Py_ssize_t *area = b[B_AREA].view.buf, *pi = b[B_I].view.buf, *pk = b[B_K].view.buf;
    double *mass = b[B_MASS].view.buf;
    char *degenerate = b[B_DEG].view.buf;
    /* Every index in range before anything is written. */
    Py_ssize_t bad = -1;
    for (Py_ssize_t e = 0; e < ne && bad < 0; e++)
        if (area[e] < 0 || area[e] >= m) bad = e;
    if (bad >= 0) {
        PyErr_Format(PyExc_IndexError, "area[%zd] = %zd is not in [0, %zd)", bad, area[bad], m);
        goto fail;
    }
    for (Py_ssize_t p = 0; p < np_ && bad < 0; p++)
        if (pi[p] < 0 || pi[p] >= n || pk[p] < 0 || pk[p] >= ne) bad = p;
    if (bad >= 0) {
        PyErr_Format(PyExc_IndexError, "pair %zd = (%zd, %zd) is out of range (%zd points, "
                     "%zd edges)", bad, pi[bad], pk[bad], n, ne);
        goto fail;
    }
    double *sum = PyMem_Calloc(n * m > 0 ? (size_t)(n * m) : 1, sizeof(double));
    Work *w = PyMem_Malloc(sizeof(Work));
    if (!sum || !w) {
        PyMem_Free(sum);
        PyMem_Free(w);
        PyErr_NoMemory();
        goto fail;
    }
    const double deg = sc[S_DEGENERATE], h_max = sc[S_H_MAX], dist_max = sc[S_DIST_MAX];
    Py_BEGIN_ALLOW_THREADS;
    for (Py_ssize_t c = 0; c < np_; c += chunk) {
        Py_ssize_t end = np_ - c < chunk ? np_ : c + chunk;
        if (c > 0) memset(sum, 0, (size_t)(n * m) * sizeof(double));
        Py_ssize_t nu = 0; /* used pairs in the block */
        for (Py_ssize_t p = c; p < end; p++) {
            Py_ssize_t i = pi[p], k = pk[p];
            double a1 = (ax[k] - qx[i]) / l11[i];
            double a2 = (ay[k] - qy[i] - l21[i] * a1) / l22[i];
            double b1 = (bx[k] - qx[i]) / l11[i];
            double b2 = (by[k] - qy[i] - l21[i] * b1) / l22[i];
            double dx = b1 - a1, dy = b2 - a2;
            double ln = sqrt(dx * dx + dy * dy);
            double ux = dx / ln, uy = dy / ln;
            double ta = a1 * ux + a2 * uy, tb = b1 * ux + b2 * uy;
            double h = a1 * uy - a2 * ux;
            double dist = (ta < 0.0 && tb > 0.0)
                              ? fabs(h)
                              : np_minimum(sqrt(a1 * a1 + a2 * a2), sqrt(b1 * b1 + b2 * b2));
            if (dist < deg) degenerate[i] = 1;
            if (!(fabs(h) <= h_max && dist <= dist_max && dist >= deg)) continue;
            /* h == 0: on the edge's line beyond its ends (flat), no mass: term 0.0 */
            int flat = h == 0.0;
            if (flat) h = 1.0;
            w->idx[nu] = i * m + area[k];
            w->flat[nu] = (unsigned char)flat;
            w->h[2 * nu] = h;
            w->a[2 * nu] = tb / h;
            w->h[2 * nu + 1] = h;
            w->a[2 * nu + 1] = ta / h;
            if (++nu == BLK) {
                add_terms(w, nu, sum);
                nu = 0;
            }
        }
        add_terms(w, nu, sum);
        for (Py_ssize_t j = 0; j < n * m; j++) mass[j] -= sum[j];
    }
    Py_END_ALLOW_THREADS;
    PyMem_Free(w);
    PyMem_Free(sum);
    release_bufs(b, N_BUFS);
    Py_RETURN_NONE;
fail:
    release_bufs(b, N_BUFS);
    return NULL;
}

static PyMethodDef methods[] = {
    {"set_constants", py_set_constants, METH_VARARGS,
     "set_constants(two_j32, two_k32, nodes_x, nodes_w, erfc, exp_series, scalars)"},
    {"masses", py_masses, METH_VARARGS,
     "masses(qx, qy, l11, l21, l22, ax, ay, bx, by, area, i, k, m, chunk, mass, degenerate)"},
    {"exp", py_exp, METH_VARARGS, "exp(x, out): _ieee.exp elementwise"},
    {"q", py_q, METH_VARARGS, "q(x, out): _area_index._q elementwise"},
    {"owens_t_signed", py_owens_t_signed, METH_VARARGS,
     "owens_t_signed(h, a, out): _area_index._owens_t_signed elementwise"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_masscore",
    "The Gaussian masses of attribution's p_side, in C (the bits of the numpy code).", -1,
    methods,
};

PyMODINIT_FUNC PyInit__masscore(void) { return PyModule_Create(&module); }
