/* safetensors.h: a tiny reader and writer of safetensors files, plus the few JSON helpers they
 * need, for the C port of tinygrad_lm's GPT (gpt.c). Plain C99: libc only.
 *
 * The safetensors format (Hugging Face), as this file reads and writes it:
 *
 *     8 bytes    N, the length of the header, an unsigned 64-bit little-endian integer
 *     N bytes    a JSON object, padded with spaces:
 *                  {"NAME": {"dtype": "F32", "shape": [2, 3], "data_offsets": [BEGIN, END]}, ...}
 *                plus an optional "__metadata__" entry (string -> string), which is skipped
 *     the rest   the tensors' bytes; tensor NAME is bytes BEGIN..END of this part, row-major,
 *                little-endian (element (i, j) of a (2, 3) tensor is number i*3 + j)
 *
 * Floats are held as float whatever the file stores (F64 is rounded to F32 on reading), and
 * integers as int64_t. Every error prints one line naming the file and what was wrong, then
 * exits with status 1 (st_die): a tutorial program has no caller to hand errors back to.
 *
 * Left out: dtypes other than F32, F64 and I64; big-endian machines (refused by
 * st_check_little_endian); memory mapping (a file is read into memory whole).
 */
#ifndef TINYGRAD_LM_SAFETENSORS_H
#define TINYGRAD_LM_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define ST_MAX_DIMS 8
#define ST_MAX_NAME 160

typedef enum { ST_F32, ST_F64, ST_I64 } st_dtype;

typedef struct {
    char name[ST_MAX_NAME];
    st_dtype dtype;      /* the dtype the file stores, or will store */
    int ndim;            /* 0 for a scalar */
    long shape[ST_MAX_DIMS];
    long numel;          /* product of shape (1 for a scalar) */
    float *f32;          /* the values of a float tensor (F32 or F64 in the file), else NULL */
    int64_t *i64;        /* the values of an I64 tensor, else NULL */
} st_tensor;

typedef struct {         /* a growing list of named tensors */
    st_tensor *items;
    int count, capacity;
} st_list;

/* Print "gpt: " and the message on one line to stderr, then exit(1). */
void st_die(const char *fmt, ...);
void st_check_little_endian(void);
/* snprintf into out (size bytes), dying with a clear message if the text does not fit. */
void st_format(char *out, size_t size, const char *fmt, ...);

/* The whole file as a NUL-terminated buffer (free it); *size gets its length without the NUL. */
char *st_read_file(const char *path, size_t *size);

/* Append every tensor of the safetensors file at path to list. */
void st_read(const char *path, st_list *list);
/* The tensor called name, or NULL. */
const st_tensor *st_find(const st_list *list, const char *name);
/* Append a new zero-filled F32 / I64 tensor; returns its data (valid until st_free). */
float *st_add_f32(st_list *list, const char *name, int ndim, const long *shape);
int64_t *st_add_i64(st_list *list, const char *name, int ndim, const long *shape);
/* Write every tensor of list (F32 tensors as F32, I64 as I64) to a new file at path. */
void st_write(const char *path, const st_list *list);
void st_free(st_list *list);

/* A JSON cursor over a NUL-terminated text; `what` names the text in error messages.
 * Walk an object or array like this:
 *     int n = 0;
 *     json_expect(c, '{');
 *     while (json_more(c, '}', &n)) { json_string(c, key, sizeof key); json_expect(c, ':'); ... }
 */
typedef struct {
    const char *p;
    const char *what;
} json_cursor;

void json_expect(json_cursor *c, char ch);
int json_more(json_cursor *c, char close, int *count);
void json_string(json_cursor *c, char *out, size_t size);
long long json_int(json_cursor *c);
int json_bool(json_cursor *c);
void json_skip(json_cursor *c);

#endif
