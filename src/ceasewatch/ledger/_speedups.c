/* The hot loops of `ceasewatch verify`, in C: ceasewatch.ledger._speedups.
 *
 * `verify` hashes every entry of a log, compares the hashes with the stored ones, rebuilds the
 * Merkle tree and looks in every entry for the raw file it names. In Python each SHA-256 call
 * costs several times more in the interpreter and in making the hash object than in hashing
 * the few hundred bytes, so these functions do a whole run per call:
 *
 *   leaf_hashes(datas, column=None) -> bytes
 *       SHA-256(0x00 || data) of each item of a sequence of bytes-like objects, packed back to
 *       back (32 bytes each);
 *   sha256(datas, column=None) -> bytes
 *       SHA-256 of each item, packed (the stored raw files, two at a time);
 *   parents(level) -> bytes
 *       SHA-256(0x01 || left || right) of each consecutive pair of the 32-byte hashes packed
 *       in ``level`` (a bytes-like object), packed; an odd last hash has no parent yet;
 *   key_counts(datas, key, value, column=None) -> (int, int)
 *       how many times ``key`` occurs in the items, and how many of those are followed
 *       directly by ``value``;
 *   packed(items, size, column=None) -> bytes | None
 *       the items back to back, or None if one of them is not ``size`` bytes long.
 *
 * With a ``column``, the items are that column of a sequence of tuples (the rows of a query),
 * so no list of the column is made.
 *
 * SHA-256 (FIPS 180-4) runs on the x86 SHA extensions (SHA-NI). Without them plain C would be
 * slower than OpenSSL's SHA-256 through hashlib, so the module refuses to import on such a CPU
 * (or when built for another architecture) and `ceasewatch.ledger._bulk` uses its pure-Python
 * functions, which give the same results (the tests compare the two).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SPEEDUPS_X86 1
#include <cpuid.h>
#include <immintrin.h>
#endif

#ifdef SPEEDUPS_X86
static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

static const uint32_t H0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

/* ---- SHA-NI compression ----
 *
 * SHA256RNDS2 does two rounds on the state held as two registers, (A, B, E, F) and
 * (C, D, G, H) (highest dword first), with W[t] + K[t] of the two rounds in the low half of
 * its third operand; SHA256MSG1 and SHA256MSG2 compute four words of the message schedule
 * from the previous sixteen. Each of the 16 steps of a block does four rounds and, while
 * rounds remain, the schedule words of the step four ahead, into the register just consumed.
 *
 * A round needs the result of the one before, so one message keeps the SHA unit waiting;
 * `compress2` runs two independent messages step by step side by side (the leaves of a page,
 * the nodes of a level come in pairs), which nearly doubles the throughput.
 */
#define SHA_NI __attribute__((target("sha,sse4.1,ssse3")))

typedef struct {
    __m128i abef, cdgh;
} sha_state;

SHA_NI static inline sha_state state_load(const uint32_t s[8]) {
    __m128i dcba = _mm_loadu_si128((const __m128i *)s);
    __m128i hgfe = _mm_loadu_si128((const __m128i *)(s + 4));
    __m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
    __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
    sha_state st = {_mm_alignr_epi8(cdab, efgh, 8), _mm_blend_epi16(efgh, cdab, 0xF0)};
    return st;
}

SHA_NI static inline void state_store(uint32_t s[8], sha_state st) {
    __m128i feba = _mm_shuffle_epi32(st.abef, 0x1B);
    __m128i dchg = _mm_shuffle_epi32(st.cdgh, 0xB1);
    _mm_storeu_si128((__m128i *)s, _mm_blend_epi16(feba, dchg, 0xF0));
    _mm_storeu_si128((__m128i *)(s + 4), _mm_alignr_epi8(dchg, feba, 8));
}

SHA_NI static inline void block_words(__m128i m[4], const uint8_t *p) {
    const __m128i bswap = _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3);
    for (int i = 0; i < 4; i++)
        m[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), bswap);
}

/* Four rounds (step s) of one message; then the schedule words of step s + 4. */
SHA_NI static inline void step(sha_state *st, __m128i m[4], int s) {
    const __m128i wk = _mm_add_epi32(m[s & 3], _mm_loadu_si128((const __m128i *)(K + 4 * s)));
    /* after one round cdgh holds (A, B, E, F), which after two is (C, D, G, H) */
    st->cdgh = _mm_sha256rnds2_epu32(st->cdgh, st->abef, wk);
    st->abef = _mm_sha256rnds2_epu32(st->abef, st->cdgh, _mm_shuffle_epi32(wk, 0x0E));
    if (s < 12) { /* W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16], t = 4s + 16.. */
        __m128i next = _mm_sha256msg1_epu32(m[s & 3], m[(s + 1) & 3]);
        next = _mm_add_epi32(next, _mm_alignr_epi8(m[(s + 3) & 3], m[(s + 2) & 3], 4));
        m[s & 3] = _mm_sha256msg2_epu32(next, m[(s + 3) & 3]);
    }
}

/* `count` consecutive blocks at p into the state. */
SHA_NI static void compress(uint32_t state[8], const uint8_t *p, size_t count) {
    sha_state st = state_load(state);
    while (count--) {
        const sha_state old = st;
        __m128i m[4];
        block_words(m, p);
#pragma GCC unroll 16
        for (int s = 0; s < 16; s++) step(&st, m, s);
        st.abef = _mm_add_epi32(st.abef, old.abef);
        st.cdgh = _mm_add_epi32(st.cdgh, old.cdgh);
        p += 64;
    }
    state_store(state, st);
}

/* One message ``prefix || data`` (a prefix of one byte, or none) as its padded blocks: block 0
 * (when the message has a whole block) starts with the prefix and is copied to ``head``;
 * blocks 1 .. full - 1 are read in place from data; the rest, and the padding, are copied to
 * ``tail``. */
typedef struct {
    const uint8_t *data;
    size_t plen, full, blocks;
    uint32_t state[8];
    uint8_t head[64];
    uint8_t tail[128];
} message;

#define NO_PREFIX (-1)

static void message_init(message *m, int prefix, const uint8_t *data, size_t len) {
    const size_t plen = prefix == NO_PREFIX ? 0 : 1;
    const size_t total = len + plen;
    m->data = data;
    m->plen = plen;
    m->full = total / 64;
    size_t rest = total % 64; /* message bytes in the tail */
    m->blocks = m->full + (rest + 9 <= 64 ? 1 : 2);
    memcpy(m->state, H0, sizeof m->state);
    uint8_t *first = m->full > 0 ? m->head : m->tail;
    if (plen) first[0] = (uint8_t)prefix;
    if (m->full > 0) {
        memcpy(m->head + plen, data, 64 - plen);
        memcpy(m->tail, data + len - rest, rest);
    } else {
        memcpy(m->tail + plen, data, len);
    }
    /* padding: 0x80, zeros, the message length in bits as a 64-bit big-endian number */
    size_t end = 64 * (m->blocks - m->full);
    memset(m->tail + rest, 0, end - rest);
    m->tail[rest] = 0x80;
    uint64_t bits = (uint64_t)total * 8;
    for (int i = 0; i < 8; i++) m->tail[end - 1 - i] = (uint8_t)(bits >> (8 * i));
}

static inline const uint8_t *message_block(const message *m, size_t k) {
    if (k >= m->full) return m->tail + 64 * (k - m->full);
    return k == 0 ? m->head : m->data + 64 * k - m->plen;
}

/* Blocks from..end of the message into its state. */
SHA_NI static void message_finish(message *m, size_t from) {
    size_t k = from;
    if (k == 0 && m->full > 0) {
        compress(m->state, m->head, 1);
        k = 1;
    }
    if (k < m->full) {
        compress(m->state, m->data + 64 * k - m->plen, m->full - k);
        k = m->full;
    }
    compress(m->state, m->tail + 64 * (k - m->full), m->blocks - k);
}

/* The blocks both messages have, side by side; then the rest of each. */
SHA_NI static void compress2(message *a, message *b) {
    size_t both = a->blocks < b->blocks ? a->blocks : b->blocks;
    sha_state sa = state_load(a->state), sb = state_load(b->state);
    for (size_t k = 0; k < both; k++) {
        const sha_state olda = sa, oldb = sb;
        __m128i ma[4], mb[4];
        block_words(ma, message_block(a, k));
        block_words(mb, message_block(b, k));
#pragma GCC unroll 16
        for (int s = 0; s < 16; s++) {
            step(&sa, ma, s);
            step(&sb, mb, s);
        }
        sa.abef = _mm_add_epi32(sa.abef, olda.abef);
        sa.cdgh = _mm_add_epi32(sa.cdgh, olda.cdgh);
        sb.abef = _mm_add_epi32(sb.abef, oldb.abef);
        sb.cdgh = _mm_add_epi32(sb.cdgh, oldb.cdgh);
    }
    state_store(a->state, sa);
    state_store(b->state, sb);
    message_finish(a, both);
    message_finish(b, both);
}

static void message_digest(const message *m, uint8_t out[32]) {
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(m->state[i] >> 24);
        out[4 * i + 1] = (uint8_t)(m->state[i] >> 16);
        out[4 * i + 2] = (uint8_t)(m->state[i] >> 8);
        out[4 * i + 3] = (uint8_t)m->state[i];
    }
}

static int cpu_has_sha_ni(void) {
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if (!(c & bit_SSE4_1) || !(c & bit_SSSE3)) return 0;
    if (__get_cpuid_max(0, NULL) < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return (b >> 29) & 1; /* CPUID.(EAX=7, ECX=0):EBX.SHA[bit 29] */
}

/* The items of a sequence, or one column of a sequence of tuples (the rows of a query), each
 * read as (pointer, length): bytes directly, any other bytes-like object through the buffer
 * protocol (``view->obj`` is then set, and `release` releases it). */
typedef struct {
    PyObject *seq;
    PyObject **items;
    Py_ssize_t n, column;
} items_t;

static int items_open(items_t *it, PyObject *obj, PyObject *column) {
    it->column = -1;
    if (column != NULL && column != Py_None) {
        it->column = PyLong_AsSsize_t(column);
        if (it->column < 0) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "column must be >= 0");
            return -1;
        }
    }
    it->seq = PySequence_Fast(obj, "expected a sequence of bytes or of rows");
    if (it->seq == NULL) return -1;
    it->n = PySequence_Fast_GET_SIZE(it->seq);
    it->items = PySequence_Fast_ITEMS(it->seq);
    return 0;
}

static void items_close(items_t *it) { Py_XDECREF(it->seq); }

static int items_get(const items_t *it, Py_ssize_t i, Py_buffer *view, const uint8_t **data,
                     size_t *len) {
    PyObject *item = it->items[i];
    view->obj = NULL;
    if (it->column >= 0) {
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) <= it->column) {
            PyErr_Format(PyExc_TypeError, "item %zd is not a row with a column %zd", i,
                         it->column);
            return -1;
        }
        item = PyTuple_GET_ITEM(item, it->column);
    }
    if (PyBytes_CheckExact(item)) {
        *data = (const uint8_t *)PyBytes_AS_STRING(item);
        *len = (size_t)PyBytes_GET_SIZE(item);
        return 0;
    }
    if (PyObject_GetBuffer(item, view, PyBUF_SIMPLE) < 0) return -1;
    *data = view->buf;
    *len = (size_t)view->len;
    return 0;
}

/* Parse (sequence, [column]) or (sequence, a, b, [column]) of a METH_FASTCALL function. */
static int fast_args(const char *name, PyObject *const *args, Py_ssize_t nargs,
                     Py_ssize_t fixed, items_t *it) {
    if (nargs < 1 + fixed || nargs > 2 + fixed) {
        PyErr_Format(PyExc_TypeError, "%s() takes %zd or %zd arguments (%zd given)", name,
                     1 + fixed, 2 + fixed, nargs);
        return -1;
    }
    return items_open(it, args[0], nargs == 2 + fixed ? args[1 + fixed] : NULL);
}

static void release(Py_buffer *view) {
    if (view->obj != NULL) PyBuffer_Release(view);
}

/* SHA-256 of prefix || item for each item (no prefix: NO_PREFIX), two at a time, packed. */
static PyObject *hash_items(const char *name, int prefix, PyObject *const *args,
                           Py_ssize_t nargs) {
    items_t it;
    if (fast_args(name, args, nargs, 0, &it) < 0) return NULL;
    PyObject *out = PyBytes_FromStringAndSize(NULL, it.n * 32);
    if (out == NULL) goto fail;
    uint8_t *dst = (uint8_t *)PyBytes_AS_STRING(out);
    message a, b;
    Py_ssize_t i = 0;
    for (; i + 1 < it.n; i += 2) { /* two at a time */
        Py_buffer va, vb;
        const uint8_t *pa, *pb;
        size_t la, lb;
        if (items_get(&it, i, &va, &pa, &la) < 0) goto fail;
        if (items_get(&it, i + 1, &vb, &pb, &lb) < 0) {
            release(&va);
            goto fail;
        }
        message_init(&a, prefix, pa, la);
        message_init(&b, prefix, pb, lb);
        compress2(&a, &b);
        release(&va);
        release(&vb);
        message_digest(&a, dst + 32 * i);
        message_digest(&b, dst + 32 * (i + 1));
    }
    if (i < it.n) { /* an odd last one */
        Py_buffer va;
        const uint8_t *pa;
        size_t la;
        if (items_get(&it, i, &va, &pa, &la) < 0) goto fail;
        message_init(&a, prefix, pa, la);
        message_finish(&a, 0);
        release(&va);
        message_digest(&a, dst + 32 * i);
    }
    items_close(&it);
    return out;
fail:
    Py_XDECREF(out);
    items_close(&it);
    return NULL;
}

static PyObject *leaf_hashes(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    return hash_items("leaf_hashes", 0x00, args, nargs);
}

static PyObject *sha256(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    return hash_items("sha256", NO_PREFIX, args, nargs);
}

static PyObject *parents(PyObject *self, PyObject *arg) {
    Py_buffer level;
    (void)self;
    if (PyObject_GetBuffer(arg, &level, PyBUF_SIMPLE) < 0) return NULL;
    if (level.len % 32) {
        PyErr_Format(PyExc_ValueError, "a level of 32-byte hashes has %zd bytes", level.len);
        PyBuffer_Release(&level);
        return NULL;
    }
    Py_ssize_t pairs = level.len / 64;
    PyObject *out = PyBytes_FromStringAndSize(NULL, pairs * 32);
    if (out != NULL) {
        const uint8_t *src = level.buf;
        uint8_t *dst = (uint8_t *)PyBytes_AS_STRING(out);
        message a, b;
        Py_ssize_t i = 0;
        for (; i + 1 < pairs; i += 2) {
            message_init(&a, 0x01, src + 64 * i, 64);
            message_init(&b, 0x01, src + 64 * (i + 1), 64);
            compress2(&a, &b);
            message_digest(&a, dst + 32 * i);
            message_digest(&b, dst + 32 * (i + 1));
        }
        if (i < pairs) {
            message_init(&a, 0x01, src + 64 * i, 64);
            message_finish(&a, 0);
            message_digest(&a, dst + 32 * i);
        }
    }
    PyBuffer_Release(&level);
    return out;
}

/* The first occurrence of key (klen bytes) in [p, end), or NULL. For keys of two bytes or more,
 * sixteen candidate positions at a time: those where two bytes of the key match (SSE2, part of
 * x86-64 itself) are compared in full; memmem otherwise. The two bytes are the second and the
 * last but one for keys of four bytes or more (for ``"sha256":`` 's' and '6', rarer together
 * in JSON than the quote and the colon around every key), else the first and the last. */
static const uint8_t *find_key(const uint8_t *p, const uint8_t *end, const uint8_t *key,
                               size_t klen) {
    if ((size_t)(end - p) < klen) return NULL;
    if (klen < 2) return memmem(p, (size_t)(end - p), key, klen);
    const uint8_t *stop = end - klen + 1; /* where a match may start: [p, stop) */
    const size_t i = klen >= 4 ? 1 : 0, j = klen >= 4 ? klen - 2 : klen - 1;
    const __m128i first = _mm_set1_epi8((char)key[i]);
    const __m128i last = _mm_set1_epi8((char)key[j]);
    for (; p + 16 <= stop; p += 16) { /* reads p[i .. j + 15], all below end */
        const __m128i a = _mm_loadu_si128((const __m128i *)(p + i));
        const __m128i b = _mm_loadu_si128((const __m128i *)(p + j));
        unsigned mask = (unsigned)_mm_movemask_epi8(
            _mm_and_si128(_mm_cmpeq_epi8(a, first), _mm_cmpeq_epi8(b, last)));
        for (; mask; mask &= mask - 1) {
            const uint8_t *at = p + __builtin_ctz(mask);
            if (!memcmp(at, key, klen)) return at;
        }
    }
    for (; p < stop; p++)
        if (p[0] == key[0] && !memcmp(p + 1, key + 1, klen - 1)) return p;
    return NULL;
}

static PyObject *key_counts(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    items_t it;
    if (fast_args("key_counts", args, nargs, 2, &it) < 0) return NULL;
    Py_buffer key, value;
    if (PyObject_GetBuffer(args[1], &key, PyBUF_SIMPLE) < 0) {
        items_close(&it);
        return NULL;
    }
    if (PyObject_GetBuffer(args[2], &value, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&key);
        items_close(&it);
        return NULL;
    }
    PyObject *result = NULL;
    if (key.len == 0) {
        PyErr_SetString(PyExc_ValueError, "key_counts() needs a non-empty key");
        goto done;
    }
    Py_ssize_t keys = 0, followed = 0;
    for (Py_ssize_t i = 0; i < it.n; i++) {
        Py_buffer view;
        const uint8_t *p, *end;
        size_t len;
        if (items_get(&it, i, &view, &p, &len) < 0) goto done;
        end = p + len;
        while ((p = find_key(p, end, key.buf, (size_t)key.len)) != NULL) {
            p += key.len;
            keys++;
            if ((size_t)(end - p) >= (size_t)value.len && !memcmp(p, value.buf, value.len))
                followed++;
        }
        release(&view);
    }
    result = Py_BuildValue("(nn)", keys, followed);
done:
    PyBuffer_Release(&key);
    PyBuffer_Release(&value);
    items_close(&it);
    return result;
}

static PyObject *packed(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    items_t it;
    if (fast_args("packed", args, nargs, 1, &it) < 0) return NULL;
    Py_ssize_t size = PyLong_AsSsize_t(args[1]);
    if (size < 0) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "size must be >= 0");
        items_close(&it);
        return NULL;
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, it.n * size);
    if (out == NULL) goto fail;
    uint8_t *dst = (uint8_t *)PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < it.n; i++) {
        Py_buffer view;
        const uint8_t *p;
        size_t len;
        if (items_get(&it, i, &view, &p, &len) < 0) goto fail;
        if (len != (size_t)size) { /* not all of the size: None */
            release(&view);
            Py_DECREF(out);
            items_close(&it);
            Py_RETURN_NONE;
        }
        memcpy(dst + size * i, p, len);
        release(&view);
    }
    items_close(&it);
    return out;
fail:
    Py_XDECREF(out);
    items_close(&it);
    return NULL;
}

static PyMethodDef methods[] = {
    {"leaf_hashes", (PyCFunction)(void (*)(void))leaf_hashes, METH_FASTCALL,
     "leaf_hashes(datas, column=None) -> bytes: SHA-256(0x00 || data) of each, packed."},
    {"sha256", (PyCFunction)(void (*)(void))sha256, METH_FASTCALL,
     "sha256(datas, column=None) -> bytes: SHA-256 of each, packed."},
    {"parents", parents, METH_O,
     "parents(level) -> bytes: SHA-256(0x01 || left || right) of each pair of a "
     "packed level of 32-byte hashes, packed (an odd last hash is left out)."},
    {"key_counts", (PyCFunction)(void (*)(void))key_counts, METH_FASTCALL,
     "key_counts(datas, key, value, column=None) -> (int, int): occurrences of key in the "
     "items, and how many of them are followed by value."},
    {"packed", (PyCFunction)(void (*)(void))packed, METH_FASTCALL,
     "packed(items, size, column=None) -> bytes | None: the items back to back, or None if "
     "one of them is not size bytes long."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_speedups", "The hot loops of `ceasewatch verify`, in C.", -1,
    methods, NULL, NULL, NULL, NULL};

#endif /* SPEEDUPS_X86 */

PyMODINIT_FUNC PyInit__speedups(void) {
#ifdef SPEEDUPS_X86
    if (cpu_has_sha_ni()) return PyModule_Create(&module);
#endif
    /* without SHA-NI, OpenSSL's SHA-256 through hashlib is faster than plain C would be */
    PyErr_SetString(PyExc_ImportError, "this CPU has no SHA-NI: use the hashlib code");
    return NULL;
}
