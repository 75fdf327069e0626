/* The scan of association's grouping rounds in C: `ceasewatch.analysis._groupcore`.
 *
 * `_assoc_group._run` walks the candidate pairs of each component, best first, and keeps
 * which group each sighting is in. That walk is bookkeeping on small integers (no floating
 * point at all: the fits stay in numpy), and in Python it was the largest single cost of
 * `analyze`. `Groups` holds the same state as `_assoc_group._State` and performs the same
 * steps as `_run`, one round at a time:
 *
 *   scan(qi, qj, qptr, cross, scan_waiting)
 *       walks the pending queues (queue q is pairs qi[k]-qj[k], k in qptr[q]:qptr[q+1]);
 *       returns (ask members, ask offsets, start x, start y, rest qi, rest qj, rest qptr):
 *       the groups whose fit the round asks, their warm starts (NaN: none) and the pairs
 *       left for later rounds. The asked merges wait inside the object.
 *   apply(ok, x, y)
 *       the outcome of the asked fits: where ok, the two groups become one, fixed at (x, y).
 *   add(members, ptr, fx, fy, has_fix)
 *       groups to start from (members sorted within each, gid = first member).
 *   groups()
 *       (members, ptr, fx, fy, has_fix) of every group, by first member.
 *
 * Sightings are numbered 0..n-1 (the task's own numbering); a sighting in no group is a
 * group of its own with no member list ("None" in the Python). Arrays cross the boundary
 * as buffers of int64 ("q"/"l"), float64 ("d") or bool ("?"), and come back as bytes for
 * numpy.frombuffer. The Python `_run` stays the reference: tests compare the two.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    PyObject_HEAD
    Py_ssize_t n;
    int64_t *who;     /* observer code of each sighting */
    int64_t *ent;     /* the group (its first member) each sighting is in */
    int64_t **mem;    /* members of the group whose first member is g (NULL: none) */
    Py_ssize_t *len;  /* their number (0: none) */
    double *fx, *fy;  /* the group's fix, where has_fix */
    char *has_fix;
    int64_t *held;    /* stamp: the group is held in the queue being scanned */
    int64_t stamp;
    /* the merges the last scan asked: (ei, ej) and the merged members */
    Py_ssize_t n_wait, cap_wait;
    int64_t *wait_ei, *wait_ej;
    int64_t **wait_mem;
    Py_ssize_t *wait_len;
} Groups;

/* -- growable arrays ---------------------------------------------------------------- */

typedef struct {
    char *p;
    Py_ssize_t n, cap, size;
} Vec;

static int vec_push(Vec *v, const void *item) {
    if (v->n == v->cap) {
        Py_ssize_t cap = v->cap ? 2 * v->cap : 64;
        char *p = realloc(v->p, (size_t)(cap * v->size));
        if (!p) return -1;
        v->p = p;
        v->cap = cap;
    }
    memcpy(v->p + v->n * v->size, item, (size_t)v->size);
    v->n++;
    return 0;
}

static PyObject *vec_bytes(Vec *v) {
    return PyBytes_FromStringAndSize(v->p ? v->p : "", v->n * v->size);
}

/* -- buffers ----------------------------------------------------------------------- */

/* A contiguous buffer of `itemsize` bytes per item whose format ends in one of `kinds`. */
static int get_buf(PyObject *obj, Py_buffer *view, const char *kinds, Py_ssize_t itemsize,
                   const char *name) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return -1;
    const char *f = view->format ? view->format : "B";
    size_t fl = strlen(f);
    char last = fl ? f[fl - 1] : 'B';
    if (view->itemsize != itemsize || !strchr(kinds, last) || view->ndim > 1) {
        PyErr_Format(PyExc_TypeError, "%s: expected a 1-D contiguous array of %s, got format '%s'",
                     name, itemsize == 8 && strchr(kinds, 'd') ? "float64" :
                     itemsize == 8 ? "int64" : "bool", f);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static void release_all(Py_buffer *views, int n) {
    for (int k = 0; k < n; k++)
        if (views[k].obj) PyBuffer_Release(&views[k]);
}

/* -- the object -------------------------------------------------------------------- */

static void clear_waiting(Groups *s) {
    for (Py_ssize_t k = 0; k < s->n_wait; k++) free(s->wait_mem[k]);
    s->n_wait = 0;
}

static void Groups_dealloc(Groups *s) {
    clear_waiting(s);
    if (s->mem)
        for (Py_ssize_t g = 0; g < s->n; g++) free(s->mem[g]);
    free(s->who); free(s->ent); free(s->mem); free(s->len);
    free(s->fx); free(s->fy); free(s->has_fix); free(s->held);
    free(s->wait_ei); free(s->wait_ej); free(s->wait_mem); free(s->wait_len);
    Py_TYPE(s)->tp_free((PyObject *)s);
}

static int Groups_init(Groups *s, PyObject *args, PyObject *kw) {
    static char *names[] = {"who", NULL};
    PyObject *who_obj;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O", names, &who_obj)) return -1;
    if (s->who) {
        PyErr_SetString(PyExc_RuntimeError, "Groups is initialised once");
        return -1;
    }
    Py_buffer who;
    if (get_buf(who_obj, &who, "lq", 8, "who") < 0) return -1;
    Py_ssize_t n = who.len / 8;
    s->n = n;
    size_t m = (size_t)(n ? n : 1);
    s->who = malloc(m * sizeof(int64_t));
    s->ent = malloc(m * sizeof(int64_t));
    s->mem = calloc(m, sizeof(int64_t *));
    s->len = calloc(m, sizeof(Py_ssize_t));
    s->fx = calloc(m, sizeof(double));
    s->fy = calloc(m, sizeof(double));
    s->has_fix = calloc(m, 1);
    s->held = calloc(m, sizeof(int64_t));
    if (!s->who || !s->ent || !s->mem || !s->len || !s->fx || !s->fy || !s->has_fix || !s->held) {
        PyBuffer_Release(&who);
        PyErr_NoMemory();
        return -1;
    }
    memcpy(s->who, who.buf, (size_t)n * sizeof(int64_t));
    PyBuffer_Release(&who);
    for (Py_ssize_t k = 0; k < n; k++) s->ent[k] = k;
    return 0;
}

/* Group `gid` := members (sorted, gid its first), with or without a fix. Takes `members`. */
static void set_group(Groups *s, int64_t *members, Py_ssize_t n, int fixed, double x, double y) {
    int64_t gid = members[0];
    free(s->mem[gid]);
    s->mem[gid] = members;
    s->len[gid] = n;
    s->has_fix[gid] = (char)fixed;
    s->fx[gid] = fixed ? x : 0.0;
    s->fy[gid] = fixed ? y : 0.0;
    for (Py_ssize_t k = 0; k < n; k++) s->ent[members[k]] = gid;
}

static int check_index(Groups *s, int64_t v, const char *name) {
    if (v < 0 || v >= s->n) {
        PyErr_Format(PyExc_IndexError, "%s: sighting %lld is not in 0..%zd", name,
                     (long long)v, s->n - 1);
        return -1;
    }
    return 0;
}

static PyObject *Groups_add(Groups *s, PyObject *args) {
    PyObject *o[5];
    if (!PyArg_ParseTuple(args, "OOOOO", &o[0], &o[1], &o[2], &o[3], &o[4])) return NULL;
    Py_buffer v[5] = {{0}};
    if (get_buf(o[0], &v[0], "lq", 8, "members") < 0 || get_buf(o[1], &v[1], "lq", 8, "ptr") < 0 ||
        get_buf(o[2], &v[2], "d", 8, "fx") < 0 || get_buf(o[3], &v[3], "d", 8, "fy") < 0 ||
        get_buf(o[4], &v[4], "?", 1, "has_fix") < 0) {
        release_all(v, 5);
        return NULL;
    }
    const int64_t *members = v[0].buf, *ptr = v[1].buf;
    const double *fx = v[2].buf, *fy = v[3].buf;
    const char *has = v[4].buf;
    Py_ssize_t ng = v[1].len / 8 - 1, nm = v[0].len / 8;
    if (ng < 0 || v[2].len / 8 != ng || v[3].len / 8 != ng || v[4].len != ng) {
        PyErr_SetString(PyExc_ValueError, "add: ptr must have one more item than fx, fy, has_fix");
        goto fail;
    }
    for (Py_ssize_t g = 0; g < ng; g++) {
        int64_t a = ptr[g], b = ptr[g + 1];
        if (a < 0 || b <= a || b > nm) {
            PyErr_Format(PyExc_ValueError, "add: group %zd has offsets %lld..%lld of %zd members",
                         g, (long long)a, (long long)b, nm);
            goto fail;
        }
        for (int64_t k = a; k < b; k++) {
            if (check_index(s, members[k], "add") < 0) goto fail;
            if (k > a && members[k] <= members[k - 1]) {
                PyErr_Format(PyExc_ValueError, "add: group %zd is not sorted", g);
                goto fail;
            }
            if (s->len[s->ent[members[k]]] != 0) {
                PyErr_Format(PyExc_ValueError, "add: sighting %lld is in two groups",
                             (long long)members[k]);
                goto fail;
            }
        }
        int64_t *copy = malloc((size_t)(b - a) * sizeof(int64_t));
        if (!copy) { PyErr_NoMemory(); goto fail; }
        memcpy(copy, members + a, (size_t)(b - a) * sizeof(int64_t));
        set_group(s, copy, (Py_ssize_t)(b - a), has[g] != 0, fx[g], fy[g]);
    }
    release_all(v, 5);
    Py_RETURN_NONE;
fail:
    release_all(v, 5);
    return NULL;
}

static int push_wait(Groups *s, int64_t ei, int64_t ej, int64_t *merged, Py_ssize_t n) {
    if (s->n_wait == s->cap_wait) {
        Py_ssize_t cap = s->cap_wait ? 2 * s->cap_wait : 64;
        int64_t *a = realloc(s->wait_ei, (size_t)cap * sizeof(int64_t));
        if (!a) return -1;
        s->wait_ei = a;
        a = realloc(s->wait_ej, (size_t)cap * sizeof(int64_t));
        if (!a) return -1;
        s->wait_ej = a;
        int64_t **m = realloc(s->wait_mem, (size_t)cap * sizeof(int64_t *));
        if (!m) return -1;
        s->wait_mem = m;
        Py_ssize_t *l = realloc(s->wait_len, (size_t)cap * sizeof(Py_ssize_t));
        if (!l) return -1;
        s->wait_len = l;
        s->cap_wait = cap;
    }
    s->wait_ei[s->n_wait] = ei;
    s->wait_ej[s->n_wait] = ej;
    s->wait_mem[s->n_wait] = merged;
    s->wait_len[s->n_wait] = n;
    s->n_wait++;
    return 0;
}

/* One round of `_run`'s walk. Returns 0, or -1 with a Python error set. */
static int scan(Groups *s, const int64_t *qi, const int64_t *qj, const int64_t *qptr,
                Py_ssize_t nq, int cross, Py_ssize_t scan_waiting, Vec *ask_mem, Vec *ask_ptr,
                Vec *sx, Vec *sy, Vec *ri, Vec *rj, Vec *rptr) {
    int64_t zero = 0;
    if (vec_push(ask_ptr, &zero) < 0 || vec_push(rptr, &zero) < 0) return -1;
    for (Py_ssize_t q = 0; q < nq; q++) {
        int64_t stamp = ++s->stamp;
        int any_held = 0;
        Py_ssize_t n_rest = 0;
        for (int64_t k = qptr[q]; k < qptr[q + 1]; k++) {
            int64_t i = qi[k], j = qj[k];
            int64_t ei = s->ent[i], ej = s->ent[j];
            if (any_held && (s->held[ei] == stamp || s->held[ej] == stamp)) {
                s->held[ei] = s->held[ej] = stamp;
                if (vec_push(ri, &i) < 0 || vec_push(rj, &j) < 0) return -1;
                n_rest++;
                if (n_rest >= scan_waiting) {
                    for (int64_t r = k + 1; r < qptr[q + 1]; r++)
                        if (vec_push(ri, &qi[r]) < 0 || vec_push(rj, &qj[r]) < 0) return -1;
                    break;
                }
                continue;
            }
            Py_ssize_t la = s->len[ei], lb = s->len[ej];
            const int64_t *a = s->mem[ei], *b = s->mem[ej];
            if (la == 0) {
                if (lb == 0) {
                    /* Two single sightings (of two observers: a candidate pair). */
                    int64_t lo = i < j ? i : j, hi = i < j ? j : i;
                    int64_t *pair = malloc(2 * sizeof(int64_t));
                    if (!pair) { PyErr_NoMemory(); return -1; }
                    pair[0] = lo;
                    pair[1] = hi;
                    set_group(s, pair, 2, 0, 0.0, 0.0);
                    continue;
                }
                a = &i;
                la = 1;
            } else if (lb == 0) {
                b = &j;
                lb = 1;
            } else if (ei == ej || cross) {
                continue;  /* confusable kinds never join two groups */
            }
            Py_ssize_t nm = la + lb;
            int64_t *merged = malloc((size_t)nm * sizeof(int64_t));
            if (!merged) { PyErr_NoMemory(); return -1; }
            /* sorted(a + b): both are sorted (and, here, disjoint). */
            Py_ssize_t x = 0, y = 0, z = 0;
            while (x < la && y < lb) merged[z++] = a[x] <= b[y] ? a[x++] : b[y++];
            while (x < la) merged[z++] = a[x++];
            while (y < lb) merged[z++] = b[y++];
            int twice = 0;
            for (Py_ssize_t u = 0; u < nm && !twice; u++)
                for (Py_ssize_t w = u + 1; w < nm; w++)
                    if (s->who[merged[u]] == s->who[merged[w]]) { twice = 1; break; }
            if (twice) {  /* two sightings by one observer: not one occurrence */
                free(merged);
                continue;
            }
            int64_t big = la >= lb ? ei : ej;  /* the bigger group's fix warm-starts */
            double nan = NAN;
            const double *px = s->has_fix[big] ? &s->fx[big] : &nan;
            const double *py = s->has_fix[big] ? &s->fy[big] : &nan;
            int64_t end;
            if (vec_push(sx, px) < 0 || vec_push(sy, py) < 0 || push_wait(s, ei, ej, merged, nm) < 0) {
                free(merged);
                PyErr_NoMemory();
                return -1;
            }
            for (Py_ssize_t u = 0; u < nm; u++)
                if (vec_push(ask_mem, &merged[u]) < 0) return -1;
            end = (int64_t)ask_mem->n;
            if (vec_push(ask_ptr, &end) < 0) return -1;
            s->held[ei] = s->held[ej] = stamp;
            any_held = 1;
        }
        if (n_rest) {
            int64_t end = (int64_t)ri->n;
            if (vec_push(rptr, &end) < 0) return -1;
        }
    }
    return 0;
}

static PyObject *Groups_scan(Groups *s, PyObject *args) {
    PyObject *o[3];
    int cross;
    Py_ssize_t scan_waiting;
    if (!PyArg_ParseTuple(args, "OOOpn", &o[0], &o[1], &o[2], &cross, &scan_waiting)) return NULL;
    if (scan_waiting < 1) {
        PyErr_SetString(PyExc_ValueError, "scan: scan_waiting must be >= 1");
        return NULL;
    }
    Py_buffer v[3] = {{0}};
    if (get_buf(o[0], &v[0], "lq", 8, "qi") < 0 || get_buf(o[1], &v[1], "lq", 8, "qj") < 0 ||
        get_buf(o[2], &v[2], "lq", 8, "qptr") < 0) {
        release_all(v, 3);
        return NULL;
    }
    const int64_t *qi = v[0].buf, *qj = v[1].buf, *qptr = v[2].buf;
    Py_ssize_t np_ = v[0].len / 8, nq = v[2].len / 8 - 1;
    PyObject *out = NULL;
    Vec vecs[7] = {{0}};
    for (int k = 0; k < 7; k++) vecs[k].size = 8;
    if (v[1].len != v[0].len || nq < 0 || (nq >= 0 && qptr[0] != 0) || qptr[nq] != np_) {
        PyErr_SetString(PyExc_ValueError, "scan: qi, qj must be as long as qptr's last offset");
        goto done;
    }
    for (Py_ssize_t q = 0; q < nq; q++)
        if (qptr[q + 1] < qptr[q]) {
            PyErr_SetString(PyExc_ValueError, "scan: qptr must not decrease");
            goto done;
        }
    for (Py_ssize_t k = 0; k < np_; k++)
        if (check_index(s, qi[k], "scan") < 0 || check_index(s, qj[k], "scan") < 0) goto done;
    clear_waiting(s);
    if (scan(s, qi, qj, qptr, nq, cross, scan_waiting, &vecs[0], &vecs[1], &vecs[2], &vecs[3],
             &vecs[4], &vecs[5], &vecs[6]) < 0) {
        if (!PyErr_Occurred()) PyErr_NoMemory();
        clear_waiting(s);
        goto done;
    }
    out = PyTuple_New(7);
    if (!out) goto done;
    for (int k = 0; k < 7; k++) {
        PyObject *b = vec_bytes(&vecs[k]);
        if (!b) { Py_CLEAR(out); goto done; }
        PyTuple_SET_ITEM(out, k, b);
    }
done:
    for (int k = 0; k < 7; k++) free(vecs[k].p);
    release_all(v, 3);
    return out;
}

static PyObject *Groups_apply(Groups *s, PyObject *args) {
    PyObject *o[3];
    if (!PyArg_ParseTuple(args, "OOO", &o[0], &o[1], &o[2])) return NULL;
    Py_buffer v[3] = {{0}};
    if (get_buf(o[0], &v[0], "?", 1, "ok") < 0 || get_buf(o[1], &v[1], "d", 8, "x") < 0 ||
        get_buf(o[2], &v[2], "d", 8, "y") < 0) {
        release_all(v, 3);
        return NULL;
    }
    if (v[0].len != s->n_wait || v[1].len / 8 != s->n_wait || v[2].len / 8 != s->n_wait) {
        PyErr_Format(PyExc_ValueError, "apply: expected %zd outcomes (the fits scan asked)",
                     s->n_wait);
        release_all(v, 3);
        return NULL;
    }
    const char *ok = v[0].buf;
    const double *x = v[1].buf, *y = v[2].buf;
    for (Py_ssize_t k = 0; k < s->n_wait; k++) {
        if (!ok[k]) continue;
        int64_t ei = s->wait_ei[k], ej = s->wait_ej[k];
        int64_t *merged = s->wait_mem[k];
        s->wait_mem[k] = NULL;
        /* The two groups end; the merged one begins (its first member is one of them). */
        int64_t gone[2] = {ei, ej};
        for (int u = 0; u < 2; u++) {
            int64_t g = gone[u];
            free(s->mem[g]);
            s->mem[g] = NULL;
            s->len[g] = 0;
            s->has_fix[g] = 0;
            s->fx[g] = s->fy[g] = 0.0;
        }
        set_group(s, merged, s->wait_len[k], 1, x[k], y[k]);
    }
    clear_waiting(s);
    release_all(v, 3);
    Py_RETURN_NONE;
}

static PyObject *Groups_groups(Groups *s, PyObject *Py_UNUSED(ignored)) {
    Vec vecs[5] = {{0}};
    vecs[0].size = vecs[1].size = vecs[2].size = vecs[3].size = 8;
    vecs[4].size = 1;
    PyObject *out = NULL;
    int64_t zero = 0;
    if (vec_push(&vecs[1], &zero) < 0) goto nomem;
    for (Py_ssize_t g = 0; g < s->n; g++) {
        if (!s->len[g]) continue;
        for (Py_ssize_t k = 0; k < s->len[g]; k++)
            if (vec_push(&vecs[0], &s->mem[g][k]) < 0) goto nomem;
        int64_t end = (int64_t)vecs[0].n;
        char has = s->has_fix[g];
        if (vec_push(&vecs[1], &end) < 0 || vec_push(&vecs[2], &s->fx[g]) < 0 ||
            vec_push(&vecs[3], &s->fy[g]) < 0 || vec_push(&vecs[4], &has) < 0)
            goto nomem;
    }
    out = PyTuple_New(5);
    if (!out) goto done;
    for (int k = 0; k < 5; k++) {
        PyObject *b = vec_bytes(&vecs[k]);
        if (!b) { Py_CLEAR(out); goto done; }
        PyTuple_SET_ITEM(out, k, b);
    }
    goto done;
nomem:
    PyErr_NoMemory();
done:
    for (int k = 0; k < 5; k++) free(vecs[k].p);
    return out;
}

static PyMethodDef Groups_methods[] = {
    {"add", (PyCFunction)Groups_add, METH_VARARGS,
     "add(members, ptr, fx, fy, has_fix): groups to start from (each sorted)."},
    {"scan", (PyCFunction)Groups_scan, METH_VARARGS,
     "scan(qi, qj, qptr, cross, scan_waiting) -> (ask members, ask ptr, sx, sy, rest qi, "
     "rest qj, rest qptr) as bytes: one round of the walk."},
    {"apply", (PyCFunction)Groups_apply, METH_VARARGS,
     "apply(ok, x, y): the outcome of the fits the last scan asked."},
    {"groups", (PyCFunction)Groups_groups, METH_NOARGS,
     "groups() -> (members, ptr, fx, fy, has_fix) as bytes, by first member."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject GroupsType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ceasewatch.analysis._groupcore.Groups",
    .tp_doc = "Groups(who): the grouping state of one task (see the module).",
    .tp_basicsize = sizeof(Groups),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Groups_init,
    .tp_dealloc = (destructor)Groups_dealloc,
    .tp_methods = Groups_methods,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_groupcore",
    "The grouping walk of association in C (see _assoc_group._run).", -1, NULL,
};

PyMODINIT_FUNC PyInit__groupcore(void) {
    if (PyType_Ready(&GroupsType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    Py_INCREF(&GroupsType);
    if (PyModule_AddObject(m, "Groups", (PyObject *)&GroupsType) < 0) {
        Py_DECREF(&GroupsType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
