/*
 * json.c - a strict JSON reader and a small writer, for the model file's
 * header and metadata (and any structured output).
 *
 * The reader follows RFC 8259 and nothing more: no comments, no trailing
 * commas, no leading zeros, no NaN/Infinity, strings in valid UTF-8 with
 * escapes decoded (surrogate pairs joined, lone surrogates and \u0000
 * refused), duplicate object keys refused, nesting bounded. Everything it
 * builds lives in one arena-like allocation list freed by json_free.
 *
 * The writer appends to a growable byte buffer (sbuf); a failed allocation
 * sets a flag instead of failing each call, so callers check once.
 */
#include "internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ reader */

typedef struct parser {
    const char *p, *end, *start;
    int depth, max_depth;
    const char *why;   /* first error */
    size_t where;      /* its byte offset */
    int nomem;
} parser;

static int fail(parser *ps, const char *why)
{
    if (!ps->why) {
        ps->why = why;
        ps->where = (size_t)(ps->p - ps->start);
    }
    return 0;
}

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static json_value *new_value(parser *ps, json_type type)
{
    json_value *v = ac_calloc(1, sizeof *v);
    if (!v) {
        ps->nomem = 1;
        fail(ps, "out of memory");
        return NULL;
    }
    v->type = type;
    return v;
}

static int hex4(parser *ps, unsigned *out)
{
    if (ps->end - ps->p < 4)
        return fail(ps, "truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = ps->p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return fail(ps, "bad hex digit in \\u escape");
    }
    ps->p += 4;
    *out = v;
    return 1;
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if invalid
 * (overlong forms, surrogates and code points above U+10FFFF refused). */
static size_t utf8_length(const unsigned char *s, size_t avail)
{
    unsigned c = s[0];
    size_t n;
    unsigned cp;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) n = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) n = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) n = 4, cp = c & 0x07;
    else return 0;
    if (avail < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

int utf8_valid(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t len = utf8_length((const unsigned char *)s + i, n - i);
        if (len == 0)
            return 0;
        i += len;
    }
    return 1;
}

static size_t put_utf8(char *out, unsigned cp)
{
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Parses a string at ps->p (on the opening quote) into a new NUL-terminated
 * buffer; decoded text is never longer than its source. */
static char *parse_string(parser *ps, size_t *length)
{
    const char *q = ++ps->p;
    while (q < ps->end && *q != '"')
        q += (*q == '\\' && q + 1 < ps->end) ? 2 : 1;
    if (q >= ps->end) {
        fail(ps, "unterminated string");
        return NULL;
    }
    char *out = ac_alloc((size_t)(q - ps->p) + 1);
    if (!out) {
        ps->nomem = 1;
        fail(ps, "out of memory");
        return NULL;
    }
    size_t n = 0;
    while (ps->p < ps->end && *ps->p != '"') {
        unsigned char c = (unsigned char)*ps->p;
        if (c < 0x20) {
            fail(ps, "control character in a string");
            goto bad;
        }
        if (c != '\\') {
            size_t len = utf8_length((const unsigned char *)ps->p, (size_t)(ps->end - ps->p));
            if (len == 0) {
                fail(ps, "invalid UTF-8 in a string");
                goto bad;
            }
            memcpy(out + n, ps->p, len);
            n += len;
            ps->p += len;
            continue;
        }
        ps->p++;
        char e = *ps->p++;
        switch (e) {
        case '"': out[n++] = '"'; break;
        case '\\': out[n++] = '\\'; break;
        case '/': out[n++] = '/'; break;
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'n': out[n++] = '\n'; break;
        case 'r': out[n++] = '\r'; break;
        case 't': out[n++] = '\t'; break;
        case 'u': {
            unsigned cp;
            if (!hex4(ps, &cp))
                goto bad;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u') {
                    fail(ps, "lone surrogate in a \\u escape");
                    goto bad;
                }
                ps->p += 2;
                if (!hex4(ps, &lo))
                    goto bad;
                if (lo < 0xDC00 || lo > 0xDFFF) {
                    fail(ps, "lone surrogate in a \\u escape");
                    goto bad;
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                fail(ps, "lone surrogate in a \\u escape");
                goto bad;
            } else if (cp == 0) {
                fail(ps, "\\u0000 in a string");
                goto bad;
            }
            n += put_utf8(out + n, cp);
            break;
        }
        default:
            ps->p--;
            fail(ps, "unknown escape in a string");
            goto bad;
        }
    }
    ps->p++; /* closing quote */
    out[n] = '\0';
    *length = n;
    return out;
bad:
    ac_free(out);
    return NULL;
}

static int parse_number(parser *ps, json_value *v)
{
    const char *s = ps->p;
    if (ps->p < ps->end && *ps->p == '-')
        ps->p++;
    if (ps->p >= ps->end || !(*ps->p >= '0' && *ps->p <= '9'))
        return fail(ps, "bad number");
    if (*ps->p == '0') {
        ps->p++;
        if (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
            return fail(ps, "leading zero in a number");
    } else {
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
            ps->p++;
    }
    int integer = 1;
    if (ps->p < ps->end && *ps->p == '.') {
        integer = 0;
        ps->p++;
        if (ps->p >= ps->end || !(*ps->p >= '0' && *ps->p <= '9'))
            return fail(ps, "bad fraction in a number");
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
            ps->p++;
    }
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
        integer = 0;
        ps->p++;
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
            ps->p++;
        if (ps->p >= ps->end || !(*ps->p >= '0' && *ps->p <= '9'))
            return fail(ps, "bad exponent in a number");
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
            ps->p++;
    }
    size_t len = (size_t)(ps->p - s);
    char buf[64];
    if (len >= sizeof buf)
        return fail(ps, "number too long");
    memcpy(buf, s, len);
    buf[len] = '\0';
    v->number = strtod(buf, NULL);
    if (!isfinite(v->number))
        return fail(ps, "number out of range");
    /* Exact unsigned integers (shapes, offsets) are read from the digits,
     * not through a double that would round above 2^53. */
    v->is_uint = integer && s[0] != '-';
    if (v->is_uint) {
        uint64_t u = 0;
        for (size_t i = 0; i < len; i++) {
            unsigned d = (unsigned)(s[i] - '0');
            if (u > (UINT64_MAX - d) / 10) {
                v->is_uint = 0;
                break;
            }
            u = u * 10 + d;
        }
        v->uint = u;
    }
    return 1;
}

static json_value *parse_value(parser *ps);

/* Appends to a growing array of pointers; returns 0 when out of memory. */
static int push(parser *ps, void ***items, size_t *count, size_t *cap, void *item)
{
    if (*count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        void **bigger = ac_alloc(ncap * sizeof *bigger);
        if (!bigger) {
            ps->nomem = 1;
            return fail(ps, "out of memory");
        }
        if (*count)
            memcpy(bigger, *items, *count * sizeof *bigger);
        ac_free(*items);
        *items = bigger;
        *cap = ncap;
    }
    (*items)[(*count)++] = item;
    return 1;
}

static json_value *parse_container(parser *ps, int object)
{
    json_value *v = new_value(ps, object ? JSON_OBJECT : JSON_ARRAY);
    if (!v)
        return NULL;
    if (++ps->depth > ps->max_depth) {
        fail(ps, "nesting too deep");
        return v;
    }
    ps->p++;
    size_t cap = 0, kcap = 0;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == (object ? '}' : ']')) {
        ps->p++;
        ps->depth--;
        return v;
    }
    for (;;) {
        skip_ws(ps);
        if (object) {
            if (ps->p >= ps->end || *ps->p != '"') {
                fail(ps, "expected a string key");
                return v;
            }
            size_t klen;
            char *key = parse_string(ps, &klen);
            if (!key)
                return v;
            if (strlen(key) != klen) {
                ac_free(key);
                fail(ps, "NUL in a key");
                return v;
            }
            for (size_t i = 0; i < v->key_count; i++)
                if (strcmp(v->keys[i], key) == 0) {
                    ac_free(key);
                    fail(ps, "duplicate key");
                    return v;
                }
            if (!push(ps, (void ***)&v->keys, &v->key_count, &kcap, key)) {
                ac_free(key);
                return v;
            }
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') {
                fail(ps, "expected ':' after a key");
                return v;
            }
            ps->p++;
        }
        json_value *item = parse_value(ps);
        if (item && !push(ps, (void ***)&v->items, &v->count, &cap, item))
            json_free(item);
        if (ps->why)
            return v;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == (object ? '}' : ']')) {
            ps->p++;
            ps->depth--;
            return v;
        }
        fail(ps, object ? "expected ',' or '}'" : "expected ',' or ']'");
        return v;
    }
}

static json_value *parse_value(parser *ps)
{
    skip_ws(ps);
    if (ps->p >= ps->end) {
        fail(ps, "unexpected end of text");
        return NULL;
    }
    char c = *ps->p;
    if (c == '{' || c == '[')
        return parse_container(ps, c == '{');
    if (c == '"') {
        json_value *v = new_value(ps, JSON_STRING);
        if (v && !(v->string = parse_string(ps, &v->length))) {
            ac_free(v);
            return NULL;
        }
        return v;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        json_value *v = new_value(ps, JSON_NUMBER);
        if (v)
            parse_number(ps, v);
        return v;
    }
    static const struct { const char *word; json_type type; } words[] = {
        {"true", JSON_TRUE}, {"false", JSON_FALSE}, {"null", JSON_NULL}};
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(words[i].word);
        if ((size_t)(ps->end - ps->p) >= n && memcmp(ps->p, words[i].word, n) == 0) {
            ps->p += n;
            return new_value(ps, words[i].type);
        }
    }
    fail(ps, "unexpected character");
    return NULL;
}

ac_status json_parse(const char *text, size_t length, int max_depth, json_value **out,
                     const char **why, size_t *where)
{
    parser ps = {text, text + length, text, 0, max_depth, NULL, 0, 0};
    json_value *v = parse_value(&ps);
    if (!ps.why) {
        skip_ws(&ps);
        if (ps.p != ps.end)
            fail(&ps, "text after the JSON value");
    }
    if (ps.why) {
        json_free(v);
        if (why)
            *why = ps.why;
        if (where)
            *where = ps.where;
        return ps.nomem ? AC_ERR_NOMEM : AC_ERR_PARSE;
    }
    *out = v;
    return AC_OK;
}

void json_free(json_value *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->count; i++)
        json_free(v->items[i]);
    /* A parse that failed after a key but before its value leaves one key
     * more than values, hence a count of its own. */
    for (size_t i = 0; i < v->key_count; i++)
        ac_free(v->keys[i]);
    ac_free(v->items);
    ac_free(v->keys);
    ac_free(v->string);
    ac_free(v);
}

const json_value *json_get(const json_value *object, const char *key)
{
    if (!object || object->type != JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < object->count; i++)
        if (strcmp(object->keys[i], key) == 0)
            return object->items[i];
    return NULL;
}

/* ------------------------------------------------------------------ writer */

int sbuf_append(sbuf *b, const char *s, size_t n)
{
    if (b->failed)
        return 0;
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 256;
        while (ncap < b->len + n + 1) {
            if (ncap > SIZE_MAX / 2) {
                b->failed = 1;
                return 0;
            }
            ncap *= 2;
        }
        char *bigger = ac_alloc(ncap);
        if (!bigger) {
            b->failed = 1;
            return 0;
        }
        if (b->len)
            memcpy(bigger, b->data, b->len);
        ac_free(b->data);
        b->data = bigger;
        b->cap = ncap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 1;
}

int sbuf_puts(sbuf *b, const char *s)
{
    return sbuf_append(b, s, strlen(s));
}

int sbuf_printf(sbuf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return 0;
    }
    if ((size_t)n < sizeof small)
        return sbuf_append(b, small, (size_t)n);
    char *big = ac_alloc((size_t)n + 1);
    if (!big) {
        b->failed = 1;
        return 0;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int ok = sbuf_append(b, big, (size_t)n);
    ac_free(big);
    return ok;
}

int sbuf_json_string(sbuf *b, const char *s, size_t n)
{
    sbuf_append(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            sbuf_append(b, esc, 2);
        } else if (c < 0x20) {
            sbuf_printf(b, "\\u%04x", c);
        } else {
            sbuf_append(b, (const char *)&s[i], 1);
        }
    }
    return sbuf_append(b, "\"", 1);
}

int sbuf_json_float(sbuf *b, double x)
{
    if (!isfinite(x))
        return sbuf_puts(b, "null");
    return sbuf_printf(b, "%.9g", x);
}

void sbuf_free(sbuf *b)
{
    ac_free(b->data);
    memset(b, 0, sizeof *b);
}
