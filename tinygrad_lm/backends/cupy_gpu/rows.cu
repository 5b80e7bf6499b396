// Row kernels: softmax, log_softmax and cross-entropy over C-contiguous rows (N, C).
// Launch: one block per row (grid N), blockDim.x a power of two in 32..512 (rows.py picks it);
// each thread walks the row with stride blockDim.x, and block_reduce combines the threads.
// Formulas and numerics: numpy_ref.py (the row maximum is subtracted before every exp). Rows
// that are not finite give what the reference gives: a row of -inf only has shift 0 (so its
// exponentials are exactly 0, never -inf - -inf = NaN) and its sum of 0 counts as 1 (softmax 0,
// log_softmax -inf, lse -inf); NaN or +inf in a row makes its sum NaN, and so the whole row.

// The row's maximum, or 0 on a row of -inf only, block-reduced: every thread gets it.
template <typename T> __device__ T row_shift(const T* row, index_t cols) {
    T m = negative_infinity<T>();
    for (index_t j = threadIdx.x; j < cols; j += blockDim.x) m = MaxOp()(m, row[j]);
    m = block_reduce(m, MaxOp(), negative_infinity<T>());
    return m == negative_infinity<T>() ? T(0) : m;
}

// The row's shift m (row_shift) and L = log sum_j exp(x_j - m), in [0, log C], 0 when the sum
// is 0 (a row of -inf), block-reduced: every thread gets both. Returns whether the sum was 0.
// Shared by log_softmax_fwd and cross_entropy_fwd.
template <typename T>
__device__ bool row_shift_and_log_total(const T* row, index_t cols, T& m, T& log_total) {
    m = row_shift(row, cols);
    T total = 0;
    for (index_t j = threadIdx.x; j < cols; j += blockDim.x) total += exp(row[j] - m);
    total = block_reduce(total, SumOp(), T(0));
    log_total = total == T(0) ? T(0) : log(total);
    return total == T(0);
}

template <typename T>
__global__ void softmax_fwd(const T* __restrict__ x, T* __restrict__ y, index_t cols) {
    const T* row = x + blockIdx.x * cols;
    T* out = y + blockIdx.x * cols;
    const T m = row_shift(row, cols);
    T total = 0;
    for (index_t j = threadIdx.x; j < cols; j += blockDim.x) {
        const T e = exp(row[j] - m);  // <= 1: nothing overflows
        out[j] = e;  // this thread rescales the same j below, so no barrier is needed
        total += e;
    }
    total = block_reduce(total, SumOp(), T(0));
    if (total == T(0)) total = T(1);  // a row of -inf: its zeros stay 0
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
    row_shift_and_log_total(row, cols, m, log_total);
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

// losses_i and lse_i of one row. Every term is relative to the shift m: -log p_c = L - (x_c - m),
// never lse - x_c (lse rounds to x_c when |x_c| is near the float maximum); those terms are
// summed in double, since x_c - m of float logits can overflow float (the reference: float64).
// The smoothing term sum_c w_c (L - (x_c - m)) is a second block reduction, used only when
// smoothing > 0 (0 * inf would be NaN for a row holding -inf); thread 0 adds the target's term.
template <typename T>
__global__ void cross_entropy_fwd(const T* __restrict__ logits, const long long* __restrict__ targets,
                                  const T* __restrict__ weight, T* __restrict__ losses, T* __restrict__ lse_out,
                                  index_t cols, long long ignore_index, T smoothing) {
    const T* row = logits + blockIdx.x * cols;
    T m, log_total;
    const bool empty = row_shift_and_log_total(row, cols, m, log_total);
    double smooth = 0;
    for (index_t j = threadIdx.x; j < cols; j += blockDim.x)
        smooth += (double)weight[j] * ((double)log_total - ((double)row[j] - (double)m));
    smooth = block_reduce(smooth, SumOp(), 0.0);
    if (threadIdx.x == 0) {
        const long long target = targets[blockIdx.x];
        const bool counted = target != ignore_index;
        const long long safe = counted ? target : 0;  // ignored rows read class 0, then are zeroed
        double loss = (1.0 - (double)smoothing) * (double)weight[safe] *
                      ((double)log_total - ((double)row[safe] - (double)m));
        if (smoothing != T(0)) loss += ((double)smoothing / (double)cols) * smooth;
        losses[blockIdx.x] = counted ? (T)loss : T(0);
        lse_out[blockIdx.x] = empty ? negative_infinity<T>() : m + log_total;
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
    const T row_lse = lse[blockIdx.x] == negative_infinity<T>() ? T(0) : lse[blockIdx.x];  // a row of -inf: p = 0
    for (index_t j = threadIdx.x; j < cols; j += blockDim.x) {
        T d = scale * exp(logits[base + j] - row_lse) - per_class * weight[j];
        if (j == safe) d -= (T(1) - smoothing) * w_t;
        glogits[base + j] = counted ? d * g : T(0);  // an ignored row of NaN still gets 0
    }
}
