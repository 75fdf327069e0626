/* ceasewatch.analysis._paircore: the candidate-pair tests of `_candidates._pairs_in`.
 *
 * For rows i in [i0, i1) and j in (i, end[i]): the pairs of other observers and one kind
 * class whose rays cross (or pass near a band middle) and whose emission times agree,
 * with the same IEEE operations in the same order as the numpy code (compiled without
 * fused multiply-add or reassociation), so z2 has the same bits. Pairs come out in (i, j)
 * order into caller-owned buffers; the count is returned. The GIL is released around the
 * loop.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>

#include "_buffers.h"

enum {
    B_END, B_WHO, B_WHAT, B_BAND, B_X, B_Y, B_SN, B_CS, B_LO, B_HI, B_MID, B_TOL, B_CORR,
    B_HEARD, B_VAR, B_Z2, B_OI, B_OJ, N_BUF
};
static const char KINDS[N_BUF] = {'n', 'n', 'n', '?', 'd', 'd', 'd', 'd', 'd', 'd',
                                  'd', 'd', 'd', 'd', 'd', 'd', 'n', 'n'};
static const char *NAMES[N_BUF] = {"end", "who", "what", "has_band", "x", "y", "sn", "cs",
                                   "lo", "hi", "mid", "tol_sin", "corr", "heard", "var",
                                   "z2_out", "i_out", "j_out"};

#define SPEED 343.0

static PyObject *pairs(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *o[N_BUF];
    Py_ssize_t i0, i1;
    double min_sin, z_max;
    if (!PyArg_ParseTuple(args, "nnddOOOOOOOOOOOOOOOOOO:pairs", &i0, &i1, &min_sin, &z_max,
                          &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6], &o[7], &o[8],
                          &o[9], &o[10], &o[11], &o[12], &o[13], &o[14], &o[15], &o[16],
                          &o[17]))
        return NULL;
    Buf b[N_BUF];
    int got = 0;
    for (; got < N_BUF; got++)
        if (get_buf(o[got], &b[got], KINDS[got], got >= B_Z2, NAMES[got]) < 0) {
            got++;
            goto fail;
        }
    Py_ssize_t n = b[B_END].len;
    for (int k = 0; k < B_Z2; k++)
        if (b[k].len != n) {
            PyErr_Format(PyExc_ValueError, "%s: %zd values, expected %zd", NAMES[k], b[k].len, n);
            goto fail;
        }
    Py_ssize_t cap = b[B_Z2].len;
    if (b[B_OI].len != cap || b[B_OJ].len != cap) {
        PyErr_SetString(PyExc_ValueError, "the output buffers differ in length");
        goto fail;
    }
    if (i0 < 0 || i1 < i0 || i1 > n) {
        PyErr_Format(PyExc_ValueError, "rows [%zd, %zd) out of [0, %zd)", i0, i1, n);
        goto fail;
    }
    const Py_ssize_t *end = b[B_END].view.buf;
    Py_ssize_t need = 0;
    for (Py_ssize_t r = i0; r < i1; r++) {
        if (end[r] > n) {
            PyErr_Format(PyExc_ValueError, "end[%zd] = %zd beyond %zd rows", r, end[r], n);
            goto fail;
        }
        if (end[r] > r + 1) need += end[r] - r - 1;
    }
    if (need > cap) {
        PyErr_Format(PyExc_ValueError, "output buffers hold %zd pairs, %zd may come", cap, need);
        goto fail;
    }
    const Py_ssize_t *who = b[B_WHO].view.buf, *what = b[B_WHAT].view.buf;
    const char *band = b[B_BAND].view.buf;
    const double *x = b[B_X].view.buf, *y = b[B_Y].view.buf, *sn = b[B_SN].view.buf,
                 *cs = b[B_CS].view.buf, *lo = b[B_LO].view.buf, *hi = b[B_HI].view.buf,
                 *mid = b[B_MID].view.buf, *tol = b[B_TOL].view.buf,
                 *corr = b[B_CORR].view.buf, *heard = b[B_HEARD].view.buf,
                 *var = b[B_VAR].view.buf;
    double *z2o = b[B_Z2].view.buf;
    Py_ssize_t *io = b[B_OI].view.buf, *jo = b[B_OJ].view.buf;
    Py_ssize_t m = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = i0; i < i1; i++) {
        for (Py_ssize_t j = i + 1; j < end[i]; j++) {
            if (who[i] == who[j] || what[i] != what[j]) continue;
            double den = sn[i] * cs[j] - cs[i] * sn[j];
            double dx = x[j] - x[i], dy = y[j] - y[i];
            double da = (dx * cs[j] - dy * sn[j]) / den;
            double db = (dx * cs[i] - dy * sn[i]) / den;
            int crossed = (fabs(den) >= min_sin) & (da > 0) & (db > 0) & (lo[i] <= da) &
                          (da <= hi[i]) & (lo[j] <= db) & (db <= hi[j]);
            for (int first = 1; !crossed && first >= 0; first--) {
                Py_ssize_t a = first ? i : j, bb = first ? j : i;
                double pa_x = x[a] + mid[a] * sn[a], pa_y = y[a] + mid[a] * cs[a];
                double vx = pa_x - x[bb], vy = pa_y - y[bb];
                double dist = sqrt(vx * vx + vy * vy);
                double sin_err = fabs(sn[bb] * vy - cs[bb] * vx) / dist;
                int near = (band[a] != 0) & (sn[bb] * vx + cs[bb] * vy > 0) &
                           (sin_err <= tol[bb]) & (lo[bb] <= dist) & (dist <= hi[bb]);
                if (near) {
                    crossed = 1;
                    if (first) {
                        da = mid[a];
                        db = dist;
                    } else {
                        da = dist;
                        db = mid[a];
                    }
                }
            }
            if (!crossed) continue;
            double dt = (corr[i] - heard[i] * da / SPEED) - (corr[j] - heard[j] * db / SPEED);
            double z2 = dt * dt / (var[i] + var[j]);
            if (z2 <= z_max) {
                z2o[m] = z2;
                io[m] = i;
                jo[m] = j;
                m++;
            }
        }
    }
    Py_END_ALLOW_THREADS
    for (int k = 0; k < N_BUF; k++) PyBuffer_Release(&b[k].view);
    return PyLong_FromSsize_t(m);
fail:
    for (int k = 0; k < got; k++)
        if (b[k].held) PyBuffer_Release(&b[k].view);
    return NULL;
}

static PyMethodDef methods[] = {
    {"pairs", pairs, METH_VARARGS,
     "pairs(i0, i1, min_sin, z_max, end, who, what, has_band, x, y, sn, cs, lo, hi, mid, "
     "tol_sin, corr, heard, var, z2_out, i_out, j_out) -> count written"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_paircore",
                                    "Candidate-pair tests of association (see _candidates).",
                                    -1, methods};

PyMODINIT_FUNC PyInit__paircore(void) { return PyModule_Create(&module); }
