// Row kernels: softmax, log_softmax and cross-entropy over C-contiguous rows (N, C).
// Launch: one block per row (grid N), blockDim.x a power of two in 32..512 (rows.py picks it);
// each thread walks the row with stride blockDim.x, and block_reduce combines the threads.
// Formulas and numerics: numpy_ref.py (the row maximum is subtracted before every exp).

// The row's maximum m and log sum_j exp(x_j - m) (in [0, log C]), block-reduced: every thread
// of the block gets both. Shared by log_softmax_fwd and cross_entropy_fwd.
template <typename T>
__device__ void row_max_and_log_total(const T* row, index_t cols, T& m, T& log_total) {
    m = negative_infinity<T>();
    for (index_t j = threadIdx.x; j < cols; j += blockDim.x) m = MaxOp()(m, row[j]);
    m = block_reduce(m, MaxOp(), negative_infinity<T>());
    T total = 0;
    for (index_t j = threadIdx.x; j < cols; j += blockDim.x) total += exp(row[j] - m);
    log_total = log(block_reduce(total, SumOp(), T(0)));  // total in [1, C]
}

template <typename T>
__global__ void softmax_fwd(const T* __restrict__ x, T* __restrict__ y, index_t cols) {
    const T* row = x + blockIdx.x * cols;
    T* out = y + blockIdx.x * cols;
    T m = negative_infinity<T>();
    for (index_t j = threadIdx.x; j < cols; j += blockDim.x) m = MaxOp()(m, row[j]);
    m = block_reduce(m, MaxOp(), negative_infinity<T>());
    T total = 0;
    for (index_t j = threadIdx.x; j < cols; j += blockDim.x) {
        const T e = exp(row[j] - m);  // <= 1: nothing overflows
        out[j] = e;  // this thread rescales the same j below, so no barrier is needed
        total += e;
    }
    total = block_reduce(total, SumOp(), T(0));
    for (index_t j = threadIdx.x; j < cols; j += blockDim.x) out[j] = out[j] / total;
}

template <typename T>
__global__ void softmax_bwd(const T* __restrict__ y, const T* __restrict__ gy, T* __restrict__ gx, index_t cols) {
    const index_t base = blockIdx.x * cols;
    T dot = 0;  // sum_k gy_k y_k
    for (index_t j = threadIdx.x; j < cols; j += blockDim.x) dot += gy[base + j] * y[base + j];
    dot = block_reduce(dot, SumOp(), T(0));
    for (index_t j = threadIdx.x; j < cols; j += blockDim.x) gx[base + j] = y[base + j] * (gy[base + j] - dot);
}

template <typename T>
__global__ void log_softmax_fwd(const T* __restrict__ x, T* __restrict__ y, index_t cols) {
    const T* row = x + blockIdx.x * cols;
    T m, log_total;
    row_max_and_log_total(row, cols, m, log_total);
    for (index_t j = threadIdx.x; j < cols; j += blockDim.x) y[blockIdx.x * cols + j] = (row[j] - m) - log_total;
}

template <typename T>
__global__ void log_softmax_bwd(const T* __restrict__ y, const T* __restrict__ gy, T* __restrict__ gx, index_t cols) {
    const index_t base = blockIdx.x * cols;
    T total = 0;  // sum_k gy_k
    for (index_t j = threadIdx.x; j < cols; j += blockDim.x) total += gy[base + j];
    total = block_reduce(total, SumOp(), T(0));
    for (index_t j = threadIdx.x; j < cols; j += blockDim.x) gx[base + j] = gy[base + j] - exp(y[base + j]) * total;
}

// losses_i and lse_i of one row: lse by log-sum-exp, the smoothing term sum_c w_c (lse - x_c)
// by a second block reduction, the target's term read by thread 0.
template <typename T>
__global__ void cross_entropy_fwd(const T* __restrict__ logits, const long long* __restrict__ targets,
                                  const T* __restrict__ weight, T* __restrict__ losses, T* __restrict__ lse_out,
                                  index_t cols, long long ignore_index, T smoothing) {
    const T* row = logits + blockIdx.x * cols;
    T m, log_total;
    row_max_and_log_total(row, cols, m, log_total);
    const T lse = m + log_total;
    T smooth = 0;
    for (index_t j = threadIdx.x; j < cols; j += blockDim.x) smooth += (lse - row[j]) * weight[j];
    smooth = block_reduce(smooth, SumOp(), T(0));
    if (threadIdx.x == 0) {
        const long long target = targets[blockIdx.x];
        const bool counted = target != ignore_index;
        const long long safe = counted ? target : 0;  // ignored rows read class 0, then are zeroed
        const T nll = weight[safe] * (lse - row[safe]);
        const T loss = (T(1) - smoothing) * nll + (smoothing / T(cols)) * smooth;
        losses[blockIdx.x] = counted ? loss : T(0);
        lse_out[blockIdx.x] = lse;
    }
}

// glogits of one row from the saved lse: p = exp(x - lse), no (N, C) probabilities are saved.
// weight_sum points at one element, sum_c w_c, computed once on the device by the caller.
template <typename T>
__global__ void cross_entropy_bwd(const T* __restrict__ logits, const long long* __restrict__ targets,
                                  const T* __restrict__ weight, const T* __restrict__ lse,
                                  const T* __restrict__ grad_losses, const T* __restrict__ weight_sum,
                                  T* __restrict__ glogits, index_t cols, long long ignore_index, T smoothing) {
    const index_t base = blockIdx.x * cols;
    const long long target = targets[blockIdx.x];
    const bool counted = target != ignore_index;
    const long long safe = counted ? target : 0;
    const T w_t = weight[safe];
    const T g = counted ? grad_losses[blockIdx.x] : T(0);
    const T per_class = smoothing / T(cols);
    const T scale = (T(1) - smoothing) * w_t + per_class * weight_sum[0];
    const T row_lse = lse[blockIdx.x];
    for (index_t j = threadIdx.x; j < cols; j += blockDim.x) {
        T d = scale * exp(logits[base + j] - row_lse) - per_class * weight[j];
        if (j == safe) d -= (T(1) - smoothing) * w_t;
        glogits[base + j] = d * g;
    }
}
