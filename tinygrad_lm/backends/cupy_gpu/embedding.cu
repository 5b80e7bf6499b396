// The embedding backward: dweight[rows[s], c] = sum of grad[order[p], c] for the positions p
// of segment s, added in order p = starts[s] .. starts[s+1]-1. order is a stable argsort of
// the ids, so a segment lists one id's positions in increasing position order: every element
// receives its additions in the order numpy.add.at uses, starting from 0, with no atomics.
// One thread per (segment, column), grid-stride; consecutive threads read consecutive columns.

template <typename T>
__global__ void embedding_segment_sums(const T* __restrict__ grad, const long long* __restrict__ order,
                                       const long long* __restrict__ starts, const long long* __restrict__ rows,
                                       T* __restrict__ dweight, index_t segments, index_t dim) {
    for (index_t idx = blockIdx.x * (index_t)blockDim.x + threadIdx.x; idx < segments * dim;
         idx += (index_t)gridDim.x * blockDim.x) {
        const index_t s = idx / dim, c = idx % dim;
        T total = T(0);
        for (index_t p = starts[s]; p < starts[s + 1]; ++p) total += grad[order[p] * dim + c];
        dweight[rows[s] * dim + c] = total;
    }
}
