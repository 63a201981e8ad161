/*
 * safetensors.c - model files: the safetensors container (an 8-byte
 * little-endian header length, a JSON header, packed little-endian float32
 * data), read without trusting anything, and written atomically.
 *
 * Reading checks, before using a byte: the file and header sizes against
 * fixed limits, the header as strict JSON (json.c: no duplicate keys), each
 * tensor entry's exact keys, dtype F32, shape products without overflow,
 * offsets that tile the data exactly (sorted by offset, the first at 0,
 * each starting where the previous ends, the last at the end of the file).
 * The model layer then checks names, shapes against the metadata, and that
 * every weight is finite. docs/model-format.md describes the format.
 *
 * Writing goes to a temporary file in the target's directory, which is
 * flushed, fsynced and renamed over the target, then the directory is
 * fsynced: at any moment the target is the old file or the new one, whole.
 */
#define _POSIX_C_SOURCE 200809L

#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A header is JSON of a few kilobytes (names of features and labels
 * included); 16 MiB leaves room for 65,536 long feature names while keeping
 * a hostile length from allocating gigabytes. */
#define ST_MAX_HEADER (16u << 20)
/* The largest model file read: reference rows are at most a few MiB. */
#define ST_MAX_FILE ((uint64_t)1 << 31)
#define ST_MAX_DIMS 8

/* ------------------------------------------------------------------ reading */

static uint64_t read_u64_le(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static int compare_offsets(const void *a, const void *b)
{
    const st_tensor *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Reads a whole regular file, refusing it before allocating when it is
 * larger than `limit`. */
static ac_status read_file(const char *path, uint64_t limit, unsigned char **bytes, size_t *size,
                           ac_error *err)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return ac_set_error(err, AC_ERR_IO, path, 0, 0, "cannot open: %s", strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return ac_set_error(err, AC_ERR_IO, path, 0, 0, "cannot read: %s", strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return ac_set_error(err, AC_ERR_IO, path, 0, 0, "cannot read: Is a directory");
    }
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > limit) {
        close(fd);
        return ac_set_error(err, AC_ERR_PARSE, path, 0, 0,
                            "not a regular file of at most %llu bytes (expected a model file)",
                            (unsigned long long)limit);
    }
    size_t n = (size_t)st.st_size;
    unsigned char *buf = ac_alloc(n + 1);
    if (!buf) {
        close(fd);
        return ac_set_error(err, AC_ERR_NOMEM, path, 0, 0, "out of memory reading %zu bytes", n);
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int e = r < 0 ? errno : 0;
            close(fd);
            ac_free(buf);
            return ac_set_error(err, AC_ERR_IO, path, 0, 0, "cannot read: %s",
                                e ? strerror(e) : "the file shrank while being read");
        }
        got += (size_t)r;
    }
    close(fd);
    *bytes = buf;
    *size = n;
    return AC_OK;
}

#define BAD(...) (st = ac_set_error(err, AC_ERR_PARSE, path, 0, 0, __VA_ARGS__))

/* Checks one tensor entry of the header and fills t (name borrowed from the
 * JSON tree, which the file keeps). */
static ac_status parse_entry(const char *path, const char *name, const json_value *v,
                             st_tensor *t, ac_error *err)
{
    ac_status st = AC_OK;
    if (v->type != JSON_OBJECT || v->count != 3)
        return BAD("tensor '%s': expected an object of exactly dtype, shape and data_offsets",
                   name);
    const json_value *dtype = json_get(v, "dtype"), *shape = json_get(v, "shape");
    const json_value *offsets = json_get(v, "data_offsets");
    if (!dtype || !shape || !offsets)
        return BAD("tensor '%s': expected exactly the keys dtype, shape and data_offsets", name);
    if (dtype->type != JSON_STRING || strcmp(dtype->string, "F32") != 0)
        return BAD("tensor '%s': dtype %s (expected \"F32\")", name,
                   dtype->type == JSON_STRING ? dtype->string : "not a string");
    if (shape->type != JSON_ARRAY || shape->count > ST_MAX_DIMS)
        return BAD("tensor '%s': shape is not an array of at most %d sizes", name, ST_MAX_DIMS);
    uint64_t elements = 1;
    for (size_t i = 0; i < shape->count; i++) {
        const json_value *d = shape->items[i];
        if (d->type != JSON_NUMBER || !d->is_uint)
            return BAD("tensor '%s': shape holds something other than a size", name);
        t->shape[i] = d->uint;
        /* elements · d·4 must fit in 64 bits: no size of a real file comes close. */
        if (d->uint != 0 && elements > (UINT64_MAX / 4) / d->uint)
            return BAD("tensor '%s': shape too large", name);
        elements *= d->uint;
    }
    t->ndim = shape->count;
    if (offsets->type != JSON_ARRAY || offsets->count != 2 ||
        offsets->items[0]->type != JSON_NUMBER || !offsets->items[0]->is_uint ||
        offsets->items[1]->type != JSON_NUMBER || !offsets->items[1]->is_uint)
        return BAD("tensor '%s': data_offsets is not [begin, end]", name);
    uint64_t begin = offsets->items[0]->uint, end = offsets->items[1]->uint;
    if (end < begin || end - begin != elements * 4)
        return BAD("tensor '%s': data_offsets [%llu, %llu] do not hold %llu float32 values",
                   name, (unsigned long long)begin, (unsigned long long)end,
                   (unsigned long long)elements);
    t->name = name;
    t->offset = begin;
    t->bytes = end - begin;
    t->elements = elements;
    return AC_OK;
}

ac_status st_read_file(const char *path, st_file *out, ac_error *err)
{
    st_file f;
    memset(&f, 0, sizeof f);
    ac_status st = read_file(path, ST_MAX_FILE, &f.bytes, &f.size, err);
    if (st != AC_OK)
        return st;
    if (f.size < 8) {
        BAD("%zu bytes is too short for a safetensors file (expected an 8-byte header length "
            "first)", f.size);
        goto fail;
    }
    uint64_t header_len = read_u64_le(f.bytes);
    if (header_len > ST_MAX_HEADER || header_len > f.size - 8) {
        BAD("header length %llu is beyond %s (expected at most %u and within the file)",
            (unsigned long long)header_len,
            header_len > f.size - 8 ? "the end of the file" : "the limit", ST_MAX_HEADER);
        goto fail;
    }
    const char *why;
    size_t where;
    st = json_parse((const char *)f.bytes + 8, (size_t)header_len, 4, &f.header, &why, &where);
    if (st != AC_OK) {
        st = ac_set_error(err, st, path, 0, 0, "header JSON: %s at byte %zu of the header", why,
                          where);
        goto fail;
    }
    if (f.header->type != JSON_OBJECT) {
        BAD("header is not a JSON object");
        goto fail;
    }
    f.data_start = 8 + (size_t)header_len;
    size_t data_len = f.size - f.data_start;
    f.tensors = ac_calloc(f.header->count ? f.header->count : 1, sizeof(st_tensor));
    if (!f.tensors) {
        st = ac_set_error(err, AC_ERR_NOMEM, path, 0, 0, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < f.header->count; i++) {
        const char *key = f.header->keys[i];
        const json_value *v = f.header->items[i];
        if (strcmp(key, "__metadata__") == 0) {
            if (v->type != JSON_OBJECT) {
                BAD("__metadata__ is not an object");
                goto fail;
            }
            for (size_t j = 0; j < v->count; j++)
                if (v->items[j]->type != JSON_STRING) {
                    BAD("__metadata__ value of '%s' is not a string", v->keys[j]);
                    goto fail;
                }
            f.metadata = v;
            continue;
        }
        if ((st = parse_entry(path, key, v, &f.tensors[f.count], err)) != AC_OK)
            goto fail;
        f.count++;
    }
    /* The data must be tiled exactly: sorted by offset, no gap, no overlap,
     * nothing after the last tensor. */
    st_tensor *sorted = ac_alloc((f.count ? f.count : 1) * sizeof *sorted);
    if (!sorted) {
        st = ac_set_error(err, AC_ERR_NOMEM, path, 0, 0, "out of memory");
        goto fail;
    }
    if (f.count)
        memcpy(sorted, f.tensors, f.count * sizeof *sorted);
    qsort(sorted, f.count, sizeof *sorted, compare_offsets);
    uint64_t expect = 0;
    for (size_t i = 0; i < f.count; i++) {
        if (sorted[i].offset != expect) {
            BAD("tensor '%s' starts at byte %llu of the data (expected %llu: tensors must be "
                "packed with no gap or overlap)",
                sorted[i].name, (unsigned long long)sorted[i].offset,
                (unsigned long long)expect);
            ac_free(sorted);
            goto fail;
        }
        expect += sorted[i].bytes;
    }
    ac_free(sorted);
    if (expect != data_len) {
        BAD("the tensors cover %llu bytes of data but the file holds %zu (expected them to "
            "match exactly)",
            (unsigned long long)expect, data_len);
        goto fail;
    }
    *out = f;
    return AC_OK;

fail:
    st_file_free(&f);
    return st;
}

const st_tensor *st_find(const st_file *f, const char *name)
{
    for (size_t i = 0; i < f->count; i++)
        if (strcmp(f->tensors[i].name, name) == 0)
            return &f->tensors[i];
    return NULL;
}

void st_tensor_floats(const st_file *f, const st_tensor *t, float *out)
{
    const unsigned char *p = f->bytes + f->data_start + t->offset;
    for (uint64_t i = 0; i < t->elements; i++, p += 4) {
        uint32_t bits = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                        (uint32_t)p[3] << 24;
        memcpy(&out[i], &bits, sizeof bits);
    }
}

const char *st_metadata(const st_file *f, const char *key)
{
    const json_value *v = json_get(f->metadata, key);
    return v ? v->string : NULL;
}

void st_file_free(st_file *f)
{
    ac_free(f->bytes);
    json_free(f->header);
    ac_free(f->tensors);
    memset(f, 0, sizeof *f);
}

#undef BAD

/* ------------------------------------------------------------------ writing */

/* Writes all of buf, retrying short writes. The test hook stops or kills
 * the process half-way through the file so that tests can look at the
 * target while a save is in flight (ATTNCLUSTER_TEST_SAVE_SIGNAL=STOP|KILL;
 * test-only, documented in tests/). */
static int write_all(int fd, const unsigned char *buf, size_t n, size_t *written, size_t total)
{
    const char *hook = getenv("ATTNCLUSTER_TEST_SAVE_SIGNAL");
    size_t half = total / 2;
    while (n > 0) {
        size_t chunk = n;
        if (hook && *written < half && *written + chunk > half)
            chunk = half - *written;
        ssize_t r = write(fd, buf, chunk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        buf += r;
        n -= (size_t)r;
        *written += (size_t)r;
        if (hook && *written == half) {
            fsync(fd);
            if (strcmp(hook, "STOP") == 0)
                raise(SIGSTOP);
            else if (strcmp(hook, "KILL") == 0)
                raise(SIGKILL);
        }
    }
    return 0;
}

/* The directory part of path ("." when it has none). */
static char *directory_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return string_copy(".");
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *dir = ac_alloc(n + 1);
    if (dir) {
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    return dir;
}

ac_status st_write_atomic(const char *path, const unsigned char *const *parts,
                          const size_t *sizes, size_t n_parts, ac_error *err)
{
    size_t total = 0;
    for (size_t i = 0; i < n_parts; i++)
        total += sizes[i];
    size_t plen = strlen(path);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (*base == '\0')
        return ac_set_error(err, AC_ERR_IO, path, 0, 0,
                            "cannot save: the path names a directory (expected a file name)");
    char *dir = directory_of(path);
    char *tmp = ac_alloc(plen + 32);
    if (!dir || !tmp) {
        ac_free(dir);
        ac_free(tmp);
        return ac_set_error(err, AC_ERR_NOMEM, path, 0, 0, "out of memory");
    }
    /* ".NAME.tmp-XXXXXX" beside the target: same file system, so rename
     * is atomic; hidden, so a crash's leftover does not look like a model. */
    snprintf(tmp, plen + 32, "%.*s.%s.tmp-XXXXXX", (int)(base - path), path, base);
    ac_status st = AC_OK;
    int fd = mkstemp(tmp);
    if (fd < 0) {
        st = ac_set_error(err, AC_ERR_IO, path, 0, 0, "cannot save: cannot create a file in %s: %s",
                          dir, strerror(errno));
        goto out;
    }
    /* mkstemp makes the file 0600; give it the mode a new file would get. */
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0) {
        st = ac_set_error(err, AC_ERR_IO, path, 0, 0, "cannot save: %s", strerror(errno));
        close(fd);
        unlink(tmp);
        goto out;
    }
    size_t written = 0;
    for (size_t i = 0; i < n_parts; i++)
        if (write_all(fd, parts[i], sizes[i], &written, total) != 0) {
            st = ac_set_error(err, AC_ERR_IO, path, 0, 0, "cannot save: writing %s: %s", tmp,
                              strerror(errno));
            close(fd);
            unlink(tmp);
            goto out;
        }
    if (fsync(fd) != 0 || close(fd) != 0) {
        st = ac_set_error(err, AC_ERR_IO, path, 0, 0, "cannot save: flushing %s: %s", tmp,
                          strerror(errno));
        unlink(tmp);
        goto out;
    }
    if (rename(tmp, path) != 0) {
        st = ac_set_error(err, AC_ERR_IO, path, 0, 0, "cannot save: renaming %s over it: %s", tmp,
                          strerror(errno));
        unlink(tmp);
        goto out;
    }
    /* The rename is durable only once the directory entry is on disk. */
    int dfd = open(dir, O_RDONLY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
out:
    ac_free(dir);
    ac_free(tmp);
    return st;
}

ac_status ac_file_write_atomic(const char *path, const void *data, size_t size, ac_error *err)
{
    const unsigned char *parts[1] = {data};
    return st_write_atomic(path, parts, &size, 1, err);
}
