"""A slow, literal transcription of docs/posenet-decoding.md, used as the test oracle.

Plain loops over cells, candidates and keypoints, float32 scalars throughout — written to be
obviously the specification, not fast. The production decoder (posestage.engine.decoding) must give
the same poses.
"""

from __future__ import annotations

import math

import numpy as np

F = np.float32
K = 17
EDGES = [
    (0, 1), (1, 3), (0, 2), (2, 4), (0, 5), (5, 7), (7, 9), (5, 11),
    (11, 13), (13, 15), (0, 6), (6, 8), (8, 10), (6, 12), (12, 14), (14, 16),
]  # fmt: skip


def reference_decode(
    z, s, m, *, stride=16, max_poses=10, score_threshold=0.2, nms_radius=10.0, legacy_left_eye=False
):
    """z, s, m: float32 (H, W, 17/34/64) with offsets already in GRID units."""
    H, W, _ = z.shape
    tau = F(score_threshold)
    theta = F(-math.log(1.0 / (float(tau) + 1e-6) - 1.0))
    R = F(nms_radius) / F(stride)
    R2 = R * R

    def clamp(y, x):
        return F(min(max(y, F(0)), F(H - 1))), F(min(max(x, F(0)), F(W - 1)))

    def bilinear(T, y, x, c):
        y0, x0 = math.floor(y), math.floor(x)
        y1, x1 = math.ceil(y), math.ceil(x)
        wy, wx = F(y - F(y0)), F(x - F(x0))
        one = F(1)
        top = (one - wx) * T[y0, x0, c] + wx * T[y0, x1, c]
        bottom = (one - wx) * T[y1, x0, c] + wx * T[y1, x1, c]
        return F((one - wy) * top + wy * bottom)

    def sigmoid(v):
        return F(F(1) / (F(1) + np.exp(-F(v))))

    def d2(a, b):
        dy, dx = F(b[0] - a[0]), F(b[1] - a[1])
        return F(dy * dy + dx * dx)

    def mean_prob(probs):
        total = F(0)
        for p in sorted(probs, reverse=True):
            total = F(total + p)
        return F(total / F(K))

    # Step 2: candidates.
    cands = []
    for i in range(H):
        for j in range(W):
            for k in range(K):
                v = z[i, j, k]
                if v < theta:
                    continue
                is_max = True
                for ii in range(max(0, i - 1), min(H, i + 2)):
                    for jj in range(max(0, j - 1), min(W, j + 2)):
                        if z[ii, jj, k] > v:
                            is_max = False
                if is_max:
                    p = clamp(F(F(i) + s[i, j, k]), F(F(j) + s[i, j, K + k]))
                    cands.append((v, k, p))

    # Step 3: the upstream heap (Appendix B), written independently of posestage.
    heap = []

    def less(a, b):
        return a[0] < b[0]

    for c in cands:
        heap.append(c)
        h = len(heap) - 1
        while h > 0 and less(heap[(h - 1) // 2], c):
            heap[h] = heap[(h - 1) // 2]
            h = (h - 1) // 2
        heap[h] = c
    ordered = []
    while heap:
        ordered.append(heap[0])
        last = heap.pop()
        n = len(heap)
        if n == 0:
            break
        h = c = 0
        while c < (n - 1) // 2:
            c = 2 * c + 2
            if less(heap[c], heap[c - 1]):
                c -= 1
            heap[h] = heap[c]
            h = c
        if n % 2 == 0 and c == (n - 2) // 2:
            c = 2 * c + 2
            heap[h] = heap[c - 1]
            h = c - 1
        while h > 0 and less(heap[(h - 1) // 2], last):
            heap[h] = heap[(h - 1) // 2]
            h = (h - 1) // 2
        heap[h] = last

    # Adjacency with channels.
    adj = {k: [] for k in range(K)}
    for e, (pa, ch) in enumerate(EDGES):
        adj[pa].append((ch, e, 16 + e))
        if legacy_left_eye and e == 0:
            adj[ch].append((pa, 16, 32))
        else:
            adj[ch].append((pa, 32 + e, 48 + e))

    def grow(k, p):
        pos = {k: p}
        stack = [k]
        while stack:
            a = stack.pop()
            for b, cy, cx in adj[a]:
                if b in pos:
                    continue
                ya, xa = pos[a]
                dy, dx = bilinear(m, ya, xa, cy), bilinear(m, ya, xa, cx)
                y, x = clamp(F(ya + dy), F(xa + dx))
                for _ in range(5):
                    dy, dx = bilinear(s, y, x, b), bilinear(s, y, x, K + b)
                    y, x = clamp(F(y + dy), F(x + dx))
                pos[b] = (y, x)
                stack.append(b)
        probs = [sigmoid(bilinear(z, pos[q][0], pos[q][1], q)) for q in range(K)]
        return [pos[q] for q in range(K)], probs

    accepted = []  # (positions, probs, q0)
    for _, k, p in ordered:
        if len(accepted) >= max_poses:
            break
        if any(d2(p, pose[0][k]) <= R2 for pose in accepted):
            continue
        positions, probs = grow(k, p)
        q0 = mean_prob(probs)
        if q0 >= tau:
            accepted.append((positions, probs, q0))

    # Step 6.
    by_q0 = sorted(range(len(accepted)), key=lambda a: -accepted[a][2])
    rescored = []
    for rank, a in enumerate(by_q0):
        positions, probs, _ = accepted[a]
        kept = []
        for k in range(K):
            overlapped = any(d2(positions[k], accepted[e][0][k]) <= R2 for e in by_q0[:rank])
            if not overlapped:
                kept.append(probs[k])
        rescored.append((positions, probs, mean_prob(kept)))
    # Step 7.
    rescored.sort(key=lambda r: -r[2])
    out = []
    for positions, probs, q in rescored:
        if q < tau:
            break
        out.append((positions, probs, q))
    xy = np.array([[[x * stride, y * stride] for y, x in pos] for pos, _, _ in out], F).reshape(
        -1, K, 2
    )
    scores = np.array([probs for _, probs, _ in out], F).reshape(-1, K)
    pose_scores = np.array([q for _, _, q in out], F)
    return xy, scores, pose_scores
