/* gpt.c: the forward pass and loss of tinygrad_lm's GPT in plain C99 (libc and libm only), the
 * worked answer to exercise 2 of chapter 11 (tutorials/porting/README.md).
 *
 * It reads a golden bundle (`tinygrad-lm golden --what gpt --config tiny --out BUNDLE_DIR`): the
 * model's shape from manifest.json's "config", every parameter (param/...) and the batch
 * (input/ids, input/targets) from the bundle's safetensors files. It recomputes every forward
 * activation (act/...) and the loss, and writes them, with the batch, under the bundle's names
 * to OUT_DIR/candidate.safetensors in float32, for the checker:
 *
 *     tinygrad-lm check-port --golden BUNDLE_DIR --candidate OUT_DIR --only input/,act/,loss
 *
 * The model (tinygrad_lm/models/gpt.py), with B = batch, T = time, C = n_embd, H = n_head,
 * D = C / H, V = vocab_size:
 *
 *     x = wte[ids] + wpe[0 .. T-1]                                      (B, T, C)
 *     each block (pre-LN):  x = x + attn(ln1(x));  x = x + mlp(ln2(x))   (B, T, C)
 *     logits = ln_f(x) wte^T          the head is tied to the token embedding  (B, T, V)
 *     loss = the mean over (b, t) of -log softmax(logits[b, t])[targets[b, t]]
 *
 * Layout: every tensor is a flat float array in row-major order, the last index moving fastest:
 * element (b, t, c) of a (B, T, C) tensor is x[(b * T + t) * C + c]. A Linear weight is stored
 * (out, in), as tinygrad_lm and PyTorch store it, so y = x W^T + b reads W one row per output.
 *
 * Sums (dot products, means, the softmax's and the loss's sums) accumulate in double, as the
 * library's LayerNorm and cross-entropy do. Two teaching switches:
 *   -DACCUMULATE_IN_FLOAT   sum in float, as a naive float32 port would; the checker's float32
 *                           tolerances still pass (that is what they are for).
 *   -DBREAK_LAYERNORM_EPS   the classic LayerNorm bug: eps outside the square root. The checker
 *                           then names act/block0/ln1 as the first bad tensor.
 *
 * Left out: the backward pass (no grad/ tensors), AdamW (no step3/ tensors), dropout (the
 * bundle's forward runs with p = 0), sinusoidal positions, ignore_index in the loss, the KV
 * cache and generation, and speed (plain loops on one thread).
 *
 * Build and run from the repository root:
 *     cc -std=c99 -O2 -Wall -Wextra -pedantic -o gpt tutorials/porting/gpt.c tutorials/porting/safetensors.c -lm
 *     ./gpt BUNDLE_DIR OUT_DIR
 */
#include "safetensors.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#ifdef ACCUMULATE_IN_FLOAT
typedef float acc_t;
#else
typedef double acc_t;
#endif

#define LAYER_NORM_EPS 1e-5  /* tinygrad_lm's LayerNorm default, which GPT uses */
#define MAX_FILES 16

typedef struct {
    int vocab_size, block_size, n_layer, n_head, n_embd;
    int bias;  /* whether Linear and LayerNorm layers have biases */
} gpt_config;

/* ---- the layers ------------------------------------------------------------------------ */

/* Token + position embedding:  x[b, t, c] = wte[ids[b, t], c] + wpe[t, c]
 * ids (B, T), wte (V, C), wpe (block_size, C) -> x (B, T, C). Positions start at 0. */
static void embed(float *x, const int64_t *ids, const float *wte, const float *wpe, int B, int T, int C, int V)
{
    int b, t, c;
    for (b = 0; b < B; b++)
        for (t = 0; t < T; t++) {
            long id = (long)ids[b * T + t];
            if (id < 0 || id >= V)
                st_die("input/ids[%d][%d] = %ld is outside the vocabulary 0..%d", b, t, id, V - 1);
            for (c = 0; c < C; c++)
                x[(b * T + t) * C + c] = wte[id * C + c] + wpe[t * C + c];
        }
}

/* LayerNorm over the last axis, one row of C values at a time (N = B * T rows):
 *     mean = sum_c x[c] / C
 *     var  = sum_c (x[c] - mean)^2 / C            biased: divide by C, not C - 1
 *     y[c] = (x[c] - mean) / sqrt(var + eps) * weight[c] + bias[c]      eps inside the root
 * x, y (N, C); weight, bias (C,); bias may be NULL (a model built with bias=False). */
static void layer_norm(float *y, const float *x, const float *weight, const float *bias, int N, int C)
{
    int n, c;
    for (n = 0; n < N; n++) {
        const float *row = x + n * C;
        acc_t sum = 0, squares = 0, mean, var, inv_std;
        for (c = 0; c < C; c++)
            sum += row[c];
        mean = sum / C;
        for (c = 0; c < C; c++)
            squares += (row[c] - mean) * (row[c] - mean);
        var = squares / C;
#ifdef BREAK_LAYERNORM_EPS
        inv_std = 1 / (sqrt(var) + LAYER_NORM_EPS);  /* WRONG on purpose: eps outside the root */
#else
        inv_std = 1 / sqrt(var + LAYER_NORM_EPS);
#endif
        for (c = 0; c < C; c++)
            y[n * C + c] = (float)((row[c] - mean) * inv_std * weight[c] + (bias ? bias[c] : 0));
    }
}

/* Linear:  y[n, o] = sum_i x[n, i] W[o, i] + b[o],  that is y = x W^T + b
 * x (N, IN), W (OUT, IN) (the stored layout), b (OUT,) or NULL -> y (N, OUT). */
static void linear(float *y, const float *x, const float *W, const float *b, int N, int IN, int OUT)
{
    int n, o, i;
    for (n = 0; n < N; n++)
        for (o = 0; o < OUT; o++) {
            acc_t sum = b ? b[o] : 0;
            for (i = 0; i < IN; i++)
                sum += (acc_t)x[n * IN + i] * W[o * IN + i];
            y[n * OUT + o] = (float)sum;
        }
}

/* Split the fused projection into heads. qkv (B, T, 3C) holds [q | k | v] along its last axis,
 * and head h owns columns h*D .. h*D + D - 1 of each part:
 *     q[b, h, t, d] = qkv[b, t, 0*C + h*D + d]   k: 1*C + h*D + d   v: 2*C + h*D + d
 * -> q, k, v (B, H, T, D). */
static void split_heads(float *q, float *k, float *v, const float *qkv, int B, int T, int H, int D)
{
    int b, h, t, d, C = H * D;
    for (b = 0; b < B; b++)
        for (h = 0; h < H; h++)
            for (t = 0; t < T; t++)
                for (d = 0; d < D; d++) {
                    const float *row = qkv + (b * T + t) * 3 * C;
                    int at = ((b * H + h) * T + t) * D + d;
                    q[at] = row[0 * C + h * D + d];
                    k[at] = row[1 * C + h * D + d];
                    v[at] = row[2 * C + h * D + d];
                }
}

/* Causal self-attention, for each batch row b and head h (queries i, keys j, both 0 .. T-1):
 *     s[i, j] = sum_d q[i, d] k[j, d] / sqrt(D)                 only for j <= i
 *     p[i, j] = exp(s[i, j] - m_i) / sum_{j' <= i} exp(s[i, j'] - m_i),   m_i = max_{j <= i} s[i, j]
 *     p[i, j] = 0 for j > i                 (the library's -inf score, exactly 0 after exp)
 *     a[i, d] = sum_j p[i, j] v[j, d]
 * then the heads are merged back, head h into columns h*D .. h*D + D - 1:
 *     y[b, t, h*D + d] = a[b, h, t, d]
 * q, k, v (B, H, T, D) -> probs (B, H, T, T), y (B, T, C). With as many queries as keys the
 * mask is the lower triangle; the library aligns it bottom-right (key j <= i + Tk - Tq), which
 * only differs with a KV cache. Subtracting the row max m_i keeps exp from overflowing. */
static void causal_attention(float *probs, float *y, const float *q, const float *k, const float *v,
                             int B, int H, int T, int D)
{
    int b, h, i, j, d, C = H * D;
    acc_t scale = 1 / sqrt((double)D);
    for (b = 0; b < B; b++)
        for (h = 0; h < H; h++) {
            const float *qh = q + (b * H + h) * T * D, *kh = k + (b * H + h) * T * D, *vh = v + (b * H + h) * T * D;
            for (i = 0; i < T; i++) {
                float *p = probs + ((b * H + h) * T + i) * T;  /* row i of this head's (T, T) */
                acc_t max = -HUGE_VAL, sum = 0;
                for (j = 0; j <= i; j++) {
                    acc_t s = 0;
                    for (d = 0; d < D; d++)
                        s += (acc_t)qh[i * D + d] * kh[j * D + d];
                    p[j] = (float)(s * scale);
                    if (p[j] > max)
                        max = p[j];
                }
                for (j = 0; j <= i; j++) {
                    acc_t e = exp(p[j] - max);
                    p[j] = (float)e;
                    sum += e;
                }
                for (j = 0; j < T; j++)
                    p[j] = j <= i ? (float)(p[j] / sum) : 0.0f;
                for (d = 0; d < D; d++) {
                    acc_t a = 0;
                    for (j = 0; j <= i; j++)
                        a += (acc_t)p[j] * vh[j * D + d];
                    y[(b * T + i) * C + h * D + d] = (float)a;
                }
            }
        }
}

/* GELU, the exact form (GPT's MLP uses it, not GPT-2's tanh approximation), in place:
 *     gelu(x) = 0.5 x (1 + erf(x / sqrt(2)))          n values, any shape. */
static void gelu(float *x, long n)
{
    long i;
    for (i = 0; i < n; i++)
        x[i] = (float)(0.5 * x[i] * (1 + erf(x[i] / sqrt(2.0))));
}

/* Residual add:  y = a + b, elementwise over n values. */
static void add(float *y, const float *a, const float *b, long n)
{
    long i;
    for (i = 0; i < n; i++)
        y[i] = a[i] + b[i];
}

/* Cross-entropy, the mean over the N = B * T positions, the log-softmax shifted by the row max:
 *     loss = (1/N) sum_n [ m_n + log sum_v exp(logits[n, v] - m_n) - logits[n, targets[n]] ]
 *     m_n  = max_v logits[n, v]
 * logits (N, V), targets (N,) -> a scalar. */
static double cross_entropy(const float *logits, const int64_t *targets, int N, int V)
{
    int n, c;
    double total = 0;
    for (n = 0; n < N; n++) {
        const float *row = logits + (long)n * V;
        long target = (long)targets[n];
        acc_t max = row[0], sum = 0;
        if (target < 0 || target >= V)
            st_die("input/targets at flat position %d = %ld is outside 0..%d (ignore_index is left out)", n,
                   target, V - 1);
        for (c = 1; c < V; c++)
            if (row[c] > max)
                max = row[c];
        for (c = 0; c < V; c++)
            sum += exp(row[c] - max);
        total += max + log(sum) - row[target];
    }
    return total / N;
}

/* ---- reading the bundle, naming the outputs ------------------------------------------- */

/* manifest.json: the config's sizes, and the distinct safetensors files named by "tensors". */
static void read_manifest(const char *dir, gpt_config *cfg, char files[][ST_MAX_NAME], int *n_files)
{
    char path[1024], key[64], value[ST_MAX_NAME];
    size_t size;
    char *text;
    json_cursor c;
    int n = 0, i;
    st_format(path, sizeof path, "%s/manifest.json", dir);
    text = st_read_file(path, &size);
    c.p = text;
    c.what = path;
    memset(cfg, 0, sizeof *cfg);
    cfg->bias = 1;
    *n_files = 0;
    json_expect(&c, '{');
    while (json_more(&c, '}', &n)) {
        json_string(&c, key, sizeof key);
        json_expect(&c, ':');
        if (strcmp(key, "config") == 0) {
            int m = 0;
            json_expect(&c, '{');
            while (json_more(&c, '}', &m)) {
                json_string(&c, key, sizeof key);
                json_expect(&c, ':');
                if (strcmp(key, "vocab_size") == 0) cfg->vocab_size = (int)json_int(&c);
                else if (strcmp(key, "block_size") == 0) cfg->block_size = (int)json_int(&c);
                else if (strcmp(key, "n_layer") == 0) cfg->n_layer = (int)json_int(&c);
                else if (strcmp(key, "n_head") == 0) cfg->n_head = (int)json_int(&c);
                else if (strcmp(key, "n_embd") == 0) cfg->n_embd = (int)json_int(&c);
                else if (strcmp(key, "bias") == 0) cfg->bias = json_bool(&c);
                else if (strcmp(key, "position_embedding") == 0) {
                    json_string(&c, value, sizeof value);
                    if (strcmp(value, "learned") != 0)
                        st_die("%s: position_embedding is '%s'; this port has learned positions only", path, value);
                } else json_skip(&c);
            }
        } else if (strcmp(key, "tensors") == 0) {  /* [{"name": ..., "file": ..., ...}, ...] */
            int m = 0;
            json_expect(&c, '[');
            while (json_more(&c, ']', &m)) {
                int k = 0;
                json_expect(&c, '{');
                while (json_more(&c, '}', &k)) {
                    json_string(&c, key, sizeof key);
                    json_expect(&c, ':');
                    if (strcmp(key, "file") != 0) {
                        json_skip(&c);
                        continue;
                    }
                    json_string(&c, value, sizeof value);
                    for (i = 0; i < *n_files && strcmp(files[i], value) != 0; i++)
                        ;
                    if (i == *n_files) {
                        if (*n_files == MAX_FILES)
                            st_die("%s: names more than %d tensor files", path, MAX_FILES);
                        strcpy(files[(*n_files)++], value);
                    }
                }
            }
        } else {
            json_skip(&c);
        }
    }
    if (cfg->vocab_size < 1 || cfg->block_size < 1 || cfg->n_layer < 1 || cfg->n_head < 1 || cfg->n_embd < 1)
        st_die("%s: config needs positive vocab_size, block_size, n_layer, n_head and n_embd", path);
    if (cfg->n_embd % cfg->n_head)
        st_die("%s: n_embd (%d) is not divisible by n_head (%d)", path, cfg->n_embd, cfg->n_head);
    if (*n_files == 0)
        st_die("%s: its \"tensors\" list names no file", path);
    free(text);
}

/* The parameter param/<name> (name may hold one %d, the block index), checked to have the
 * shape (d0) or (d0, d1) (d1 = 0 for a vector). A missing bias gives NULL when the config
 * says bias=false. */
static const float *param(const st_list *bundle, const gpt_config *cfg, const char *fmt, int block, long d0, long d1)
{
    char name[ST_MAX_NAME], layer[ST_MAX_NAME];
    const st_tensor *t;
    st_format(layer, sizeof layer, fmt, block);
    st_format(name, sizeof name, "param/%s", layer);
    t = st_find(bundle, name);
    if (!t && !cfg->bias && strstr(name, ".bias"))
        return NULL;
    if (!t)
        st_die("the bundle has no tensor %s", name);
    if (t->dtype == ST_I64 || t->ndim != (d1 ? 2 : 1) || t->shape[0] != d0 || (d1 && t->shape[1] != d1))
        st_die("%s should be a float tensor of shape (%ld%s%ld) for this config", name, d0, d1 ? ", " : "",
               d1 ? d1 : 0);
    return t->f32;
}

/* A new float32 output tensor act/block<i>/<what> (block < 0: act/<what>) of the given shape. */
static float *act(st_list *out, int block, const char *what, int ndim, long d0, long d1, long d2, long d3)
{
    char name[ST_MAX_NAME];
    long shape[4];
    shape[0] = d0, shape[1] = d1, shape[2] = d2, shape[3] = d3;
    if (block >= 0)
        st_format(name, sizeof name, "act/block%d/%s", block, what);
    else
        st_format(name, sizeof name, "act/%s", what);
    return st_add_f32(out, name, ndim, shape);
}

static const st_tensor *batch_tensor(const st_list *bundle, const char *name)
{
    const st_tensor *t = st_find(bundle, name);
    if (!t || t->dtype != ST_I64 || t->ndim != 2)
        st_die("the bundle needs %s, an int64 tensor of shape (B, T)", name);
    return t;
}

int main(int argc, char **argv)
{
    char files[MAX_FILES][ST_MAX_NAME], path[1024];
    st_list bundle = {0}, out = {0};
    gpt_config cfg;
    const st_tensor *ids, *targets;
    const float *wte, *wpe;
    float *x, *loss;
    int n_files, i, B, T, C, H, D, V;
    long scalar_shape[1] = {0};

    if (argc != 3) {
        fprintf(stderr, "usage: %s BUNDLE_DIR OUT_DIR   (writes OUT_DIR/candidate.safetensors)\n", argv[0]);
        return 2;
    }
    st_check_little_endian();
    read_manifest(argv[1], &cfg, files, &n_files);
    for (i = 0; i < n_files; i++) {
        st_format(path, sizeof path, "%s/%s", argv[1], files[i]);
        st_read(path, &bundle);
    }
    ids = batch_tensor(&bundle, "input/ids");
    targets = batch_tensor(&bundle, "input/targets");
    B = (int)ids->shape[0], T = (int)ids->shape[1];
    C = cfg.n_embd, H = cfg.n_head, D = C / H, V = cfg.vocab_size;
    if (targets->shape[0] != B || targets->shape[1] != T)
        st_die("input/targets has shape (%ld, %ld) but input/ids has (%d, %d)", targets->shape[0],
               targets->shape[1], B, T);
    if (T > cfg.block_size)
        st_die("input/ids has T = %d positions, more than block_size = %d", T, cfg.block_size);
    memcpy(st_add_i64(&out, "input/ids", 2, ids->shape), ids->i64, (size_t)ids->numel * sizeof *ids->i64);
    memcpy(st_add_i64(&out, "input/targets", 2, targets->shape), targets->i64,
           (size_t)targets->numel * sizeof *targets->i64);

    wte = param(&bundle, &cfg, "wte.weight", 0, V, C);
    wpe = param(&bundle, &cfg, "wpe.weight", 0, cfg.block_size, C);
    x = act(&out, -1, "embed", 3, B, T, C, 0);
    embed(x, ids->i64, wte, wpe, B, T, C, V);

    for (i = 0; i < cfg.n_layer; i++) {
        float *ln1, *qkv, *q, *k, *v, *probs, *att_y, *att_out, *resid1, *ln2, *hidden, *mlp_out, *block_out;
        ln1 = act(&out, i, "ln1", 3, B, T, C, 0);
        layer_norm(ln1, x, param(&bundle, &cfg, "blocks.%d.ln1.weight", i, C, 0),
                   param(&bundle, &cfg, "blocks.%d.ln1.bias", i, C, 0), B * T, C);

        qkv = malloc((size_t)B * T * 3 * C * sizeof *qkv);  /* (B, T, 3C), not in the bundle */
        if (!qkv)
            st_die("out of memory for block %d's qkv", i);
        linear(qkv, ln1, param(&bundle, &cfg, "blocks.%d.attn.qkv.weight", i, 3 * C, C),
               param(&bundle, &cfg, "blocks.%d.attn.qkv.bias", i, 3 * C, 0), B * T, C, 3 * C);
        q = act(&out, i, "q", 4, B, H, T, D);
        k = act(&out, i, "k", 4, B, H, T, D);
        v = act(&out, i, "v", 4, B, H, T, D);
        split_heads(q, k, v, qkv, B, T, H, D);
        free(qkv);

        probs = act(&out, i, "att_probs", 4, B, H, T, T);
        att_y = act(&out, i, "att_y", 3, B, T, C, 0);
        causal_attention(probs, att_y, q, k, v, B, H, T, D);
        att_out = act(&out, i, "att_out", 3, B, T, C, 0);
        linear(att_out, att_y, param(&bundle, &cfg, "blocks.%d.attn.proj.weight", i, C, C),
               param(&bundle, &cfg, "blocks.%d.attn.proj.bias", i, C, 0), B * T, C, C);
        resid1 = act(&out, i, "resid1", 3, B, T, C, 0);
        add(resid1, x, att_out, (long)B * T * C);

        ln2 = act(&out, i, "ln2", 3, B, T, C, 0);
        layer_norm(ln2, resid1, param(&bundle, &cfg, "blocks.%d.ln2.weight", i, C, 0),
                   param(&bundle, &cfg, "blocks.%d.ln2.bias", i, C, 0), B * T, C);
        hidden = act(&out, i, "mlp_hidden", 3, B, T, 4 * C, 0);
        linear(hidden, ln2, param(&bundle, &cfg, "blocks.%d.mlp.fc.weight", i, 4 * C, C),
               param(&bundle, &cfg, "blocks.%d.mlp.fc.bias", i, 4 * C, 0), B * T, C, 4 * C);
        gelu(hidden, (long)B * T * 4 * C);
        mlp_out = act(&out, i, "mlp_out", 3, B, T, C, 0);
        linear(mlp_out, hidden, param(&bundle, &cfg, "blocks.%d.mlp.proj.weight", i, C, 4 * C),
               param(&bundle, &cfg, "blocks.%d.mlp.proj.bias", i, C, 0), B * T, 4 * C, C);
        block_out = act(&out, i, "out", 3, B, T, C, 0);
        add(block_out, resid1, mlp_out, (long)B * T * C);
        x = block_out;
    }

    {
        float *ln_f = act(&out, -1, "ln_f", 3, B, T, C, 0);
        float *logits = act(&out, -1, "logits", 3, B, T, V, 0);
        layer_norm(ln_f, x, param(&bundle, &cfg, "ln_f.weight", 0, C, 0),
                   param(&bundle, &cfg, "ln_f.bias", 0, C, 0), B * T, C);
        linear(logits, ln_f, wte, NULL, B * T, C, V);  /* tied head: W = wte (V, C), no bias */
        loss = st_add_f32(&out, "loss", 0, scalar_shape);
        *loss = (float)cross_entropy(logits, targets->i64, B * T, V);
    }

    st_format(path, sizeof path, "%s/candidate.safetensors", argv[2]);
    st_write(path, &out);
    printf("gpt: wrote %d tensors to %s (loss %.6f)\n", out.count, path, *loss);
    st_free(&bundle);
    st_free(&out);
    return 0;
}
