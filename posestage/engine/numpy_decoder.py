"""The PoseNet multi-pose decoder in numpy: the reference, and the fallback without a C compiler.

What Coral's ``PosenetDecoderOp`` computes, written from ``docs/posenet-decoding.md``: local
maxima of the heatmap become root candidates; from the strongest down, each root not already
covered by an accepted pose grows a 17-keypoint skeleton along the mid-range displacements,
refined by the short-range offsets; accepted poses are re-scored with a soft keypoint
suppression, sorted and thresholded. Float32 throughout, in the operator's order; tied root
candidates ordered by the same binary heap.

Speed: nothing loops over grid cells. Root candidates come from a separable 3x3 max filter;
skeletons are grown for a whole chunk of candidates at once, one tree level at a time (all
moves of a level, for all candidates, in one gather), speculatively — growing does not depend
on the poses already accepted, so the greedy acceptance afterwards is a cheap sequential pass.
:mod:`posestage.engine.decoding` is the entry point and picks this kernel or the C one.
"""

from __future__ import annotations

import math
import threading
from functools import lru_cache

import numpy as np

from posestage.model.keypoints import NUM_KEYPOINTS

__all__ = [
    "PARENT_CHILD",
    "decode_maps",
    "dequantized",
    "empty_result",
    "logit_threshold",
    "tree_levels",
]

F32 = np.float32
K = NUM_KEYPOINTS
REFINEMENT_STEPS = 5
# Candidates grown together. Real images give 20-70 candidates; noise can give thousands,
# so grow in chunks and skip chunk members already suppressed before growing them.
CHUNK = 64

# The decoder's skeleton tree, rooted at the nose: edge e joins parent PARENT_CHILD[e][0] to
# child PARENT_CHILD[e][1]. Mid-range channels: forward (parent→child) dy=e, dx=16+e;
# backward (child→parent) dy=32+e, dx=48+e.
PARENT_CHILD: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 3), (0, 2), (2, 4), (0, 5), (5, 7), (7, 9), (5, 11),
    (11, 13), (13, 15), (0, 6), (6, 8), (8, 10), (6, 12), (12, 14), (14, 16),
)  # fmt: skip
NUM_EDGES = len(PARENT_CHILD)
KEYPOINT_CHANNELS = np.arange(NUM_KEYPOINTS)[None, :]
ONE, ZERO = F32(1), F32(0)


def empty_result():
    return np.zeros((0, K, 2), F32), np.zeros((0, K), F32), np.zeros((0,), F32)


_buffers = threading.local()


def _table(q: np.ndarray, scale: np.float32, zero_point: int) -> np.ndarray:
    """``(q - zero_point) * scale`` in float32, on a grid with one extra (zero) row and column.

    The padding keeps a bilinear sample's "next" corner in range at the last row or column,
    where it is only ever read with weight exactly 0. The table is a per-thread buffer reused
    from frame to frame (decoding runs at camera rate); nothing returned refers to it.
    """
    rows, cols, channels = q.shape
    shape = (rows + 1, cols + 1, channels)
    cache = _buffers.__dict__
    table = cache.get(channels)
    if table is None or table.shape != shape:
        table = cache[channels] = np.empty(shape, F32)
    table[rows] = 0
    table[:rows, cols] = 0
    inner = table[:rows, :cols]
    if q.dtype == np.uint8 or q.dtype == np.int8:
        np.subtract(q, zero_point, out=inner, dtype=F32)
    else:
        inner[...] = q
        if zero_point:
            inner -= F32(zero_point)
    if scale != 1:
        inner *= scale
    return table


def logit_threshold(score_threshold: float) -> np.float32:
    tau = float(F32(score_threshold))
    return F32(-math.log(1.0 / (tau + 1e-6) - 1.0))


def decode_maps(maps, stride, max_poses, score_threshold, nms_radius, legacy_left_eye):
    tau = F32(score_threshold)
    theta = logit_threshold(score_threshold)
    radius = F32(nms_radius) / F32(stride)
    r2 = radius * radius
    empty = empty_result()
    if max_poses <= 0:
        return empty

    # Step 2: root candidates — local maxima (3x3, cut at the border) at or above θ.
    z, s = maps.heatmaps, maps.short_offsets
    ci, cj, ck = np.nonzero(_local_maxima(z, theta))  # scan order: row, column, keypoint
    if len(ci) == 0:
        return empty
    rank = z[ci, cj, ck]
    # Step 3: candidate order, exactly as upstream's heap pops ties.
    order = np.asarray(_heap_order(rank.tolist()), dtype=np.intp)
    ci, cj, ck = ci[order], cj[order], ck[order]
    roots = np.empty((2, len(ci)), F32)  # grid (y, x)
    roots[0] = ci.astype(F32) + s[ci, cj, ck]
    roots[1] = cj.astype(F32) + s[ci, cj, K + ck]
    maps.clamp(roots)
    tables = _growth_tables(legacy_left_eye)

    # Step 4: greedy extraction, growing a chunk of candidates at a time.
    acc_xy = np.empty((max_poses, K, 2), F32)  # grid (y, x)
    acc_prob = np.empty((max_poses, K), F32)
    acc_q0 = np.empty((max_poses,), F32)
    n_acc = 0
    for start in range(0, len(ck), CHUNK):
        k, p = ck[start : start + CHUNK], roots[:, start : start + CHUNK]
        p_yx = p.T
        # Candidates already suppressed by accepted poses need no growing.
        suppressed = _near(acc_xy[:n_acc, k, :], p_yx, r2).any(axis=0)
        live = np.flatnonzero(~suppressed)
        if len(live) == 0:
            continue
        k, p_yx, suppressed = k[live], p_yx[live], suppressed[live]
        xy, prob, q0 = _grow(maps, tables, k, p[:, live])
        for n in range(len(live)):
            if suppressed[n] or q0[n] < tau:
                continue  # suppressed, or too weak: a dropped pose leaves no trace
            acc_xy[n_acc], acc_prob[n_acc], acc_q0[n_acc] = xy[n], prob[n], q0[n]
            n_acc += 1
            if n_acc == max_poses:
                break
            # Later candidates of this chunk near this pose's keypoint of their type.
            rest = slice(n + 1, None)
            suppressed[rest] |= _near(xy[n][k[rest]][None], p_yx[rest], r2)[0]
        if n_acc == max_poses:
            break
    if n_acc == 0:
        return empty
    acc_xy, acc_prob, acc_q0 = acc_xy[:n_acc], acc_prob[:n_acc], acc_q0[:n_acc]

    # Step 6: soft keypoint suppression against every pose ranked before (by q0).
    by_q0 = np.argsort(-acc_q0, kind="stable")
    xy, prob = acc_xy[by_q0], acc_prob[by_q0]
    diff = xy[None, :, :, :] - xy[:, None, :, :]  # [earlier, this, k, (y, x)]
    d2 = diff[..., 0] * diff[..., 0] + diff[..., 1] * diff[..., 1]
    earlier = np.tri(n_acc, n_acc, -1, dtype=bool).T  # earlier[e, t]: e ranks before t
    overlapped = ((d2 <= r2) & earlier[:, :, None]).any(axis=0)
    q = _mean_probability(np.where(overlapped, F32(0), prob))

    # Step 7: best first, stop at the first pose below τ.
    by_q = np.argsort(-q, kind="stable")
    keep = by_q[: int(np.argmax(q[by_q] < tau)) if (q < tau).any() else n_acc]
    keypoints = xy[keep][:, :, ::-1] * F32(stride)  # (x, y) input pixels
    return np.ascontiguousarray(keypoints), prob[keep], q[keep]


def _local_maxima(z: np.ndarray, theta: np.float32) -> np.ndarray:
    """Cells whose logit is >= θ and not below any 3x3 neighbour in the same channel."""
    best = z.copy()
    np.maximum(best[1:], z[:-1], out=best[1:])
    np.maximum(best[:-1], z[1:], out=best[:-1])
    rows_max = best.copy()
    np.maximum(best[:, 1:], rows_max[:, :-1], out=best[:, 1:])
    np.maximum(best[:, :-1], rows_max[:, 1:], out=best[:, :-1])
    return (z >= theta) & (z >= best)


def _near(keypoints: np.ndarray, points: np.ndarray, r2: np.float32) -> np.ndarray:
    """``keypoints`` (P, N, 2) vs ``points`` (N, 2): (P, N) squared distance <= r2."""
    d = keypoints - points
    return d[..., 0] * d[..., 0] + d[..., 1] * d[..., 1] <= r2


def _mean_probability(prob: np.ndarray) -> np.ndarray:
    """Row means of (N, 17) float32 probabilities, summed largest first in float32."""
    ordered = -np.sort(-prob, axis=1)
    return np.cumsum(ordered, axis=1, dtype=F32)[:, -1] / F32(K)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return F32(1) / (F32(1) + np.exp(-x))


class _Maps:
    """The three dequantised maps (padded tables from :func:`_table`), sampled bilinearly.

    Positions are held as (2, N, M) float32 arrays — y then x planes — so the (dy, dx) a move
    samples comes back in the same layout and every bilinear weight multiplies whole planes.
    """

    def __init__(self, z: np.ndarray, s: np.ndarray, m: np.ndarray):
        rows, cols = z.shape[0] - 1, z.shape[1] - 1
        self.heatmaps, self.short_offsets = z[:rows, :cols], s[:rows, :cols]
        self.z, self.s, self.m = (self._sampler(t) for t in (z, s, m))
        self.lim = np.array([rows - 1, cols - 1], F32).reshape(2, 1, 1)

    @staticmethod
    def _sampler(table: np.ndarray):
        channels = table.shape[2]
        row_step = table.shape[1] * channels
        # Offsets of the 2x2 corners from a cell's first value, [column x0/x1][row y0/y1].
        corners = np.array([[0, row_step], [channels, row_step + channels]], np.intp)
        return table.ravel(), np.array([row_step, channels], F32), corners

    @staticmethod
    def gather_index(sampler, channels: np.ndarray) -> np.ndarray:
        """Offsets of the 2x2 corners of ``channels`` (..., N, M) from a cell's first value."""
        return sampler[2].reshape((2, 2) + (1,) * channels.ndim) + channels

    @staticmethod
    def sample(sampler, pos: np.ndarray, index: np.ndarray) -> np.ndarray:
        """Bilinear samples at positions ``pos`` (2, N, M), in upstream's operation order:
        ``(1-wy)·((1-wx)·a + wx·b) + wy·((1-wx)·c + wx·d)``, all in float32.

        ``index`` comes from :meth:`gather_index`: (2, 2, 2, N, M) for (dy, dx) channel pairs,
        giving (2, N, M), or (2, 2, N, M) for one channel, giving (N, M). Positions are already
        clamped into the grid.
        """
        flat, steps, _ = sampler
        base = np.floor(pos)
        w1 = pos - base
        w0 = ONE - w1
        # row * row_step + column * channels: exact in float32 (small integers)
        cell = np.dot(steps, base.reshape(2, -1)).astype(np.intp).reshape(pos.shape[1:])
        v = flat[cell + index]  # [column x0/x1][row y0/y1]
        rows = w0[1] * v[0] + w1[1] * v[1]  # along x, on rows y0 and y1
        return w0[0] * rows[0] + w1[0] * rows[1]

    def clamp(self, pos: np.ndarray) -> np.ndarray:
        """Clamp positions (2, N, M) or (2, N) into the grid, in place."""
        np.maximum(pos, ZERO, out=pos)
        np.minimum(pos, self.lim if pos.ndim == 3 else self.lim[..., 0], out=pos)
        return pos


def _grow(maps: _Maps, tables, kinds: np.ndarray, roots: np.ndarray):
    """Grow one skeleton from each root candidate, all at once, a tree level at a time.

    ``roots`` is (2, N) grid (y, x). Returns grid positions (N, 17, 2) as (y, x), keypoint
    probabilities (N, 17) and the initial instance scores q0 (N,).
    """
    n = len(kinds)
    slots = K + 1  # slot 17 takes the padding moves
    pos = np.zeros((2, n * slots), F32)  # y and x planes, [candidate, keypoint] flattened
    first = (np.arange(n) * slots)[:, None]
    pos[:, first[:, 0] + kinds] = roots
    for parent, child, mid_channels, short_channels in tables[: int(_DEPTH[kinds].max())]:
        p = pos[:, first + parent[kinds]]  # (2, N, M)
        p += maps.sample(maps.m, p, maps.gather_index(maps.m, mid_channels[:, kinds]))
        maps.clamp(p)
        index = maps.gather_index(maps.s, short_channels[:, kinds])
        for _ in range(REFINEMENT_STEPS):
            p += maps.sample(maps.s, p, index)
            maps.clamp(p)
        pos[:, first + child[kinds]] = p
    pos = pos.reshape(2, n, slots)[:, :, :K]
    prob = _sigmoid(maps.sample(maps.z, pos, maps.gather_index(maps.z, KEYPOINT_CHANNELS)))
    return np.moveaxis(pos, 0, -1), prob, _mean_probability(prob)


def tree_levels(legacy_left_eye: bool) -> list[list[list[tuple[int, int, tuple[int, int]]]]]:
    """For each root keypoint, the moves that place the others, level by level (breadth first
    from the root): ``levels[root][level] = [(from, to, (dy, dx) mid channels), ...]``."""
    neighbours: dict[int, list[tuple[int, tuple[int, int]]]] = {k: [] for k in range(K)}
    for e, (p, c) in enumerate(PARENT_CHILD):
        neighbours[p].append((c, (e, 16 + e)))  # forward: parent → child
        back = (16, 32) if (legacy_left_eye and e == 0) else (32 + e, 48 + e)
        neighbours[c].append((p, back))  # backward: child → parent
    levels = []
    for root in range(K):
        placed, frontier, per_level = {root}, [root], []
        while frontier:
            moves = [(a, b, ch) for a in frontier for b, ch in neighbours[a] if b not in placed]
            placed.update(b for _, b, _ in moves)
            frontier = [b for _, b, _ in moves]
            if moves:
                per_level.append(moves)
        levels.append(per_level)
    return levels


_DEPTH = np.array([len(per_level) for per_level in tree_levels(False)])  # levels per root


@lru_cache(maxsize=2)
def _growth_tables(legacy_left_eye: bool):
    """The tree levels as arrays, one entry per level, each padded to that level's width M:
    ``(parent (17, M), child (17, M), mid_channels (2, 17, M), short_channels (2, 17, M))``,
    indexed by root keypoint. Padding moves go from keypoint 0 to the scratch slot 17.
    """
    levels = tree_levels(legacy_left_eye)
    tables = []
    for level in range(int(_DEPTH.max())):
        moves = [per_level[level] if level < len(per_level) else [] for per_level in levels]
        width = max(len(m) for m in moves)
        parent = np.zeros((K, width), np.intp)
        child = np.full((K, width), K, np.intp)
        mid_channels = np.zeros((2, K, width), np.intp)
        short_channels = np.zeros((2, K, width), np.intp)
        for root, root_moves in enumerate(moves):
            for j, (a, b, ch) in enumerate(root_moves):
                parent[root, j], child[root, j] = a, b
                mid_channels[:, root, j] = ch
                short_channels[:, root, j] = (b, K + b)
        tables.append((parent, child, mid_channels, short_channels))
    return tables


def _heap_order(values: list[float]) -> list[int]:
    """Indices of ``values`` in the order upstream's binary max-heap pops them.

    Items are pushed in the given (scan) order and popped one by one, with libstdc++'s
    ``std::priority_queue`` sift rules; ties come out in that heap's order, which is neither
    scan order nor its reverse (docs/posenet-decoding.md, Appendix B).
    """
    heap: list[int] = []
    for item in range(len(values)):
        v = values[item]
        heap.append(item)
        h = len(heap) - 1
        while h > 0 and values[heap[(h - 1) // 2]] < v:
            heap[h] = heap[(h - 1) // 2]
            h = (h - 1) // 2
        heap[h] = item
    out: list[int] = []
    while heap:
        out.append(heap[0])
        last = heap.pop()
        n = len(heap)
        if n == 0:
            break
        h = c = 0
        while c < (n - 1) // 2:
            c = 2 * c + 2
            if values[heap[c]] < values[heap[c - 1]]:
                c -= 1
            heap[h] = heap[c]
            h = c
        if n % 2 == 0 and c == (n - 2) // 2:
            c = 2 * c + 2
            heap[h] = heap[c - 1]
            h = c - 1
        v = values[last]
        while h > 0 and values[heap[(h - 1) // 2]] < v:
            heap[h] = heap[(h - 1) // 2]
            h = (h - 1) // 2
        heap[h] = last
    return out


def dequantized(raw, scaled) -> _Maps:
    """The three maps as the numpy kernel reads them: ``(q - zero_point) * scale`` tables."""
    return _Maps(*(_table(a, *q) for a, q in zip(raw, scaled)))
