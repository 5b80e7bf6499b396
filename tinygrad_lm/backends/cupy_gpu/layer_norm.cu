// Layer normalisation over C-contiguous rows (N, C); formulas in numpy_ref.layer_norm_fwd/bwd.
// layer_norm_fwd and layer_norm_bwd_rows: one block per row, as in rows.cu. The forward's mean
// and variance are summed in double (the reference: float64 for float32): the squares of a
// float row near 1e20 overflow float, and the sum of a row near the float maximum too.
// The parameter gradients gw = sum_i gy * xhat and gb = sum_i gy are column sums over rows,
// computed without atomics, in a fixed order: layer_norm_param_partials gives one thread per
// (column, chunk of ROWS rows) and sums its rows in order into partials (chunks, C); then
// column_sums adds the chunks of each column in order. Same launch shape, same bits.

template <typename T>
__global__ void layer_norm_fwd(const T* __restrict__ x, const T* __restrict__ weight, const T* __restrict__ bias,
                               T* __restrict__ y, T* __restrict__ mean_out, T* __restrict__ rstd_out,
                               T eps, index_t cols) {
    const index_t base = blockIdx.x * cols;
    double total = 0;
    for (index_t j = threadIdx.x; j < cols; j += blockDim.x) total += (double)x[base + j];
    const double wide_mean = block_reduce(total, SumOp(), 0.0) / (double)cols;
    double squares = 0;  // two passes: sum (x - mean)^2 never cancels the way E[x^2] - mean^2 does
    for (index_t j = threadIdx.x; j < cols; j += blockDim.x) {
        const double c = (double)x[base + j] - wide_mean;
        squares += c * c;
    }
    const double var = block_reduce(squares, SumOp(), 0.0) / (double)cols;  // biased: divide by C
    const T mean = (T)wide_mean, rstd = (T)(1.0 / sqrt(var + (double)eps));  // eps inside the root
    for (index_t j = threadIdx.x; j < cols; j += blockDim.x)
        y[base + j] = (x[base + j] - mean) * rstd * weight[j] + bias[j];
    if (threadIdx.x == 0) {
        mean_out[blockIdx.x] = mean;
        rstd_out[blockIdx.x] = rstd;
    }
}

template <typename T>
__global__ void layer_norm_bwd_rows(const T* __restrict__ x, const T* __restrict__ weight,
                                    const T* __restrict__ mean, const T* __restrict__ rstd,
                                    const T* __restrict__ gy, T* __restrict__ gx, index_t cols) {
    const index_t base = blockIdx.x * cols;
    const T mu = mean[blockIdx.x], r = rstd[blockIdx.x];
    T sum_g = 0, sum_gx = 0;  // sum_j gxhat, sum_j gxhat * xhat
    for (index_t j = threadIdx.x; j < cols; j += blockDim.x) {
        const T gxhat = gy[base + j] * weight[j];
        sum_g += gxhat;
        sum_gx += gxhat * (T)(((double)x[base + j] - (double)mu) * (double)r);  // x - mu: double, as in the forward
    }
    const T mean_g = block_reduce(sum_g, SumOp(), T(0)) / T(cols);
    const T mean_gx = block_reduce(sum_gx, SumOp(), T(0)) / T(cols);
    for (index_t j = threadIdx.x; j < cols; j += blockDim.x) {
        const T xhat = (T)(((double)x[base + j] - (double)mu) * (double)r);
        gx[base + j] = r * (gy[base + j] * weight[j] - (mean_g + xhat * mean_gx));
    }
}

// Thread (column c, chunk k) sums rows k*rows_per_chunk .. +rows_per_chunk-1 in order.
// Grid (ceil(C / blockDim.x), chunks); consecutive threads read consecutive columns.
template <typename T>
__global__ void layer_norm_param_partials(const T* __restrict__ x, const T* __restrict__ mean,
                                          const T* __restrict__ rstd, const T* __restrict__ gy,
                                          T* __restrict__ gw_partials, T* __restrict__ gb_partials,
                                          index_t rows, index_t cols, index_t rows_per_chunk) {
    const index_t c = blockIdx.x * (index_t)blockDim.x + threadIdx.x;
    if (c >= cols) return;
    const index_t start = blockIdx.y * rows_per_chunk;
    const index_t stop = start + rows_per_chunk < rows ? start + rows_per_chunk : rows;
    T gw = 0, gb = 0;
    for (index_t i = start; i < stop; ++i) {
        const T g = gy[i * cols + c];
        gw += g * (T)(((double)x[i * cols + c] - (double)mean[i]) * (double)rstd[i]);
        gb += g;
    }
    gw_partials[blockIdx.y * cols + c] = gw;
    gb_partials[blockIdx.y * cols + c] = gb;
}

// out[c] = sum_k partials[k, c] for k = 0..chunks-1 in order; one thread per column.
template <typename T>
__global__ void column_sums(const T* __restrict__ partials, T* __restrict__ out, index_t chunks, index_t cols) {
    const index_t c = blockIdx.x * (index_t)blockDim.x + threadIdx.x;
    if (c >= cols) return;
    T total = 0;
    for (index_t k = 0; k < chunks; ++k) total += partials[k * cols + c];
    out[c] = total;
}
