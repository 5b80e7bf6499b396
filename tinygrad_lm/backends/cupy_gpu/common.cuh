// Shared by every CUDA source of the cupy_gpu table (prepended by _compile.source_text).
// No #include: NVRTC compiles without the host headers, so everything used here is a CUDA
// built-in (warp shuffles, __syncthreads, the overloaded math functions exp/log/sqrt).

typedef long long index_t;  // element offsets: N * C can exceed 2^31

// -infinity of T without <cmath> (INFINITY is a host-header macro).
template <typename T> __device__ __forceinline__ T negative_infinity();
template <> __device__ __forceinline__ float negative_infinity<float>() { return __int_as_float(0xff800000); }
template <> __device__ __forceinline__ double negative_infinity<double>() {
    return __longlong_as_double(0xfff0000000000000LL);
}

struct SumOp {
    template <typename T> __device__ __forceinline__ T operator()(T a, T b) const { return a + b; }
};
// NaN wins from either side (a > b alone keeps whichever NaN comes second or drops it), so a
// NaN anywhere in a row reaches its maximum whatever the reduction order.
struct MaxOp {
    template <typename T> __device__ __forceinline__ T operator()(T a, T b) const { return (a != a || a > b) ? a : b; }
};

// Reduce v over the 32 lanes of a warp; every lane gets the result (butterfly, fixed order).
template <typename T, typename Op> __device__ __forceinline__ T warp_reduce(T v, Op op) {
    for (int offset = 16; offset > 0; offset >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, offset));
    return v;
}

// Reduce v over the whole block (blockDim.x a multiple of 32, at most 1024); every thread gets
// the result. Warp partials go through shared memory; the order is fixed by the launch shape,
// so the result is the same from run to run. Safe to call several times in a row.
template <typename T, typename Op> __device__ T block_reduce(T v, Op op, T identity) {
    __shared__ T partials[32];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warp_reduce(v, op);
    __syncthreads();  // the previous call's readers are done with partials
    if (lane == 0) partials[warp] = v;
    __syncthreads();
    v = lane < warps ? partials[lane] : identity;
    return warp_reduce(v, op);
}
