/* Buffers of numpy arrays for the analysis's C kernels (`_masscore`, `_paircore`): a
 * C-contiguous array of float64 ('d'), intp ('n') or bool ('?'), checked and held. */
#ifndef CEASEWATCH_ANALYSIS_BUFFERS_H
#define CEASEWATCH_ANALYSIS_BUFFERS_H

#include <Python.h>
#include <string.h>

typedef struct {
    Py_buffer view;
    Py_ssize_t len;
    int held;
} Buf;

/* kind: 'd' float64, 'n' intp, '?' bool. */
static inline int get_buf(PyObject *obj, Buf *b, char kind, int writable, const char *name)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    b->held = 0;
    if (PyObject_GetBuffer(obj, &b->view, flags) < 0) {
        PyErr_Format(PyExc_TypeError, "%s: a C-contiguous%s array is required", name,
                     writable ? " writable" : "");
        return -1;
    }
    b->held = 1;
    const char *f = b->view.format ? b->view.format : "B";
    if (*f == '@' || *f == '=' || *f == '<') f++;
    int ok;
    switch (kind) {
    case 'd':
        ok = strcmp(f, "d") == 0 && b->view.itemsize == 8;
        break;
    case 'n':
        ok = (strcmp(f, "l") == 0 || strcmp(f, "q") == 0 || strcmp(f, "n") == 0) &&
             b->view.itemsize == (Py_ssize_t)sizeof(Py_ssize_t);
        break;
    default:
        ok = strcmp(f, "?") == 0 && b->view.itemsize == 1;
    }
    if (!ok) {
        PyErr_Format(PyExc_TypeError, "%s: expected a %s array, not format '%s' (itemsize %zd)",
                     name, kind == 'd' ? "float64" : kind == 'n' ? "intp" : "bool",
                     b->view.format ? b->view.format : "B", b->view.itemsize);
        return -1;
    }
    b->len = b->view.len / b->view.itemsize;
    return 0;
}

static inline void release_bufs(Buf *bufs, int n)
{
    for (int j = 0; j < n; j++)
        if (bufs[j].held) PyBuffer_Release(&bufs[j].view);
}

#endif
