/* The Gauss-Newton bearing fits of `ceasewatch.analysis._batchfit`, in C.
 *
 * Each function gives the bits of its numpy counterpart in _batchfit.py (which stays the
 * reference and the fallback): every + - * /, sqrt and comparison is the one numpy runs,
 * in the same order (compiled with FLOAT_FLAGS: no fused multiply-add, no reassociation);
 * a per-group sum adds the group's rows in row order starting from 0.0, as np.bincount
 * does; np.maximum / np.minimum propagate NaN as numpy's do; atan2 is `_ieee.atan2`
 * operation for operation. Each group's Gauss-Newton iteration depends only on its own
 * rows, so a loop over groups, each iterated to its own convergence, gives the bits of the
 * batched numpy iteration.
 *
 * Arrays come in through the buffer protocol (float64 and intp, C-contiguous, 1-d); the
 * caller allocates the outputs. The loops run without the GIL.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <string.h>

/* ---- _ieee.atan2 ---------------------------------------------------------------- */

static double ATAN_SERIES[12];
static const double PI = 3.141592653589793; /* math.pi */
static double HALF_PI;                       /* 0.5 * math.pi */

static void init_constants(void) {
    for (int k = 0; k < 12; k++) ATAN_SERIES[k] = ((k & 1) ? -1.0 : 1.0) / (double)(2 * k + 1);
    HALF_PI = 0.5 * PI;
}

static inline double ieee_atan2(double yv, double xv) {
    double ay = fabs(yv), ax = fabs(xv);
    int big = ay > ax;
    double num = big ? ax : ay, den = big ? ay : ax;
    double t = den > 0.0 ? num / den : 0.0;
    for (int i = 0; i < 2; i++) {
        double u = t * t;
        u += 1.0;
        u = sqrt(u);
        u += 1.0;
        t /= u;
    }
    double z = t * t;
    double p = z * ATAN_SERIES[11];
    p += ATAN_SERIES[10];
    for (int k = 9; k >= 0; k--) {
        p *= z;
        p += ATAN_SERIES[k];
    }
    p *= t;
    p *= 4.0;
    double a = big ? HALF_PI - p : p;
    a = xv < 0.0 ? PI - a : a;
    return yv < 0.0 ? -a : a;
}

/* np.maximum(v, 1.0) and np.minimum(m, v): NaN propagates (the first NaN wins). */
static inline double np_max1(double v) { return (v >= 1.0 || isnan(v)) ? v : 1.0; }
static inline double np_min(double m, double v) { return (m <= v || isnan(m)) ? m : v; }

/* ---- arguments ------------------------------------------------------------------- */

#define MAXBUF 24

typedef struct {
    Py_buffer views[MAXBUF];
    int count;
} bufs_t;

static void bufs_release(bufs_t *b) {
    for (int i = 0; i < b->count; i++) PyBuffer_Release(&b->views[i]);
    b->count = 0;
}

/* A 1-d C-contiguous buffer of float64 ('d') or intp ('n', 'l' or 'q' of the size of
 * Py_ssize_t); len < 0: any length, stored in *got. */
static void *get_array(bufs_t *b, PyObject *obj, const char *name, int is_int, int writable,
                       Py_ssize_t len, Py_ssize_t *got) {
    Py_buffer *v = &b->views[b->count];
    int flags = PyBUF_FORMAT | PyBUF_ND | PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, v, flags) < 0) {
        PyErr_Format(PyExc_TypeError, "%s: a C-contiguous %s%s array is needed", name,
                     writable ? "writable " : "", is_int ? "intp" : "float64");
        return NULL;
    }
    b->count++;
    const char *f = v->format ? v->format : "B";
    if (*f == '@' || *f == '=' || *f == '<') f++;
    int fmt_ok;
    if (is_int)
        fmt_ok = (f[0] == 'n' || f[0] == 'l' || f[0] == 'q') && f[1] == '\0' &&
                 v->itemsize == (Py_ssize_t)sizeof(Py_ssize_t);
    else
        fmt_ok = f[0] == 'd' && f[1] == '\0' && v->itemsize == (Py_ssize_t)sizeof(double);
    if (!fmt_ok || v->ndim != 1) {
        PyErr_Format(PyExc_TypeError, "%s: a 1-d %s array is needed (format %s, %d dims)", name,
                     is_int ? "intp" : "float64", v->format ? v->format : "B", v->ndim);
        return NULL;
    }
    Py_ssize_t n = v->shape[0];
    if (len >= 0 && n != len) {
        PyErr_Format(PyExc_ValueError, "%s: length %zd, expected %zd", name, n, len);
        return NULL;
    }
    if (got) *got = n;
    return v->buf;
}

/* ptr: n + 1 offsets into flat, non-decreasing, each group non-empty; flat: indices of
 * rows of a table of `rows` entries. */
static int check_groups(const Py_ssize_t *flat, Py_ssize_t nflat, const Py_ssize_t *ptr,
                        Py_ssize_t n, Py_ssize_t rows) {
    if (ptr[0] < 0 || ptr[n] > nflat) {
        PyErr_SetString(PyExc_ValueError, "ptr: offsets outside flat");
        return -1;
    }
    for (Py_ssize_t g = 0; g < n; g++) {
        if (ptr[g + 1] <= ptr[g]) {
            PyErr_SetString(PyExc_ValueError, "ptr: every group needs at least one member");
            return -1;
        }
    }
    for (Py_ssize_t i = ptr[0]; i < ptr[n]; i++) {
        if (flat[i] < 0 || flat[i] >= rows) {
            PyErr_SetString(PyExc_IndexError, "flat: index outside the table");
            return -1;
        }
    }
    return 0;
}

static int get_int(PyObject *obj, const char *name, long *out) {
    long v = PyLong_AsLong(obj);
    if (v == -1 && PyErr_Occurred()) return -1;
    (void)name;
    *out = v;
    return 0;
}

/* ---- the table ------------------------------------------------------------------- */

typedef struct {
    const double *x, *y, *s, *c, *w, *rm, *wr, *px, *py;
    const Py_ssize_t *band;
} table_t;

/* `_normal` of one group at (x, y): sums over its rows in row order; `with_res` 0 skips
 * the bearing residual (Fisher information only). */
typedef struct {
    double f11, f12, f22, g1, g2, cost, nearest;
} normal_t;

/* The weight of a row is w[ob], or 1 / (w[ob]² + gv) when `sigmas` (w: the sigmas); the
 * gradient and cost (and t->rm, t->s, t->c) only `with_res`. */
static inline void normal_of(const table_t *t, const double *w, int sigmas, double gv,
                             const Py_ssize_t *rows, Py_ssize_t len, double x, double y,
                             int with_res, normal_t *o) {
    double f11 = 0.0, f12 = 0.0, f22 = 0.0, g1 = 0.0, g2 = 0.0, cost = 0.0, nearest = 0.0;
    for (Py_ssize_t i = 0; i < len; i++) {
        Py_ssize_t ob = rows[i];
        double dx = x - t->x[ob], dy = y - t->y[ob];
        double r2 = dx * dx + dy * dy;
        double d2 = np_max1(r2);
        double d = sqrt(d2);
        double jx = dy / d2, jy = (-dx) / d2;
        double kx = dx / d, ky = dy / d;
        double wo;
        if (sigmas) {
            double sig = w[ob];
            wo = 1.0 / (sig * sig + gv);
        } else {
            wo = w[ob];
        }
        double wr = t->wr[ob];
        double wjx = wo * jx, wjy = wo * jy, wkx = wr * kx, wky = wr * ky;
        f11 += wjx * jx + wkx * kx;
        f12 += wjx * jy + wkx * ky;
        f22 += wjy * jy + wky * ky;
        if (with_res) {
            double rr = t->rm[ob] - d;
            double s = t->s[ob], c = t->c[ob];
            double res = ieee_atan2(s * dy - c * dx, s * dx + c * dy);
            g1 += wjx * res + wkx * rr;
            g2 += wjy * res + wky * rr;
            cost += wo * res * res + wr * rr * rr;
        }
        nearest = i ? np_min(nearest, r2) : r2;
    }
    o->f11 = f11;
    o->f12 = f12;
    o->f22 = f22;
    o->g1 = g1;
    o->g2 = g2;
    o->cost = cost;
    o->nearest = nearest;
}

/* `_start` of one group: the pseudo-linear estimate, else the prior's point on the first
 * bearing. */
static inline void start_of(const table_t *t, const Py_ssize_t *rows, Py_ssize_t len,
                            double *ox, double *oy) {
    double a11 = 0.0, a12 = 0.0, a22 = 0.0, b1 = 0.0, b2 = 0.0;
    for (Py_ssize_t i = 0; i < len; i++) {
        Py_ssize_t ob = rows[i];
        double s = t->s[ob], c = t->c[ob], w = t->w[ob];
        double wc = w * c, ws = w * s;
        double rhs = c * t->x[ob] - s * t->y[ob];
        a11 += wc * c;
        a12 += wc * s;
        a22 += ws * s;
        b1 += wc * rhs;
        b2 += ws * rhs;
    }
    a12 = -a12;
    b2 = -b2;
    double det = a11 * a22 - a12 * a12;
    double tr = a11 + a22;
    int ok = (len >= 2) & (det > 1e-12 * (tr * tr));
    double safe = ok ? det : 1.0;
    double x = (a22 * b1 - a12 * b2) / safe, y = (a11 * b2 - a12 * b1) / safe;
    if (ok) {
        for (Py_ssize_t i = 0; i < len; i++) {
            Py_ssize_t ob = rows[i];
            if (t->s[ob] * (x - t->x[ob]) + t->c[ob] * (y - t->y[ob]) <= 0.0) {
                ok = 0;
                break;
            }
        }
    }
    Py_ssize_t first = rows[0];
    *ox = ok ? x : t->px[first];
    *oy = ok ? y : t->py[first];
}

/* ---- fit_many -------------------------------------------------------------------- */

static const char FIT_DOC[] =
    "fit_many(x, y, s, c, w, rm, wr, band, px, py, flat, ptr, start_x, start_y, max_iter,\n"
    "         out_x, out_y, out_cee, out_cen, out_cnn, out_chi2, out_dof) -> None\n\n"
    "`_batchfit.py_fit_many` on the ObsTable columns x .. py (float64; band intp): fills\n"
    "the outputs (float64, out_dof intp, one per group). start_x / start_y: None or float64\n"
    "(a NaN start_x: the pseudo-linear start).";

static PyObject *fit_many(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 22) {
        PyErr_SetString(PyExc_TypeError, "fit_many takes 22 arguments");
        return NULL;
    }
    bufs_t b = {.count = 0};
    table_t t;
    Py_ssize_t rows, nflat, nptr;
    long max_iter;
    const double *cols[9];
    static const char *names[9] = {"x", "y", "s", "c", "w", "rm", "wr", "px", "py"};
    static const int argi[9] = {0, 1, 2, 3, 4, 5, 6, 8, 9};
    if (!(cols[0] = get_array(&b, args[0], "x", 0, 0, -1, &rows))) goto fail;
    for (int k = 1; k < 9; k++)
        if (!(cols[k] = get_array(&b, args[argi[k]], names[k], 0, 0, rows, NULL))) goto fail;
    t.x = cols[0], t.y = cols[1], t.s = cols[2], t.c = cols[3], t.w = cols[4];
    t.rm = cols[5], t.wr = cols[6], t.px = cols[7], t.py = cols[8];
    if (!(t.band = get_array(&b, args[7], "band", 1, 0, rows, NULL))) goto fail;
    const Py_ssize_t *flat = get_array(&b, args[10], "flat", 1, 0, -1, &nflat);
    if (!flat) goto fail;
    const Py_ssize_t *ptr = get_array(&b, args[11], "ptr", 1, 0, -1, &nptr);
    if (!ptr) goto fail;
    if (nptr < 1) {
        PyErr_SetString(PyExc_ValueError, "ptr: at least one offset is needed");
        goto fail;
    }
    Py_ssize_t n = nptr - 1;
    const double *st_x = NULL, *st_y = NULL;
    if ((args[12] == Py_None) != (args[13] == Py_None)) {
        PyErr_SetString(PyExc_TypeError, "start_x and start_y: both None or both arrays");
        goto fail;
    }
    if (args[12] != Py_None) {
        if (!(st_x = get_array(&b, args[12], "start_x", 0, 0, n, NULL))) goto fail;
        if (!(st_y = get_array(&b, args[13], "start_y", 0, 0, n, NULL))) goto fail;
    }
    if (get_int(args[14], "max_iter", &max_iter) < 0) goto fail;
    double *out[6];
    static const char *onames[6] = {"out_x", "out_y", "out_cee", "out_cen", "out_cnn",
                                    "out_chi2"};
    for (int k = 0; k < 6; k++)
        if (!(out[k] = get_array(&b, args[15 + k], onames[k], 0, 1, n, NULL))) goto fail;
    Py_ssize_t *out_dof = get_array(&b, args[21], "out_dof", 1, 1, n, NULL);
    if (!out_dof) goto fail;
    if (check_groups(flat, nflat, ptr, n, rows) < 0) goto fail;

    Py_BEGIN_ALLOW_THREADS;
    for (Py_ssize_t g = 0; g < n; g++) {
        const Py_ssize_t *grp = flat + ptr[g];
        Py_ssize_t len = ptr[g + 1] - ptr[g];
        double x, y;
        if (st_x && !isnan(st_x[g])) {
            x = st_x[g];
            y = st_y[g];
        } else {
            start_of(&t, grp, len, &x, &y);
        }
        double cost_prev = INFINITY;
        normal_t nm;
        for (long it = 0; it < max_iter; it++) {
            normal_of(&t, t.w, 0, 0.0, grp, len, x, y, 1, &nm);
            double det = nm.f11 * nm.f22 - nm.f12 * nm.f12;
            int ok = det > 0.0;
            double safe = ok ? det : 1.0;
            double sx = (nm.f22 * nm.g1 - nm.f12 * nm.g2) / safe;
            double sy = (nm.f11 * nm.g2 - nm.f12 * nm.g1) / safe;
            double step = sqrt(sx * sx + sy * sy);
            double limit = 0.5 * sqrt(nm.nearest);
            if ((step > limit) & (limit > 0.0)) {
                sx = sx * limit / step;
                sy = sy * limit / step;
            }
            if (ok) {
                x = x + sx;
                y = y + sy;
            }
            int done = !ok | (step < 0.05) | (fabs(cost_prev - nm.cost) < 1e-9);
            cost_prev = nm.cost;
            if (done) break;
        }
        normal_of(&t, t.w, 0, 0.0, grp, len, x, y, 1, &nm);
        double det = nm.f11 * nm.f22 - nm.f12 * nm.f12;
        int ok = det > 0.0;
        double safe = ok ? det : 1.0;
        double bands = 0.0;
        for (Py_ssize_t i = 0; i < len; i++) bands += (double)t.band[grp[i]];
        out[0][g] = x;
        out[1][g] = y;
        out[2][g] = ok ? nm.f22 / safe : 1e12;
        out[3][g] = ok ? (-nm.f12) / safe : 0.0;
        out[4][g] = ok ? nm.f11 / safe : 1e12;
        out[5][g] = nm.cost;
        out_dof[g] = len + (Py_ssize_t)bands - 2;
    }
    Py_END_ALLOW_THREADS;
    bufs_release(&b);
    Py_RETURN_NONE;
fail:
    bufs_release(&b);
    return NULL;
}

/* ---- fisher ---------------------------------------------------------------------- */

static const char FISHER_DOC[] =
    "fisher(ox, oy, wr, wcol, gv, flat, ptr, x, y, out_f11, out_f12, out_f22) -> None\n\n"
    "`_batchfit.py_fisher`: the Fisher information of each group at (x, y). The weight of\n"
    "a row is wcol[ob] when gv is None, else 1 / (wcol[ob]² + gv) (wcol: the sigmas).";

static PyObject *fisher(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 12) {
        PyErr_SetString(PyExc_TypeError, "fisher takes 12 arguments");
        return NULL;
    }
    bufs_t b = {.count = 0};
    table_t t;
    memset(&t, 0, sizeof t);
    Py_ssize_t rows, nflat, nptr;
    const double *wcol;
    int mode = 0;
    double gv = 0.0;
    if (!(t.x = get_array(&b, args[0], "ox", 0, 0, -1, &rows))) goto fail;
    if (!(t.y = get_array(&b, args[1], "oy", 0, 0, rows, NULL))) goto fail;
    if (!(t.wr = get_array(&b, args[2], "wr", 0, 0, rows, NULL))) goto fail;
    if (!(wcol = get_array(&b, args[3], "wcol", 0, 0, rows, NULL))) goto fail;
    if (args[4] != Py_None) {
        mode = 1;
        gv = PyFloat_AsDouble(args[4]);
        if (gv == -1.0 && PyErr_Occurred()) goto fail;
    }
    const Py_ssize_t *flat = get_array(&b, args[5], "flat", 1, 0, -1, &nflat);
    if (!flat) goto fail;
    const Py_ssize_t *ptr = get_array(&b, args[6], "ptr", 1, 0, -1, &nptr);
    if (!ptr) goto fail;
    if (nptr < 1) {
        PyErr_SetString(PyExc_ValueError, "ptr: at least one offset is needed");
        goto fail;
    }
    Py_ssize_t n = nptr - 1;
    const double *px = get_array(&b, args[7], "x", 0, 0, n, NULL);
    if (!px) goto fail;
    const double *py = get_array(&b, args[8], "y", 0, 0, n, NULL);
    if (!py) goto fail;
    double *out[3];
    for (int k = 0; k < 3; k++)
        if (!(out[k] = get_array(&b, args[9 + k], "out", 0, 1, n, NULL))) goto fail;
    if (check_groups(flat, nflat, ptr, n, rows) < 0) goto fail;

    Py_BEGIN_ALLOW_THREADS;
    for (Py_ssize_t g = 0; g < n; g++) {
        const Py_ssize_t *grp = flat + ptr[g];
        Py_ssize_t len = ptr[g + 1] - ptr[g];
        normal_t nm;
        normal_of(&t, wcol, mode, gv, grp, len, px[g], py[g], 0, &nm);
        out[0][g] = nm.f11;
        out[1][g] = nm.f12;
        out[2][g] = nm.f22;
    }
    Py_END_ALLOW_THREADS;
    bufs_release(&b);
    Py_RETURN_NONE;
fail:
    bufs_release(&b);
    return NULL;
}

/* ---- bearing_z ------------------------------------------------------------------- */

static const char Z_DOC[] =
    "bearing_z(ox, oy, s, c, sigma, ob, x, y, out) -> None\n\n"
    "`_batchfit.py_bearing_z`: |wrapped bearing error| / sigma of observations ob against\n"
    "the points (x, y) (one per entry of ob).";

static PyObject *bearing_z(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 9) {
        PyErr_SetString(PyExc_TypeError, "bearing_z takes 9 arguments");
        return NULL;
    }
    bufs_t b = {.count = 0};
    Py_ssize_t rows, m;
    const double *cols[5];
    static const char *names[5] = {"ox", "oy", "s", "c", "sigma"};
    if (!(cols[0] = get_array(&b, args[0], names[0], 0, 0, -1, &rows))) goto fail;
    for (int k = 1; k < 5; k++)
        if (!(cols[k] = get_array(&b, args[k], names[k], 0, 0, rows, NULL))) goto fail;
    const Py_ssize_t *ob = get_array(&b, args[5], "ob", 1, 0, -1, &m);
    if (!ob) goto fail;
    const double *x = get_array(&b, args[6], "x", 0, 0, m, NULL);
    if (!x) goto fail;
    const double *y = get_array(&b, args[7], "y", 0, 0, m, NULL);
    if (!y) goto fail;
    double *out = get_array(&b, args[8], "out", 0, 1, m, NULL);
    if (!out) goto fail;
    for (Py_ssize_t i = 0; i < m; i++) {
        if (ob[i] < 0 || ob[i] >= rows) {
            PyErr_SetString(PyExc_IndexError, "ob: index outside the table");
            goto fail;
        }
    }
    Py_BEGIN_ALLOW_THREADS;
    for (Py_ssize_t i = 0; i < m; i++) {
        Py_ssize_t o = ob[i];
        double dx = x[i] - cols[0][o], dy = y[i] - cols[1][o];
        double s = cols[2][o], c = cols[3][o];
        out[i] = fabs(ieee_atan2(s * dy - c * dx, s * dx + c * dy)) / cols[4][o];
    }
    Py_END_ALLOW_THREADS;
    bufs_release(&b);
    Py_RETURN_NONE;
fail:
    bufs_release(&b);
    return NULL;
}

/* atan2(y, x) elementwise, for the tests: `_ieee.atan2`'s bits. */
static PyObject *atan2_many(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "atan2 takes 3 arguments");
        return NULL;
    }
    bufs_t b = {.count = 0};
    Py_ssize_t m;
    const double *yv = get_array(&b, args[0], "y", 0, 0, -1, &m);
    if (!yv) goto fail;
    const double *xv = get_array(&b, args[1], "x", 0, 0, m, NULL);
    if (!xv) goto fail;
    double *out = get_array(&b, args[2], "out", 0, 1, m, NULL);
    if (!out) goto fail;
    Py_BEGIN_ALLOW_THREADS;
    for (Py_ssize_t i = 0; i < m; i++) out[i] = ieee_atan2(yv[i], xv[i]);
    Py_END_ALLOW_THREADS;
    bufs_release(&b);
    Py_RETURN_NONE;
fail:
    bufs_release(&b);
    return NULL;
}

static PyMethodDef methods[] = {
    {"fit_many", (PyCFunction)(void (*)(void))fit_many, METH_FASTCALL, FIT_DOC},
    {"fisher", (PyCFunction)(void (*)(void))fisher, METH_FASTCALL, FISHER_DOC},
    {"bearing_z", (PyCFunction)(void (*)(void))bearing_z, METH_FASTCALL, Z_DOC},
    {"atan2", (PyCFunction)(void (*)(void))atan2_many, METH_FASTCALL,
     "atan2(y, x, out) -> None: `_ieee.atan2` of float64 arrays into out."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fitcore",
    "The Gauss-Newton bearing fits of `ceasewatch.analysis._batchfit`, in C (same bits).", -1,
    methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__fitcore(void) {
    init_constants();
    return PyModule_Create(&module);
}
