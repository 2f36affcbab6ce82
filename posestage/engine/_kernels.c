/* posestage.engine._kernels: the compiled fast path of the PoseNet decoder and the input resize.
 *
 * Optional: setup.py builds it when a C compiler is there; without it posestage runs the numpy
 * code in decoding.py / engine.py, which stays the reference. Both give bit-identical results:
 *
 *   - float32 throughout, no fused multiply-add (-ffp-contract=off and the pragma below), in
 *     the operation order of decoding.py (docs/posenet-decoding.md, Appendix C);
 *   - maps are read straight from the interpreter's uint8 (or int8 / float32) buffers and
 *     dequantised per read, (q - zero_point) * scale, which is exactly decoding._table's value;
 *   - the sigmoid's exp is numpy's: the caller passes a buffer and a callable that runs
 *     np.exp on it in place. The C library's expf differs from numpy's float32 exp in the last
 *     bit on a good share of inputs, so this one step goes back to numpy. The 1 + e and 1 / x
 *     around it are plain IEEE float32 operations, identical on both sides.
 *
 * No numpy C API: arrays come in through the buffer protocol, so the extension builds against
 * Python's headers only and does not care which numpy is installed.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD != 0
#error "float arithmetic is not plain float32 here (x87?): posestage uses its numpy decoder"
#endif

/* No fused multiply-add, whatever flags this is built with (setup.py also passes
 * -ffp-contract=off): with FMA the decoder drifts from numpy's results (86 of the 99 parity
 * tests fail when built with -march=native -ffp-contract=fast and without this). */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#define K 17
#define NUM_MOVES (K - 1)
#define REFINEMENT_STEPS 5

enum { T_U8, T_I8, T_F32 };

typedef struct {
    const void *data;
    int type;
    float scale;
    int zero_point;
    Py_ssize_t rows, cols, channels;
} Map;

static inline float map_value(const Map *m, Py_ssize_t index)
{
    switch (m->type) {
    case T_U8:
        return (float)((int)((const uint8_t *)m->data)[index] - m->zero_point) * m->scale;
    case T_I8:
        return (float)((int)((const int8_t *)m->data)[index] - m->zero_point) * m->scale;
    default:
        return (((const float *)m->data)[index] - (float)m->zero_point) * m->scale;
    }
}

static inline float map_at(const Map *m, Py_ssize_t i, Py_ssize_t j, int c)
{
    return map_value(m, (i * m->cols + j) * m->channels + c);
}

/* The raw integer of a quantised map (uint8 or int8). */
static inline int raw_at(const Map *m, Py_ssize_t i, Py_ssize_t j, int c)
{
    Py_ssize_t index = (i * m->cols + j) * m->channels + c;
    if (m->type == T_U8)
        return ((const uint8_t *)m->data)[index];
    return ((const int8_t *)m->data)[index];
}

/* Bilinear sample at a clamped (y, x): (1-wy)((1-wx)a + wx b) + wy((1-wx)c + wx d). The
 * "next" corner past the last row or column reads 0, as the numpy decoder's padded table. */
static inline float bilinear(const Map *m, float y, float x, int c)
{
    float fy = floorf(y), fx = floorf(x);
    float wy = y - fy, wx = x - fx;
    float wy0 = 1.0f - wy, wx0 = 1.0f - wx;
    Py_ssize_t y0 = (Py_ssize_t)fy, x0 = (Py_ssize_t)fx;
    int has_x1 = x0 < m->cols - 1, has_y1 = y0 < m->rows - 1;
    float a = map_at(m, y0, x0, c);
    float b = has_x1 ? map_at(m, y0, x0 + 1, c) : 0.0f;
    float cc = has_y1 ? map_at(m, y0 + 1, x0, c) : 0.0f;
    float d = (has_x1 && has_y1) ? map_at(m, y0 + 1, x0 + 1, c) : 0.0f;
    float top = wx0 * a + wx * b;
    float bottom = wx0 * cc + wx * d;
    return wy0 * top + wy * bottom;
}

static inline float clamp(float v, float hi)
{
    if (v < 0.0f)
        v = 0.0f;
    if (v > hi)
        v = hi;
    return v;
}

/* Mean of 17 probabilities, summed largest first in float32; skip[k] leaves one out (adds 0). */
static float mean_probability(const float *prob, const unsigned char *skip)
{
    float sorted[K];
    int n = 0;
    for (int k = 0; k < K; k++) {
        if (skip && skip[k])
            continue;
        float v = prob[k];
        int i = n++;
        while (i > 0 && sorted[i - 1] < v) {
            sorted[i] = sorted[i - 1];
            i--;
        }
        sorted[i] = v;
    }
    float total = 0.0f;
    for (int i = 0; i < n; i++)
        total += sorted[i];
    return total / (float)K;
}

typedef struct {
    float value; /* the cell's logit: the rank */
    float y, x;  /* refined root position, grid units */
    int k;
} Candidate;

/* Upstream's binary max-heap (libstdc++ std::priority_queue), Appendix B: the order in which
 * it pops candidates pushed in scan order. Writes candidate indices into order. */
static void heap_order(const Candidate *c, Py_ssize_t n, Py_ssize_t *heap, Py_ssize_t *order)
{
    Py_ssize_t size = 0;
    for (Py_ssize_t item = 0; item < n; item++) {
        float v = c[item].value;
        Py_ssize_t h = size++;
        while (h > 0 && c[heap[(h - 1) / 2]].value < v) {
            heap[h] = heap[(h - 1) / 2];
            h = (h - 1) / 2;
        }
        heap[h] = item;
    }
    Py_ssize_t out = 0;
    while (size > 0) {
        order[out++] = heap[0];
        Py_ssize_t last = heap[--size];
        Py_ssize_t len = size;
        if (len == 0)
            break;
        Py_ssize_t h = 0, ch = 0;
        while (ch < (len - 1) / 2) {
            ch = 2 * ch + 2;
            if (c[heap[ch]].value < c[heap[ch - 1]].value)
                ch--;
            heap[h] = heap[ch];
            h = ch;
        }
        if (len % 2 == 0 && ch == (len - 2) / 2) {
            ch = 2 * ch + 2;
            heap[h] = heap[ch - 1];
            h = ch - 1;
        }
        float v = c[last].value;
        while (h > 0 && c[heap[(h - 1) / 2]].value < v) {
            heap[h] = heap[(h - 1) / 2];
            h = (h - 1) / 2;
        }
        heap[h] = last;
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Buffers */

static int map_type(const char *format, int *type)
{
    if (format == NULL) {
        *type = T_U8;
        return 0;
    }
    if (*format == '<' || *format == '=' || *format == '@')
        format++;
    if (strcmp(format, "B") == 0)
        *type = T_U8;
    else if (strcmp(format, "b") == 0)
        *type = T_I8;
    else if (strcmp(format, "f") == 0)
        *type = T_F32;
    else
        return -1;
    return 0;
}

static int get_map(PyObject *obj, Py_buffer *view, Map *map, Py_ssize_t channels, const char *name)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return -1;
    if (view->ndim != 3 || view->shape[2] != channels || map_type(view->format, &map->type) < 0) {
        PyErr_Format(PyExc_ValueError,
                     "%s: expected a C-contiguous uint8, int8 or float32 array (rows, cols, %zd)",
                     name, channels);
        PyBuffer_Release(view);
        return -1;
    }
    map->data = view->buf;
    map->rows = view->shape[0];
    map->cols = view->shape[1];
    map->channels = channels;
    return 0;
}

static int get_output(PyObject *obj, Py_buffer *view, Py_ssize_t length, const char *name)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE | PyBUF_FORMAT) < 0)
        return -1;
    int type;
    if (map_type(view->format, &type) < 0 || type != T_F32 ||
        view->len != length * (Py_ssize_t)sizeof(float)) {
        PyErr_Format(PyExc_ValueError, "%s: expected a writable float32 buffer of %zd values",
                     name, length);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* decode */

typedef struct {
    float xy[K][2]; /* grid (y, x) */
    float prob[K];
    float q0, q;
} Pose;

typedef struct {
    Map z, s, m;
    const int32_t *tree; /* [root][move][from, to, mid dy channel, mid dx channel] */
    float theta, tau, r2, stride;
    Py_ssize_t max_poses;
    float *exp_buffer;
    PyObject *exp_fn;
} Decoder;

/* Grow one skeleton from root keypoint k at (y, x); fill pose->xy and pose->prob. */
static int grow(const Decoder *d, int k, float y, float x, Pose *pose)
{
    float lim_y = (float)(d->z.rows - 1), lim_x = (float)(d->z.cols - 1);
    pose->xy[k][0] = y;
    pose->xy[k][1] = x;
    const int32_t *move = d->tree + (Py_ssize_t)k * NUM_MOVES * 4;
    for (int n = 0; n < NUM_MOVES; n++, move += 4) {
        int from = move[0], to = move[1];
        float py = pose->xy[from][0], px = pose->xy[from][1];
        float dy = bilinear(&d->m, py, px, move[2]);
        float dx = bilinear(&d->m, py, px, move[3]);
        py = clamp(py + dy, lim_y);
        px = clamp(px + dx, lim_x);
        for (int step = 0; step < REFINEMENT_STEPS; step++) {
            dy = bilinear(&d->s, py, px, to);
            dx = bilinear(&d->s, py, px, K + to);
            py = clamp(py + dy, lim_y);
            px = clamp(px + dx, lim_x);
        }
        pose->xy[to][0] = py;
        pose->xy[to][1] = px;
    }
    for (int q = 0; q < K; q++)
        d->exp_buffer[q] = -bilinear(&d->z, pose->xy[q][0], pose->xy[q][1], q);
    PyObject *done = PyObject_CallNoArgs(d->exp_fn); /* numpy's exp, in place */
    if (done == NULL)
        return -1;
    Py_DECREF(done);
    for (int q = 0; q < K; q++)
        pose->prob[q] = 1.0f / (1.0f + d->exp_buffer[q]);
    pose->q0 = mean_probability(pose->prob, NULL);
    return 0;
}

static inline float dist2(const float *a, const float *b)
{
    float dy = a[0] - b[0], dx = a[1] - b[1];
    return dy * dy + dx * dx;
}

/* Stable sort of pose indices by a score, highest first. */
static void sort_desc(Py_ssize_t *idx, Py_ssize_t n, const Pose *poses, int by_q)
{
    for (Py_ssize_t i = 1; i < n; i++) {
        Py_ssize_t item = idx[i];
        float v = by_q ? poses[item].q : poses[item].q0;
        Py_ssize_t j = i;
        while (j > 0 && (by_q ? poses[idx[j - 1]].q : poses[idx[j - 1]].q0) < v) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = item;
    }
}

/* Steps 2-7 of the spec; returns the number of poses written, or -1 with an exception set. */
static Py_ssize_t run_decoder(const Decoder *d, float *out_xy, float *out_prob, float *out_score)
{
    const Map *z = &d->z, *s = &d->s;
    Py_ssize_t rows = z->rows, cols = z->cols;
    float lim_y = (float)(rows - 1), lim_x = (float)(cols - 1);
    Py_ssize_t capacity = 64, n = 0, result = -1;
    Candidate *cand = PyMem_Malloc(capacity * sizeof(Candidate));
    Py_ssize_t *heap = NULL, *order = NULL, *idx = NULL;
    Pose *acc = PyMem_Malloc((d->max_poses + 1) * sizeof(Pose));
    if (cand == NULL || acc == NULL)
        goto nomemory;

    /* Step 2: local maxima (3x3, cut at the border) at or above theta, in scan order.
     * Quantised heatmaps with a positive scale are compared as integers: (q - zp) * scale is
     * strictly increasing in q there (255 steps are far apart in float32), so q >= q_min and
     * "no neighbour's q is greater" decide exactly what the float comparisons would. */
    int quantised = z->type != T_F32 && z->scale > 0.0f;
    int q_min = 256;
    if (quantised) {
        int lo = z->type == T_U8 ? 0 : -128;
        for (int q = lo; q < lo + 256; q++)
            if ((float)(q - z->zero_point) * z->scale >= d->theta) {
                q_min = q;
                break;
            }
    }
    for (Py_ssize_t i = 0; i < rows; i++) {
        Py_ssize_t i0 = i > 0 ? i - 1 : 0, i1 = i < rows - 1 ? i + 1 : i;
        for (Py_ssize_t j = 0; j < cols; j++) {
            Py_ssize_t j0 = j > 0 ? j - 1 : 0, j1 = j < cols - 1 ? j + 1 : j;
            for (int k = 0; k < K; k++) {
                int is_max = 1;
                if (quantised) {
                    int q = raw_at(z, i, j, k);
                    if (q < q_min)
                        continue;
                    for (Py_ssize_t ii = i0; ii <= i1 && is_max; ii++)
                        for (Py_ssize_t jj = j0; jj <= j1; jj++)
                            if (raw_at(z, ii, jj, k) > q) {
                                is_max = 0;
                                break;
                            }
                } else {
                    float v = map_at(z, i, j, k);
                    if (!(v >= d->theta))
                        continue;
                    for (Py_ssize_t ii = i0; ii <= i1 && is_max; ii++)
                        for (Py_ssize_t jj = j0; jj <= j1; jj++)
                            if (map_at(z, ii, jj, k) > v) {
                                is_max = 0;
                                break;
                            }
                }
                if (!is_max)
                    continue;
                if (n == capacity) {
                    capacity *= 2;
                    Candidate *grown = PyMem_Realloc(cand, capacity * sizeof(Candidate));
                    if (grown == NULL)
                        goto nomemory;
                    cand = grown;
                }
                Candidate *c = &cand[n++];
                c->value = map_at(z, i, j, k);
                c->k = k;
                c->y = clamp((float)i + map_at(s, i, j, k), lim_y);
                c->x = clamp((float)j + map_at(s, i, j, K + k), lim_x);
            }
        }
    }
    if (n == 0) {
        result = 0;
        goto done;
    }

    /* Step 3: the upstream heap's order. */
    heap = PyMem_Malloc(n * sizeof(Py_ssize_t));
    order = PyMem_Malloc(n * sizeof(Py_ssize_t));
    if (heap == NULL || order == NULL)
        goto nomemory;
    heap_order(cand, n, heap, order);

    /* Step 4: greedy extraction. */
    Py_ssize_t n_acc = 0;
    for (Py_ssize_t o = 0; o < n && n_acc < d->max_poses; o++) {
        const Candidate *c = &cand[order[o]];
        float root[2] = {c->y, c->x};
        int suppressed = 0;
        for (Py_ssize_t a = 0; a < n_acc && !suppressed; a++)
            suppressed = dist2(acc[a].xy[c->k], root) <= d->r2;
        if (suppressed)
            continue;
        if (grow(d, c->k, c->y, c->x, &acc[n_acc]) < 0)
            goto done;
        if (!(acc[n_acc].q0 < d->tau))
            n_acc++;
    }
    if (n_acc == 0) {
        result = 0;
        goto done;
    }

    /* Step 6: soft keypoint suppression against every pose ranked before, by q0. */
    idx = PyMem_Malloc(n_acc * sizeof(Py_ssize_t));
    if (idx == NULL)
        goto nomemory;
    for (Py_ssize_t a = 0; a < n_acc; a++)
        idx[a] = a;
    sort_desc(idx, n_acc, acc, 0);
    Pose *ranked = &acc[0];
    /* Re-order acc into q0 order (through the spare slot), so idx can be reused for q. */
    {
        Pose *tmp = PyMem_Malloc(n_acc * sizeof(Pose));
        if (tmp == NULL)
            goto nomemory;
        for (Py_ssize_t a = 0; a < n_acc; a++)
            tmp[a] = acc[idx[a]];
        memcpy(acc, tmp, n_acc * sizeof(Pose));
        PyMem_Free(tmp);
    }
    for (Py_ssize_t t = 0; t < n_acc; t++) {
        unsigned char overlapped[K];
        for (int k = 0; k < K; k++) {
            overlapped[k] = 0;
            for (Py_ssize_t e = 0; e < t; e++)
                if (dist2(ranked[t].xy[k], ranked[e].xy[k]) <= d->r2) {
                    overlapped[k] = 1;
                    break;
                }
        }
        ranked[t].q = mean_probability(ranked[t].prob, overlapped);
        idx[t] = t;
    }

    /* Step 7: best first, stop at the first pose below tau. */
    sort_desc(idx, n_acc, ranked, 1);
    Py_ssize_t kept = 0;
    for (; kept < n_acc; kept++) {
        const Pose *p = &ranked[idx[kept]];
        if (p->q < d->tau)
            break;
        for (int k = 0; k < K; k++) {
            out_xy[(kept * K + k) * 2] = p->xy[k][1] * d->stride;
            out_xy[(kept * K + k) * 2 + 1] = p->xy[k][0] * d->stride;
            out_prob[kept * K + k] = p->prob[k];
        }
        out_score[kept] = p->q;
    }
    result = kept;
    goto done;

nomemory:
    PyErr_NoMemory();
done:
    PyMem_Free(cand);
    PyMem_Free(heap);
    PyMem_Free(order);
    PyMem_Free(idx);
    PyMem_Free(acc);
    return result;
}

PyDoc_STRVAR(decode_doc,
"decode(heatmaps, short, mid, scales, zero_points, tree, theta, tau, r2, stride, max_poses,\n"
"       exp_buffer, exp_fn, out_xy, out_prob, out_score) -> int\n\n"
"Decode PoseNet maps (uint8/int8/float32, C-contiguous (rows, cols, 17/34/64)); the poses are\n"
"written into the float32 outputs ((max_poses, 17, 2) input pixels (x, y), (max_poses, 17),\n"
"(max_poses,)) and their number returned. scales/zero_points: (heatmap, short, mid), the\n"
"offsets' 1/stride already folded in. tree: int32 (17, 16, 4) moves per root keypoint.\n"
"exp_fn(): replaces the 17 float32 values in exp_buffer by their exp (numpy's).");

static PyObject *py_decode(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *oz, *os, *om, *otree, *obuf, *fn, *oxy, *oprob, *oscore;
    float scales[3];
    int zps[3];
    Py_ssize_t max_poses;
    Decoder d;
    if (!PyArg_ParseTuple(args, "OOO(fff)(iii)OffffnOOOOO", &oz, &os, &om, &scales[0],
                          &scales[1], &scales[2], &zps[0], &zps[1], &zps[2], &otree, &d.theta,
                          &d.tau, &d.r2, &d.stride, &max_poses, &obuf, &fn, &oxy, &oprob,
                          &oscore))
        return NULL;
    if (max_poses < 1) {
        PyErr_SetString(PyExc_ValueError, "max_poses must be at least 1");
        return NULL;
    }
    if (!PyCallable_Check(fn)) {
        PyErr_SetString(PyExc_TypeError, "exp_fn must be callable");
        return NULL;
    }
    d.max_poses = max_poses;
    d.exp_fn = fn;
    Py_buffer vz, vs, vm, vtree, vbuf, vxy, vprob, vscore;
    PyObject *result = NULL;
    int got = 0;
    if (get_map(oz, &vz, &d.z, 17, "heatmaps") < 0)
        goto out;
    got++;
    if (get_map(os, &vs, &d.s, 34, "short_offsets") < 0)
        goto out;
    got++;
    if (get_map(om, &vm, &d.m, 64, "mid_offsets") < 0)
        goto out;
    got++;
    if (PyObject_GetBuffer(otree, &vtree, PyBUF_C_CONTIGUOUS) < 0)
        goto out;
    got++;
    if (vtree.len != K * NUM_MOVES * 4 * (Py_ssize_t)sizeof(int32_t)) {
        PyErr_SetString(PyExc_ValueError, "tree: expected int32 (17, 16, 4)");
        goto out;
    }
    if (get_output(obuf, &vbuf, K, "exp_buffer") < 0)
        goto out;
    got++;
    if (get_output(oxy, &vxy, max_poses * K * 2, "out_xy") < 0)
        goto out;
    got++;
    if (get_output(oprob, &vprob, max_poses * K, "out_prob") < 0)
        goto out;
    got++;
    if (get_output(oscore, &vscore, max_poses, "out_score") < 0)
        goto out;
    got++;
    if (d.s.rows != d.z.rows || d.m.rows != d.z.rows || d.s.cols != d.z.cols ||
        d.m.cols != d.z.cols || d.z.rows < 1 || d.z.cols < 1) {
        PyErr_SetString(PyExc_ValueError, "the three maps must have the same rows and columns");
        goto out;
    }
    Map *maps[3] = {&d.z, &d.s, &d.m};
    for (int i = 0; i < 3; i++) {
        maps[i]->scale = scales[i];
        maps[i]->zero_point = zps[i];
    }
    const int32_t *tree = vtree.buf;
    for (Py_ssize_t i = 0; i < K * NUM_MOVES; i++) {
        const int32_t *mv = tree + i * 4;
        if (mv[0] < 0 || mv[0] >= K || mv[1] < 0 || mv[1] >= K || mv[2] < 0 || mv[2] >= 64 ||
            mv[3] < 0 || mv[3] >= 64) {
            PyErr_SetString(PyExc_ValueError, "tree: move out of range");
            goto out;
        }
    }
    d.tree = tree;
    d.exp_buffer = vbuf.buf;
    Py_ssize_t count = run_decoder(&d, vxy.buf, vprob.buf, vscore.buf);
    if (count >= 0)
        result = PyLong_FromSsize_t(count);
out:
    if (got > 7)
        PyBuffer_Release(&vscore);
    if (got > 6)
        PyBuffer_Release(&vprob);
    if (got > 5)
        PyBuffer_Release(&vxy);
    if (got > 4)
        PyBuffer_Release(&vbuf);
    if (got > 3)
        PyBuffer_Release(&vtree);
    if (got > 2)
        PyBuffer_Release(&vm);
    if (got > 1)
        PyBuffer_Release(&vs);
    if (got > 0)
        PyBuffer_Release(&vz);
    return result;
}

/* ---------------------------------------------------------------------------------------- */
/* resize */

PyDoc_STRVAR(resize_doc,
"resize_nearest(image, out, rows, cols, row_span, col_span)\n\n"
"out[r, c] = image[rows[r], cols[c]] for r in row_span = (r0, r1), c in col_span = (c0, c1);\n"
"0 elsewhere. image: uint8 (H, W, 3), any strides; out: C-contiguous uint8 (h, w, 3);\n"
"rows/cols: int32 source indices, already clipped into the image.");

static int is_int32(const Py_buffer *view)
{
    const char *f = view->format ? view->format : "B";
    if (*f == '<' || *f == '=' || *f == '@')
        f++;
    return view->itemsize == 4 && (strcmp(f, "i") == 0 || strcmp(f, "l") == 0);
}

static PyObject *py_resize(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *oimg, *oout, *orows, *ocols;
    Py_ssize_t r0, r1, c0, c1;
    if (!PyArg_ParseTuple(args, "OOOO(nn)(nn)", &oimg, &oout, &orows, &ocols, &r0, &r1, &c0, &c1))
        return NULL;
    Py_buffer img, out, rows, cols;
    int got = 0;
    PyObject *result = NULL;
    if (PyObject_GetBuffer(oimg, &img, PyBUF_RECORDS_RO) < 0)
        goto done;
    got++;
    if (PyObject_GetBuffer(oout, &out, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE | PyBUF_FORMAT) < 0)
        goto done;
    got++;
    if (PyObject_GetBuffer(orows, &rows, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        goto done;
    got++;
    if (PyObject_GetBuffer(ocols, &cols, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        goto done;
    got++;
    int t_img, t_out;
    if (img.ndim != 3 || img.shape[2] != 3 || map_type(img.format, &t_img) < 0 || t_img != T_U8 ||
        out.ndim != 3 || out.shape[2] != 3 || map_type(out.format, &t_out) < 0 ||
        t_out != T_U8) {
        PyErr_SetString(PyExc_ValueError, "resize_nearest: image and out must be uint8 (H, W, 3)");
        goto done;
    }
    Py_ssize_t h = out.shape[0], w = out.shape[1];
    if (!is_int32(&rows) || !is_int32(&cols) || rows.len != h * 4 || cols.len != w * 4) {
        PyErr_SetString(PyExc_ValueError, "resize_nearest: rows/cols must be int32 (h,) / (w,)");
        goto done;
    }
    r0 = r0 < 0 ? 0 : r0 > h ? h : r0;
    r1 = r1 < r0 ? r0 : r1 > h ? h : r1;
    c0 = c0 < 0 ? 0 : c0 > w ? w : c0;
    c1 = c1 < c0 ? c0 : c1 > w ? w : c1;
    const int32_t *ri = rows.buf, *ci = cols.buf;
    for (Py_ssize_t r = r0; r < r1; r++)
        if (ri[r] < 0 || ri[r] >= img.shape[0])
            goto range;
    for (Py_ssize_t c = c0; c < c1; c++)
        if (ci[c] < 0 || ci[c] >= img.shape[1])
            goto range;
    const char *src = img.buf;
    Py_ssize_t rs = img.strides[0], cs = img.strides[1], ks = img.strides[2];
    uint8_t *dst = out.buf;
    Py_ssize_t row_bytes = w * 3;
    int packed = ks == 1 && cs == 3 && rs == img.shape[1] * 3; /* C-contiguous RGB */
    Py_ssize_t *offset = NULL; /* byte offset of each output column's source pixel */
    if (packed) {
        offset = PyMem_Malloc((w > 0 ? w : 1) * sizeof(Py_ssize_t));
        if (offset == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        for (Py_ssize_t c = c0; c < c1; c++)
            offset[c] = (Py_ssize_t)ci[c] * 3;
    }
    if (r0 > 0)
        memset(dst, 0, r0 * row_bytes);
    if (r1 < h)
        memset(dst + r1 * row_bytes, 0, (h - r1) * row_bytes);
    for (Py_ssize_t r = r0; r < r1; r++) {
        const char *srow = src + ri[r] * rs;
        uint8_t *o = dst + r * row_bytes;
        if (c0 > 0)
            memset(o, 0, c0 * 3);
        if (c1 < w)
            memset(o + c1 * 3, 0, (w - c1) * 3);
        if (packed && c1 > c0) {
            /* 4-byte loads and stores, four pixels a step (each store's 4th byte is the next
             * pixel's, written over by it). The span's last pixel is copied as 3 bytes, and
             * so is the whole of the image's last row (a 4-byte load there could read past
             * the image's last byte). */
            Py_ssize_t n = ri[r] == img.shape[0] - 1 ? c0 : c1 - 1, c = c0;
            uint8_t *oc = o + c0 * 3;
            for (; c + 4 <= n; c += 4, oc += 12) {
                uint32_t v0, v1, v2, v3;
                memcpy(&v0, srow + offset[c], 4);
                memcpy(&v1, srow + offset[c + 1], 4);
                memcpy(&v2, srow + offset[c + 2], 4);
                memcpy(&v3, srow + offset[c + 3], 4);
                memcpy(oc, &v0, 4);
                memcpy(oc + 3, &v1, 4);
                memcpy(oc + 6, &v2, 4);
                memcpy(oc + 9, &v3, 4);
            }
            for (; c < n; c++, oc += 3) {
                uint32_t v;
                memcpy(&v, srow + offset[c], 4);
                memcpy(oc, &v, 4);
            }
            for (; c < c1; c++, oc += 3)
                memcpy(oc, srow + offset[c], 3);
        } else if (ks == 1) {
            for (Py_ssize_t c = c0; c < c1; c++) {
                const char *p = srow + ci[c] * cs;
                memcpy(o + c * 3, p, 3);
            }
        } else {
            for (Py_ssize_t c = c0; c < c1; c++) {
                const char *p = srow + ci[c] * cs;
                o[c * 3] = (uint8_t)p[0];
                o[c * 3 + 1] = (uint8_t)p[ks];
                o[c * 3 + 2] = (uint8_t)p[2 * ks];
            }
        }
    }
    PyMem_Free(offset);
    Py_INCREF(Py_None);
    result = Py_None;
    goto done;
range:
    PyErr_SetString(PyExc_IndexError, "resize_nearest: source index out of range");
done:
    if (got > 3)
        PyBuffer_Release(&cols);
    if (got > 2)
        PyBuffer_Release(&rows);
    if (got > 1)
        PyBuffer_Release(&out);
    if (got > 0)
        PyBuffer_Release(&img);
    return result;
}

static PyMethodDef methods[] = {
    {"decode", py_decode, METH_VARARGS, decode_doc},
    {"resize_nearest", py_resize, METH_VARARGS, resize_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "posestage.engine._kernels",
    "Compiled fast paths of the PoseNet decoder and the input resize (see _kernels.c).", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__kernels(void)
{
    return PyModule_Create(&module);
}
