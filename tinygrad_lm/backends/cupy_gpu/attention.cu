// Scaled dot-product attention on (B, T, D) arrays; formulas in numpy_ref.attention_fwd/bwd.
//
// attention_fwd: flash-style, the (Tq, Tk) score matrix is never stored. One block of
// QUERIES warps per (batch entry b, tile of QUERIES queries), grid B * ceil(Tq / QUERIES);
// warp w owns query i = tile start + w. Keys go through shared memory in tiles of key_tile
// (<= 32) rows; lane j scores key j of the tile. Per query the warp keeps the running
// maximum m, the running exp-sum l and the unnormalised output acc (shared, lane-owned
// columns), and rescales both by exp(m_old - m_new) whenever the maximum grows (the online
// softmax of Milakov & Gimelshein 2018, as in FlashAttention). A tile whose scores are all
// masked changes nothing, so a query with no visible key ends with l = 0: out = 0 and
// lse = -inf, as the reference gives. A NaN or +inf visible score makes m or l NaN (MaxOp lets
// NaN win), so that query's out and lse are NaN, as in the reference. Causal keys past the
// tile's last query are skipped (never read: keys a query may not see should be finite).
//
// Dynamic shared memory (T elements): q (QUERIES, D) | k tile (key_tile, D + 1, padded
// against bank conflicts) | v tile (key_tile, Dv) | acc (QUERIES, Dv) | p (QUERIES, 32).
#define QUERIES 8

template <typename T>
__global__ void attention_fwd(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                              const bool* __restrict__ mask, const T* __restrict__ keep,
                              T* __restrict__ out, T* __restrict__ lse,
                              index_t tq, index_t tk, index_t d, index_t dv,
                              int has_mask, int has_keep, int causal, T scale, int key_tile) {
    extern __shared__ __align__(16) unsigned char shared_bytes[];
    T* q_s = reinterpret_cast<T*>(shared_bytes);
    T* k_s = q_s + QUERIES * d;
    T* v_s = k_s + key_tile * (d + 1);
    T* acc_s = v_s + key_tile * dv;
    T* p_s = acc_s + QUERIES * dv;

    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const index_t tiles = (tq + QUERIES - 1) / QUERIES;
    const index_t b = blockIdx.x / tiles;
    const index_t first = (blockIdx.x % tiles) * QUERIES;
    const index_t i = first + warp;  // this warp's query
    const bool active = i < tq;
    const index_t row = b * tq + i;  // index of (b, i) in (B, Tq)

    for (index_t e = lane; e < d; e += 32) q_s[warp * d + e] = active ? q[row * d + e] : T(0);
    for (index_t e = lane; e < dv; e += 32) acc_s[warp * dv + e] = T(0);
    const index_t last = (first + QUERIES < tq ? first + QUERIES : tq) - 1;  // the tile's last query
    index_t key_end = tk;
    if (causal) {  // key j is visible to query i when j <= i + (Tk - Tq)
        key_end = last + tk - tq + 1;
        key_end = key_end < 0 ? 0 : (key_end > tk ? tk : key_end);
    }

    T m = negative_infinity<T>(), l = T(0);
    for (index_t start = 0; start < key_end; start += key_tile) {
        const int count = (int)(key_end - start < key_tile ? key_end - start : key_tile);
        __syncthreads();  // every warp is done with the previous tile
        for (index_t idx = threadIdx.x; idx < count * d; idx += blockDim.x) {
            const index_t r = idx / d, e = idx % d;
            k_s[r * (d + 1) + e] = k[(b * tk + start + r) * d + e];
        }
        for (index_t idx = threadIdx.x; idx < count * dv; idx += blockDim.x)
            v_s[idx] = v[(b * tk + start) * dv + idx];  // rows start..start+count-1 are contiguous
        __syncthreads();

        const index_t j = start + lane;  // this lane's key
        T s = negative_infinity<T>();
        if (active && lane < count) {
            const bool allowed = (!causal || j <= i + tk - tq) && (!has_mask || mask[row * tk + j]);
            if (allowed) {
                T dot = T(0);
                for (index_t e = 0; e < d; ++e) dot += q_s[warp * d + e] * k_s[lane * (d + 1) + e];
                s = dot * scale;
            }
        }
        const T tile_max = warp_reduce(s, MaxOp());  // the same in every lane
        if (tile_max == negative_infinity<T>()) continue;  // nothing visible in this tile
        const T m_new = MaxOp()(m, tile_max);
        const T correction = exp(m - m_new);  // 0 on the first visible tile (m = -inf)
        const T p = exp(s - m_new);  // 0 where masked (s = -inf)
        l = l * correction + warp_reduce(p, SumOp());
        m = m_new;
        p_s[warp * 32 + lane] = (has_keep && active && lane < count) ? p * keep[row * tk + j] : p;
        __syncwarp();
        for (index_t e = lane; e < dv; e += 32) {  // lane-owned output columns
            T a = acc_s[warp * dv + e] * correction;
            for (int r = 0; r < count; ++r) a += p_s[warp * 32 + r] * v_s[r * dv + e];
            acc_s[warp * dv + e] = a;
        }
    }
    if (!active) return;
    for (index_t e = lane; e < dv; e += 32) out[row * dv + e] = l == T(0) ? T(0) : acc_s[warp * dv + e] / l;
    if (lane == 0) lse[row] = l == T(0) ? negative_infinity<T>() : m + log(l);  // NaN l: NaN
}

// The softmax-backward step of attention_bwd, elementwise over (B, Tq, Tk), in place:
//   on entry  scores = q k^T (unscaled),  grads = gout v^T
//   p = exp(scale * scores - lse) where allowed, else 0 (NaN in a NaN row, as the reference)
//   on exit   scores = p (grads keep - delta) scale    (gscores, for gq and gk; 0 where not allowed)
//             grads  = p keep                          (the dropped probabilities, for gv)
template <typename T>
__global__ void attention_score_grads(T* __restrict__ scores, T* __restrict__ grads, const T* __restrict__ lse,
                                      const T* __restrict__ delta, const bool* __restrict__ mask,
                                      const T* __restrict__ keep, index_t total, index_t tq, index_t tk,
                                      int has_mask, int has_keep, int causal, T scale) {
    for (index_t idx = blockIdx.x * (index_t)blockDim.x + threadIdx.x; idx < total;
         idx += (index_t)gridDim.x * blockDim.x) {
        const index_t j = idx % tk, row = idx / tk, i = row % tq;
        const bool allowed = (!causal || j <= i + tk - tq) && (!has_mask || mask[idx]);
        const T l = lse[row] == negative_infinity<T>() ? T(0) : lse[row];  // no visible key: p = exp(-inf) = 0
        const T p = allowed ? exp(scores[idx] * scale - l) : (l != l ? l : T(0));
        const T kept = has_keep ? keep[idx] : T(1);
        scores[idx] = allowed ? p * (grads[idx] * kept - delta[row]) * scale : T(0);
        grads[idx] = p * kept;
    }
}
