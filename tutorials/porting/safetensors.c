/* safetensors.c: the reader, the writer and the JSON cursor declared in safetensors.h (the
 * format is described there). Plain C99, libc only. */
#include "safetensors.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void st_die(const char *fmt, ...)
{
    va_list args;
    fputs("gpt: ", stderr);
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fputc('\n', stderr);
    exit(1);
}

void st_format(char *out, size_t size, const char *fmt, ...)
{
    va_list args;
    int need;
    va_start(args, fmt);
    need = vsnprintf(out, size, fmt, args);
    va_end(args);
    if (need < 0 || (size_t)need >= size)
        st_die("a name or path is longer than %lu characters: '%s...'", (unsigned long)size - 1, out);
}

void st_check_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    if (first != 1)
        st_die("this port reads and writes little-endian bytes with memcpy; it needs a little-endian machine");
}

static void *checked_malloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        st_die("out of memory allocating %lu bytes", (unsigned long)size);
    return p;
}

char *st_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    size_t used = 0, capacity = 1 << 16, got;
    char *buf;
    if (!f)
        st_die("cannot open %s: %s", path, strerror(errno));
    buf = checked_malloc(capacity);
    while ((got = fread(buf + used, 1, capacity - used - 1, f)) > 0) {
        used += got;
        if (capacity - used - 1 == 0) {
            capacity *= 2;
            buf = realloc(buf, capacity);
            if (!buf)
                st_die("out of memory reading %s", path);
        }
    }
    if (ferror(f))
        st_die("cannot read %s: %s", path, strerror(errno));
    fclose(f);
    buf[used] = '\0';
    *size = used;
    return buf;
}

/* ---- the JSON cursor ---------------------------------------------------------------- */

static void skip_space(json_cursor *c)
{
    while (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')
        c->p++;
}

void json_expect(json_cursor *c, char ch)
{
    skip_space(c);
    if (*c->p != ch)
        st_die("%s: bad JSON, expected '%c' but found '%.20s'", c->what, ch, c->p);
    c->p++;
}

int json_more(json_cursor *c, char close, int *count)
{
    skip_space(c);
    if (*c->p == close) {
        c->p++;
        return 0;
    }
    if ((*count)++ > 0)
        json_expect(c, ',');
    return 1;
}

void json_string(json_cursor *c, char *out, size_t size)
{
    size_t n = 0;
    json_expect(c, '"');
    while (*c->p != '"') {
        char ch = *c->p++;
        if (ch == '\0')
            st_die("%s: bad JSON, a string is not closed", c->what);
        if (ch == '\\') {
            ch = *c->p++;
            switch (ch) {
            case 'n': ch = '\n'; break;
            case 't': ch = '\t'; break;
            case 'r': ch = '\r'; break;
            case 'b': ch = '\b'; break;
            case 'f': ch = '\f'; break;
            case '"': case '\\': case '/': break;
            case 'u': {  /* \uXXXX: only ASCII code points, enough for tensor names */
                char hex[5] = {0};
                long code;
                memcpy(hex, c->p, 4);
                code = strtol(hex, NULL, 16);
                if (strlen(hex) != 4 || code <= 0 || code > 127)
                    st_die("%s: JSON escape \\u%s is not ASCII; this reader keeps names ASCII", c->what, hex);
                ch = (char)code;
                c->p += 4;
                break;
            }
            default:
                st_die("%s: bad JSON escape \\%c", c->what, ch);
            }
        }
        if (n + 1 >= size)
            st_die("%s: a JSON string is longer than %lu characters", c->what, (unsigned long)size - 1);
        out[n++] = ch;
    }
    c->p++;
    out[n] = '\0';
}

long long json_int(json_cursor *c)
{
    char *end;
    long long value;
    skip_space(c);
    errno = 0;
    value = strtoll(c->p, &end, 10);
    if (end == c->p || errno || *end == '.' || *end == 'e' || *end == 'E')
        st_die("%s: expected an integer, found '%.20s'", c->what, c->p);
    c->p = end;
    return value;
}

int json_bool(json_cursor *c)
{
    skip_space(c);
    if (strncmp(c->p, "true", 4) == 0) {
        c->p += 4;
        return 1;
    }
    if (strncmp(c->p, "false", 5) == 0) {
        c->p += 5;
        return 0;
    }
    st_die("%s: expected true or false, found '%.20s'", c->what, c->p);
    return 0;
}

void json_skip(json_cursor *c)
{
    char scratch[4096];
    int n = 0;
    skip_space(c);
    if (*c->p == '"') {
        json_string(c, scratch, sizeof scratch);
    } else if (*c->p == '{' || *c->p == '[') {
        char close = *c->p == '{' ? '}' : ']';
        c->p++;
        while (json_more(c, close, &n)) {
            if (close == '}') {
                json_string(c, scratch, sizeof scratch);
                json_expect(c, ':');
            }
            json_skip(c);
        }
    } else {  /* a number, true, false or null */
        const char *start = c->p;
        while (*c->p && strchr(",]} \t\r\n", *c->p) == NULL)
            c->p++;
        if (c->p == start)
            st_die("%s: bad JSON, expected a value but found '%.20s'", c->what, start);
    }
}

/* ---- tensors -------------------------------------------------------------------------- */

static st_tensor *add_tensor(st_list *list, const char *name, st_dtype dtype, int ndim, const long *shape)
{
    st_tensor *t;
    int d;
    if (strlen(name) >= ST_MAX_NAME)
        st_die("tensor name '%s' is longer than %d characters", name, ST_MAX_NAME - 1);
    if (ndim < 0 || ndim > ST_MAX_DIMS)
        st_die("tensor '%s' has %d dimensions; this reader takes 0 to %d", name, ndim, ST_MAX_DIMS);
    if (st_find(list, name))
        st_die("tensor '%s' appears twice", name);
    if (list->count == list->capacity) {
        list->capacity = list->capacity ? 2 * list->capacity : 64;
        list->items = realloc(list->items, (size_t)list->capacity * sizeof *list->items);
        if (!list->items)
            st_die("out of memory growing the tensor list");
    }
    t = &list->items[list->count++];
    memset(t, 0, sizeof *t);
    strcpy(t->name, name);
    t->dtype = dtype;
    t->ndim = ndim;
    t->numel = 1;
    for (d = 0; d < ndim; d++) {
        if (shape[d] < 0)
            st_die("tensor '%s' has a negative dimension %ld", name, shape[d]);
        t->shape[d] = shape[d];
        t->numel *= shape[d];
    }
    if (dtype == ST_I64)
        t->i64 = calloc((size_t)t->numel + 1, sizeof *t->i64);
    else
        t->f32 = calloc((size_t)t->numel + 1, sizeof *t->f32);
    if (!t->i64 && !t->f32)
        st_die("out of memory for tensor '%s'", name);
    return t;
}

float *st_add_f32(st_list *list, const char *name, int ndim, const long *shape)
{
    return add_tensor(list, name, ST_F32, ndim, shape)->f32;
}

int64_t *st_add_i64(st_list *list, const char *name, int ndim, const long *shape)
{
    return add_tensor(list, name, ST_I64, ndim, shape)->i64;
}

const st_tensor *st_find(const st_list *list, const char *name)
{
    int i;
    for (i = 0; i < list->count; i++)
        if (strcmp(list->items[i].name, name) == 0)
            return &list->items[i];
    return NULL;
}

static size_t item_size(st_dtype dtype)
{
    return dtype == ST_F32 ? 4 : 8;
}

/* One header entry {"dtype": ..., "shape": [...], "data_offsets": [BEGIN, END]}: copy its data
 * from the data part (data_size bytes) into a new tensor of list. */
static void read_entry(json_cursor *c, const char *name, const unsigned char *data, size_t data_size,
                       st_list *list)
{
    char key[32], dtype_name[16] = "";
    long shape[ST_MAX_DIMS];
    long long begin = -1, end = -1;
    int ndim = -1, n = 0, i;
    st_dtype dtype = ST_F32;
    st_tensor *t;
    json_expect(c, '{');
    while (json_more(c, '}', &n)) {
        json_string(c, key, sizeof key);
        json_expect(c, ':');
        if (strcmp(key, "dtype") == 0) {
            json_string(c, dtype_name, sizeof dtype_name);
        } else if (strcmp(key, "shape") == 0) {
            int m = 0;
            ndim = 0;
            json_expect(c, '[');
            while (json_more(c, ']', &m)) {
                if (ndim == ST_MAX_DIMS)
                    st_die("%s: tensor '%s' has more than %d dimensions", c->what, name, ST_MAX_DIMS);
                shape[ndim++] = (long)json_int(c);
            }
        } else if (strcmp(key, "data_offsets") == 0) {
            json_expect(c, '[');
            begin = json_int(c);
            json_expect(c, ',');
            end = json_int(c);
            json_expect(c, ']');
        } else {
            json_skip(c);
        }
    }
    if (strcmp(dtype_name, "F32") == 0)
        dtype = ST_F32;
    else if (strcmp(dtype_name, "F64") == 0)
        dtype = ST_F64;
    else if (strcmp(dtype_name, "I64") == 0)
        dtype = ST_I64;
    else
        st_die("%s: tensor '%s' has dtype '%s'; this reader takes F32, F64 and I64", c->what, name, dtype_name);
    if (ndim < 0 || begin < 0)
        st_die("%s: tensor '%s' lacks its shape or data_offsets", c->what, name);
    t = add_tensor(list, name, dtype, ndim, shape);
    if (end - begin != (long long)((size_t)t->numel * item_size(dtype)) || (size_t)end > data_size)
        st_die("%s: tensor '%s' has data_offsets [%lld, %lld] but its shape needs %ld bytes of the %lu stored",
               c->what, name, begin, end, (long)((size_t)t->numel * item_size(dtype)), (unsigned long)data_size);
    if (dtype == ST_I64) {
        memcpy(t->i64, data + begin, (size_t)(end - begin));
    } else if (dtype == ST_F32) {
        memcpy(t->f32, data + begin, (size_t)(end - begin));
    } else {
        for (i = 0; i < t->numel; i++) {
            double value;
            memcpy(&value, data + begin + 8 * (long long)i, 8);
            t->f32[i] = (float)value;
        }
    }
}

void st_read(const char *path, st_list *list)
{
    size_t size, header_size = 0;
    unsigned char *file = (unsigned char *)st_read_file(path, &size);
    char *header, name[ST_MAX_NAME];
    json_cursor c;
    int i, n = 0;
    if (size < 8)
        st_die("%s: too short to be a safetensors file (%lu bytes)", path, (unsigned long)size);
    for (i = 7; i >= 0; i--)  /* the 8-byte little-endian header length */
        header_size = header_size * 256 + file[i];
    if (header_size > size - 8)
        st_die("%s: header length %lu runs past the end of the file (%lu bytes)", path,
               (unsigned long)header_size, (unsigned long)size);
    header = checked_malloc(header_size + 1);
    memcpy(header, file + 8, header_size);
    header[header_size] = '\0';
    c.p = header;
    c.what = path;
    json_expect(&c, '{');
    while (json_more(&c, '}', &n)) {
        json_string(&c, name, sizeof name);
        json_expect(&c, ':');
        if (strcmp(name, "__metadata__") == 0)
            json_skip(&c);
        else
            read_entry(&c, name, file + 8 + header_size, size - 8 - header_size, list);
    }
    free(header);
    free(file);
}

/* printf onto the end of a growing string. */
static void append(char **buf, size_t *used, size_t *capacity, const char *fmt, ...)
{
    va_list args;
    int need;
    va_start(args, fmt);
    need = vsnprintf(NULL, 0, fmt, args);
    va_end(args);
    while (*used + (size_t)need + 1 > *capacity) {
        *capacity = *capacity ? 2 * *capacity : 4096;
        *buf = realloc(*buf, *capacity);
        if (!*buf)
            st_die("out of memory writing a safetensors header");
    }
    va_start(args, fmt);
    vsnprintf(*buf + *used, (size_t)need + 1, fmt, args);
    va_end(args);
    *used += (size_t)need;
}

void st_write(const char *path, const st_list *list)
{
    char *header = NULL;
    size_t used = 0, capacity = 0, offset = 0;
    unsigned char length[8];
    FILE *f;
    int i, d;
    append(&header, &used, &capacity, "{");
    for (i = 0; i < list->count; i++) {
        const st_tensor *t = &list->items[i];
        size_t bytes = (size_t)t->numel * item_size(t->dtype);
        if (strpbrk(t->name, "\"\\"))
            st_die("tensor name '%s' holds a quote or backslash; this writer does not escape them", t->name);
        append(&header, &used, &capacity, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[", i ? "," : "", t->name,
               t->dtype == ST_I64 ? "I64" : "F32");
        for (d = 0; d < t->ndim; d++)
            append(&header, &used, &capacity, "%s%ld", d ? "," : "", t->shape[d]);
        append(&header, &used, &capacity, "],\"data_offsets\":[%lu,%lu]}", (unsigned long)offset,
               (unsigned long)(offset + bytes));
        offset += bytes;
    }
    append(&header, &used, &capacity, "}");
    while (used % 8)  /* pad the header with spaces so the data starts 8-byte aligned */
        append(&header, &used, &capacity, " ");
    for (d = 0; d < 8; d++)
        length[d] = (unsigned char)((used >> (8 * d)) & 0xff);
    f = fopen(path, "wb");
    if (!f)
        st_die("cannot write %s: %s (does its directory exist?)", path, strerror(errno));
    fwrite(length, 1, 8, f);
    fwrite(header, 1, used, f);
    for (i = 0; i < list->count; i++) {
        const st_tensor *t = &list->items[i];
        if (t->dtype == ST_I64)
            fwrite(t->i64, sizeof *t->i64, (size_t)t->numel, f);
        else
            fwrite(t->f32, sizeof *t->f32, (size_t)t->numel, f);
    }
    if (fclose(f) != 0)
        st_die("cannot finish writing %s: %s", path, strerror(errno));
    free(header);
}

void st_free(st_list *list)
{
    int i;
    for (i = 0; i < list->count; i++) {
        free(list->items[i].f32);
        free(list->items[i].i64);
    }
    free(list->items);
    list->items = NULL;
    list->count = list->capacity = 0;
}
