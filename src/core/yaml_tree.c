/* yaml_tree.c: builds positioned YAML trees from libyaml's event stream
 * (see yaml_tree.h), with bounded depth and size, no alias expansion and
 * duplicate-key detection, plus typed getters that produce positioned
 * diagnostics. */
#include "core/yaml_tree.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/util.h"

/* ---- building ---- */

typedef struct {
    ksiss_ynode *node;      /* open sequence or mapping */
    ksiss_ynode *key;       /* maps: the key waiting for its value (owned) */
    bool skip_value;        /* maps: the key was refused, drop the value */
    bool orphan;            /* attached to nothing: freed when it ends */
    size_t cap;
} frame;

typedef struct {
    const char *text;
    size_t len;
    const char *file;
    int line_offset;
    int col_offset;
    ksiss_diags *d;
    size_t *line_starts;    /* byte offset of each line (built on demand) */
    size_t n_lines;
    frame stack[KSISS_YAML_MAX_DEPTH + 1];
    size_t depth;
    size_t n_nodes;
    ksiss_ynode *root;
    bool errors;            /* non-fatal problems seen */
} builder;

static ksiss_pos mark_pos(const builder *b, yaml_mark_t m)
{
    ksiss_pos p;
    p.line = (int)(m.line < 100000000 ? m.line : 100000000) + 1 + b->line_offset;
    p.col = (int)(m.column < 100000000 ? m.column : 100000000) + 1 + b->col_offset;
    return p;
}

void ksiss_ynode_free(ksiss_ynode *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++) {
        if (n->keys)
            ksiss_ynode_free(n->keys[i]);
        ksiss_ynode_free(n->items[i]);
    }
    free(n->keys);
    free(n->items);
    free(n->tag);
    free(n->scalar);
    free(n);
}

void ksiss_ynodes_free(ksiss_ynode **docs, size_t n)
{
    if (!docs)
        return;
    for (size_t i = 0; i < n; i++)
        ksiss_ynode_free(docs[i]);
    free(docs);
}

static void build_line_starts(builder *b)
{
    if (b->line_starts)
        return;
    size_t cap = 64;
    b->line_starts = ksiss_xmalloc(cap * sizeof(size_t));
    b->line_starts[0] = 0;
    b->n_lines = 1;
    for (size_t i = 0; i < b->len; i++) {
        char c = b->text[i];
        if (c == '\r' && i + 1 < b->len && b->text[i + 1] == '\n')
            continue;   /* counted at the \n */
        if (c == '\n' || c == '\r') {
            if (b->n_lines == cap) {
                cap *= 2;
                b->line_starts = ksiss_xrealloc(b->line_starts, cap * sizeof(size_t));
            }
            b->line_starts[b->n_lines++] = i + 1;
        }
    }
}

/* Leading spaces of line l. */
static size_t line_indent(const builder *b, size_t l)
{
    size_t i = b->line_starts[l];
    size_t end = l + 1 < b->n_lines ? b->line_starts[l + 1] : b->len;
    size_t sp = 0;
    while (i + sp < end && b->text[i + sp] == ' ')
        sp++;
    return sp;
}

/* Indentation of a block scalar's content. With an explicit indentation
 * indicator (`|2`) it is the header line's indentation plus the digit;
 * otherwise the leading spaces of the first non-blank line after the
 * header line `line0` (0-based, in this text), as YAML defines it. */
static int block_indent(builder *b, size_t line0, size_t col0)
{
    build_line_starts(b);
    if (line0 >= b->n_lines)
        return 0;
    /* Find the indicator: col0 characters into the header line. */
    size_t i = b->line_starts[line0];
    size_t end = line0 + 1 < b->n_lines ? b->line_starts[line0 + 1] : b->len;
    for (size_t c = 0; c < col0 && i < end; c++) {
        i++;
        while (i < end && ((unsigned char)b->text[i] & 0xc0) == 0x80)
            i++;
    }
    if (i < end && (b->text[i] == '|' || b->text[i] == '>')) {
        for (size_t k = i + 1; k < end && k < i + 3; k++) {
            char ch = b->text[k];
            if (ch >= '1' && ch <= '9') {
                size_t n = line_indent(b, line0) + (size_t)(ch - '0');
                return n > 100000 ? 100000 : (int)n;
            }
            if (ch != '+' && ch != '-')
                break;
        }
    }
    for (size_t l = line0 + 1; l < b->n_lines; l++) {
        size_t at = b->line_starts[l];
        size_t stop = l + 1 < b->n_lines ? b->line_starts[l + 1] : b->len;
        size_t sp = line_indent(b, l);
        if (at + sp < stop && b->text[at + sp] != '\n' && b->text[at + sp] != '\r')
            return sp > 100000 ? 100000 : (int)sp;
    }
    return 0;
}

/* Position of byte `off` (reader errors give a byte offset, no mark). */
static ksiss_pos offset_pos(builder *b, size_t off)
{
    build_line_starts(b);
    if (off > b->len)
        off = b->len;
    size_t lo = 0, hi = b->n_lines;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (b->line_starts[mid] <= off)
            lo = mid;
        else
            hi = mid;
    }
    size_t col = 0;
    for (size_t i = b->line_starts[lo]; i < off; i++)
        if (((unsigned char)b->text[i] & 0xc0) != 0x80)
            col++;
    ksiss_pos p;
    p.line = (int)(lo < 100000000 ? lo : 100000000) + 1 + b->line_offset;
    p.col = (int)(col < 100000000 ? col : 100000000) + 1 + b->col_offset;
    return p;
}

static ksiss_ynode *new_node(builder *b, ksiss_ykind kind, yaml_mark_t m, const yaml_char_t *tag)
{
    ksiss_ynode *n = ksiss_xcalloc(1, sizeof(*n));
    n->kind = kind;
    n->pos = mark_pos(b, m);
    n->tag = tag ? ksiss_xstrdup((const char *)tag) : NULL;
    b->n_nodes++;
    return n;
}

static void push_child(frame *f, ksiss_ynode *child)
{
    if (f->node->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 4;
        f->node->items = ksiss_xrealloc(f->node->items, f->cap * sizeof(*f->node->items));
        if (f->node->kind == KSISS_Y_MAP)
            f->node->keys = ksiss_xrealloc(f->node->keys, f->cap * sizeof(*f->node->keys));
    }
    f->node->items[f->node->n] = child;
    if (f->node->kind == KSISS_Y_MAP)
        f->node->keys[f->node->n] = f->key;
    f->node->n++;
}

/* Places a finished node: into the open collection, or as the root. */
static void attach(builder *b, ksiss_ynode *n)
{
    if (b->depth == 0) {
        ksiss_ynode_free(b->root);
        b->root = n;
        return;
    }
    frame *f = &b->stack[b->depth - 1];
    if (f->node->kind == KSISS_Y_SEQ) {
        push_child(f, n);
        return;
    }
    if (f->skip_value) {
        f->skip_value = false;
        ksiss_ynode_free(n);
        return;
    }
    if (!f->key) {
        if (n->kind != KSISS_Y_SCALAR) {
            ksiss_diags_add(b->d, b->file, n->pos,
                            "a mapping key must be a plain value, not %s", ksiss_y_kind_name(n));
            b->errors = true;
            ksiss_ynode_free(n);
            f->skip_value = true;
            return;
        }
        f->key = n;
        return;
    }
    push_child(f, n);
    f->key = NULL;
}

typedef struct {
    size_t idx;
    const ksiss_ynode *key;
} key_ref;

static int cmp_keys(const void *a, const void *b)
{
    const key_ref *x = a, *y = b;
    const ksiss_ynode *kx = x->key, *ky = y->key;
    size_t n = kx->scalar_len < ky->scalar_len ? kx->scalar_len : ky->scalar_len;
    int c = memcmp(kx->scalar, ky->scalar, n);
    if (c)
        return c;
    if (kx->scalar_len != ky->scalar_len)
        return kx->scalar_len < ky->scalar_len ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Reports and removes every repeated key (the first one stays). */
static void check_duplicates(builder *b, ksiss_ynode *map)
{
    if (map->n < 2)
        return;
    key_ref *refs = ksiss_xmalloc(map->n * sizeof(*refs));
    for (size_t i = 0; i < map->n; i++) {
        refs[i].idx = i;
        refs[i].key = map->keys[i];
    }
    qsort(refs, map->n, sizeof(*refs), cmp_keys);
    bool *drop = NULL;
    for (size_t i = 1; i < map->n; i++) {
        const ksiss_ynode *prev = refs[i - 1].key, *cur = refs[i].key;
        if (prev->scalar_len == cur->scalar_len && !memcmp(prev->scalar, cur->scalar, cur->scalar_len)) {
            /* refs[i-1] may itself be a duplicate of an earlier one: find the first. */
            size_t first = i - 1;
            while (first > 0 && refs[first - 1].key->scalar_len == cur->scalar_len &&
                   !memcmp(refs[first - 1].key->scalar, cur->scalar, cur->scalar_len))
                first--;
            char *ex = ksiss_y_excerpt(cur);
            ksiss_diags_add(b->d, b->file, cur->pos, "duplicate key %s (first at line %d)",
                            ex, refs[first].key->pos.line);
            free(ex);
            b->errors = true;
            if (!drop)
                drop = ksiss_xcalloc(map->n, sizeof(bool));
            drop[refs[i].idx] = true;
        }
    }
    free(refs);
    if (!drop)
        return;
    size_t w = 0;
    for (size_t i = 0; i < map->n; i++) {
        if (drop[i]) {
            ksiss_ynode_free(map->keys[i]);
            ksiss_ynode_free(map->items[i]);
            continue;
        }
        map->keys[w] = map->keys[i];
        map->items[w] = map->items[i];
        w++;
    }
    map->n = w;
    free(drop);
}

static void builder_clear_stack(builder *b)
{
    /* Frames below the top are attached to their parents, except the
     * bottom one, which owns the whole open document. */
    for (size_t i = 0; i < b->depth; i++) {
        ksiss_ynode_free(b->stack[i].key);
        b->stack[i].key = NULL;
        if (i > 0 && b->stack[i].orphan)
            ksiss_ynode_free(b->stack[i].node);
    }
    if (b->depth > 0)
        ksiss_ynode_free(b->stack[0].node);
    b->depth = 0;
}

static ksiss_ystyle scalar_style(yaml_scalar_style_t s)
{
    switch (s) {
    case YAML_SINGLE_QUOTED_SCALAR_STYLE: return KSISS_YS_SINGLE;
    case YAML_DOUBLE_QUOTED_SCALAR_STYLE: return KSISS_YS_DOUBLE;
    case YAML_LITERAL_SCALAR_STYLE: return KSISS_YS_LITERAL;
    case YAML_FOLDED_SCALAR_STYLE: return KSISS_YS_FOLDED;
    default: return KSISS_YS_PLAIN;
    }
}

/* Handles one event; returns 1 at the end of the stream, -1 on a fatal
 * problem, 0 otherwise. Documents completed go to *docs. */
static int on_event(builder *b, yaml_event_t *ev, ksiss_ynode ***docs, size_t *n_docs, size_t *cap_docs)
{
    switch (ev->type) {
    case YAML_STREAM_END_EVENT:
        return 1;
    case YAML_DOCUMENT_START_EVENT:
        b->root = NULL;
        return 0;
    case YAML_DOCUMENT_END_EVENT: {
        ksiss_ynode *root = b->root;
        b->root = NULL;
        if (!root) {
            root = new_node(b, KSISS_Y_SCALAR, ev->start_mark, NULL);
            root->scalar = ksiss_xstrdup("");
        }
        if (*n_docs == *cap_docs) {
            *cap_docs = *cap_docs ? *cap_docs * 2 : 2;
            *docs = ksiss_xrealloc(*docs, *cap_docs * sizeof(**docs));
        }
        (*docs)[(*n_docs)++] = root;
        return 0;
    }
    case YAML_ALIAS_EVENT: {
        ksiss_ynode *n = new_node(b, KSISS_Y_SCALAR, ev->start_mark, NULL);
        n->scalar = ksiss_xstrdup("");
        ksiss_diags_add(b->d, b->file, n->pos, "aliases (*%s) are not supported: write the value out",
                        ev->data.alias.anchor ? (const char *)ev->data.alias.anchor : "");
        b->errors = true;
        attach(b, n);
        break;
    }
    case YAML_SCALAR_EVENT: {
        ksiss_ynode *n = new_node(b, KSISS_Y_SCALAR, ev->start_mark, ev->data.scalar.tag);
        n->scalar_len = ev->data.scalar.length;
        n->scalar = ksiss_xstrndup((const char *)ev->data.scalar.value, n->scalar_len);
        n->style = scalar_style(ev->data.scalar.style);
        n->quoted = n->style == KSISS_YS_SINGLE || n->style == KSISS_YS_DOUBLE;
        if (n->style == KSISS_YS_LITERAL || n->style == KSISS_YS_FOLDED) {
            n->block_line = n->pos.line;
            n->block_indent = block_indent(b, ev->start_mark.line, ev->start_mark.column) + b->col_offset;
        }
        attach(b, n);
        break;
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        bool is_seq = ev->type == YAML_SEQUENCE_START_EVENT;
        if (b->depth >= KSISS_YAML_MAX_DEPTH) {
            ksiss_diags_add(b->d, b->file, mark_pos(b, ev->start_mark),
                            "nesting deeper than %d levels", KSISS_YAML_MAX_DEPTH);
            return -1;
        }
        ksiss_ynode *n = new_node(b, is_seq ? KSISS_Y_SEQ : KSISS_Y_MAP, ev->start_mark,
                                  is_seq ? ev->data.sequence_start.tag : ev->data.mapping_start.tag);
        /* Attach first (the parent owns it from now on), then open it.
         * A collection used as a mapping key, or as the value of a refused
         * key, is an orphan: kept open for its events, freed at its end. */
        bool orphan = false;
        if (b->depth > 0) {
            frame *f = &b->stack[b->depth - 1];
            if (f->node->kind == KSISS_Y_MAP && f->skip_value) {
                f->skip_value = false;
                orphan = true;
            } else if (f->node->kind == KSISS_Y_MAP && !f->key) {
                ksiss_diags_add(b->d, b->file, n->pos,
                                "a mapping key must be a plain value, not %s", ksiss_y_kind_name(n));
                b->errors = true;
                f->skip_value = true;
                orphan = true;
            } else {
                attach(b, n);
            }
        }
        b->stack[b->depth].node = n;
        b->stack[b->depth].key = NULL;
        b->stack[b->depth].skip_value = false;
        b->stack[b->depth].orphan = orphan;
        b->stack[b->depth].cap = 0;
        b->depth++;
        break;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: {
        if (b->depth == 0)
            return -1;
        frame *f = &b->stack[--b->depth];
        ksiss_ynode *n = f->node;
        ksiss_ynode_free(f->key);   /* a key without value cannot happen; be safe */
        f->key = NULL;
        if (n->kind == KSISS_Y_MAP)
            check_duplicates(b, n);
        if (f->orphan) {
            ksiss_ynode_free(n);
        } else if (b->depth == 0) {
            ksiss_ynode_free(b->root);
            b->root = n;
        }
        break;
    }
    default:
        break;
    }
    if (b->n_nodes > KSISS_YAML_MAX_NODES) {
        ksiss_diags_add(b->d, b->file, mark_pos(b, ev->start_mark),
                        "more than %d YAML nodes: refusing to go on", KSISS_YAML_MAX_NODES);
        return -1;
    }
    return 0;
}

int ksiss_yaml_parse(const char *text, size_t len, const char *file,
                     int line_offset, int col_offset,
                     ksiss_ynode ***docs, size_t *n_docs, ksiss_diags *d)
{
    *docs = NULL;
    *n_docs = 0;
    size_t cap_docs = 0;
    builder b;
    memset(&b, 0, sizeof(b));
    b.text = text ? text : "";
    b.len = text ? len : 0;
    b.file = file;
    b.line_offset = line_offset;
    b.col_offset = col_offset;
    b.d = d;

    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        ksiss_diags_add(d, file, (ksiss_pos){0, 0}, "cannot initialise the YAML parser");
        return -1;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)b.text, b.len);
    int rc = 0;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            ksiss_pos pos = mark_pos(&b, p.problem_mark);
            if (p.error == YAML_READER_ERROR)
                pos = offset_pos(&b, p.problem_offset);
            if (p.error == YAML_READER_ERROR && p.problem_value != -1)
                ksiss_diags_add(d, file, pos, "YAML syntax error: %s (byte 0x%02x)",
                                p.problem ? p.problem : "error", (unsigned)p.problem_value & 0xffu);
            else if (p.context)
                ksiss_diags_add(d, file, pos, "YAML syntax error: %s (%s at line %d)", p.problem ? p.problem : "error",
                                p.context, (int)p.context_mark.line + 1 + line_offset);
            else
                ksiss_diags_add(d, file, pos, "YAML syntax error: %s", p.problem ? p.problem : "error");
            rc = -1;
            break;
        }
        int r = on_event(&b, &ev, docs, n_docs, &cap_docs);
        yaml_event_delete(&ev);
        if (r == 1)
            break;
        if (r < 0) {
            rc = -1;
            break;
        }
    }
    yaml_parser_delete(&p);
    free(b.line_starts);
    if (rc < 0) {
        builder_clear_stack(&b);
        ksiss_ynode_free(b.root);
        ksiss_ynodes_free(*docs, *n_docs);
        *docs = NULL;
        *n_docs = 0;
        return -1;
    }
    ksiss_ynode_free(b.root);
    return b.errors ? -1 : 0;
}

/* ---- reading ---- */

static int strcasecmp_ascii(const char *a, const char *b)
{
    for (;; a++, b++) {
        int x = (*a >= 'A' && *a <= 'Z') ? *a - 'A' + 'a' : (unsigned char)*a;
        int y = (*b >= 'A' && *b <= 'Z') ? *b - 'A' + 'a' : (unsigned char)*b;
        if (x != y || !x)
            return x - y;
    }
}

const ksiss_ynode *ksiss_ymap_get(const ksiss_ynode *map, const char *key)
{
    if (!map || map->kind != KSISS_Y_MAP || !key)
        return NULL;
    size_t kl = strlen(key);
    for (size_t i = 0; i < map->n; i++)
        if (map->keys[i]->scalar_len == kl && !memcmp(map->keys[i]->scalar, key, kl))
            return map->items[i];
    return NULL;
}

bool ksiss_y_is_null(const ksiss_ynode *n)
{
    if (!n || n->kind != KSISS_Y_SCALAR || n->quoted)
        return false;
    if (n->style != KSISS_YS_PLAIN)
        return false;
    if (n->tag && strcmp(n->tag, "tag:yaml.org,2002:null") != 0)
        return false;
    const char *s = n->scalar;
    return !strcmp(s, "") || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

const char *ksiss_y_kind_name(const ksiss_ynode *n)
{
    if (!n)
        return "nothing";
    switch (n->kind) {
    case KSISS_Y_MAP: return "a mapping";
    case KSISS_Y_SEQ: return "a list";
    default: return ksiss_y_is_null(n) ? "null" : "a string";
    }
}

char *ksiss_y_excerpt(const ksiss_ynode *n)
{
    if (!n || n->kind != KSISS_Y_SCALAR || ksiss_y_is_null(n))
        return ksiss_xstrdup(ksiss_y_kind_name(n));
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    ksiss_sb_putc(&sb, '"');
    size_t shown = 0;
    for (size_t i = 0; i < n->scalar_len; i++) {
        unsigned char c = (unsigned char)n->scalar[i];
        if (shown >= 40) {
            ksiss_sb_puts(&sb, "...");
            break;
        }
        if (c == '"' || c == '\\')
            ksiss_sb_printf(&sb, "\\%c", c);
        else if (c == '\n')
            ksiss_sb_puts(&sb, "\\n");
        else if (c < 0x20 || c == 0x7f)
            ksiss_sb_printf(&sb, "\\x%02x", c);
        else
            ksiss_sb_putc(&sb, (char)c);
        /* Count characters, not UTF-8 continuation bytes. */
        if ((c & 0xc0) != 0x80)
            shown++;
    }
    ksiss_sb_putc(&sb, '"');
    return ksiss_sb_take(&sb);
}

static void type_error(const ksiss_ynode *n, const char *file, const char *what,
                       const char *expected, ksiss_diags *d)
{
    char *ex = ksiss_y_excerpt(n);
    ksiss_diags_add(d, file, n ? n->pos : (ksiss_pos){0, 0}, "%s: expected %s, got %s", what, expected, ex);
    free(ex);
}

int ksiss_y_string(const ksiss_ynode *n, const char *file, const char *what,
                   const char **out, ksiss_diags *d)
{
    if (!n || n->kind != KSISS_Y_SCALAR || ksiss_y_is_null(n)) {
        type_error(n, file, what, "a string", d);
        return -1;
    }
    *out = n->scalar;
    return 0;
}

/* YAML numbers may start with '+', which the util's strict parsers refuse:
 * the number without it ("+-5" stays as it is, and is refused). */
static const char *yaml_plus(const char *s)
{
    return s[0] == '+' && s[1] != '-' ? s + 1 : s;
}

int ksiss_y_double(const ksiss_ynode *n, const char *file, const char *what,
                   double *out, ksiss_diags *d)
{
    if (!n || n->kind != KSISS_Y_SCALAR || ksiss_y_is_null(n)) {
        type_error(n, file, what, "a number", d);
        return -1;
    }
    const char *s = n->scalar;
    const char *t = s[0] == '+' || s[0] == '-' ? s + 1 : s;
    if (!strcmp(t, ".inf") || !strcmp(t, ".Inf") || !strcmp(t, ".INF") ||
        !strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN")) {
        type_error(n, file, what, "a finite number", d);
        return -1;
    }
    double v;
    /* YAML allows a leading '+' (the util does not); the util refuses
     * blanks, hex, "nan" and "inf". An embedded NUL is not a number. */
    if (n->scalar_len != strlen(s) || ksiss_parse_double(yaml_plus(s), &v) != 0) {
        type_error(n, file, what, "a finite number", d);
        return -1;
    }
    *out = v;
    return 0;
}

int ksiss_y_int(const ksiss_ynode *n, const char *file, const char *what,
                int64_t min, int64_t max, int64_t *out, ksiss_diags *d)
{
    if (!n || n->kind != KSISS_Y_SCALAR || ksiss_y_is_null(n)) {
        type_error(n, file, what, "an integer", d);
        return -1;
    }
    const char *s = n->scalar;
    int64_t v;
    /* YAML allows a leading '+' (the util does not). */
    if (n->scalar_len != strlen(s) || ksiss_parse_int64(yaml_plus(s), &v) != 0) {
        type_error(n, file, what, "an integer", d);
        return -1;
    }
    if (v < min || v > max) {
        ksiss_diags_add(d, file, n->pos, "%s: %lld is out of range [%lld, %lld]", what,
                        (long long)v, (long long)min, (long long)max);
        return -1;
    }
    *out = v;
    return 0;
}

int ksiss_y_bool(const ksiss_ynode *n, const char *file, const char *what,
                 bool *out, ksiss_diags *d)
{
    static const char *const yes[] = {"true", "yes", "on", NULL};
    static const char *const no[] = {"false", "no", "off", NULL};
    if (n && n->kind == KSISS_Y_SCALAR && !n->quoted) {
        for (size_t i = 0; yes[i]; i++)
            if (!strcasecmp_ascii(n->scalar, yes[i])) {
                *out = true;
                return 0;
            }
        for (size_t i = 0; no[i]; i++)
            if (!strcasecmp_ascii(n->scalar, no[i])) {
                *out = false;
                return 0;
            }
    }
    type_error(n, file, what, "true or false", d);
    return -1;
}

int ksiss_y_duration_ms(const ksiss_ynode *n, const char *file, const char *what,
                        int64_t *out, ksiss_diags *d)
{
    if (!n || n->kind != KSISS_Y_SCALAR || ksiss_y_is_null(n) ||
        n->scalar_len != strlen(n->scalar) || ksiss_parse_duration_ms(n->scalar, out) != 0) {
        type_error(n, file, what, "a duration such as 500ms, 30s, 5m or 1h", d);
        return -1;
    }
    return 0;
}

/* ---- unknown keys ---- */

static int ascii_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Optimal-string-alignment distance (a swap of two neighbours costs 1),
 * ignoring ASCII case; words longer than 64 are never close. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return (size_t)-1;
    size_t r0[65], r1[65], r2[65];  /* rows i-2, i-1, i */
    size_t *pp = r0, *prev = r1, *cur = r2;
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        int ca = ascii_lower((unsigned char)a[i - 1]);
        for (size_t j = 1; j <= lb; j++) {
            int cb = ascii_lower((unsigned char)b[j - 1]);
            size_t best = prev[j - 1] + (ca == cb ? 0 : 1);
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (i > 1 && j > 1 && ca == ascii_lower((unsigned char)b[j - 2]) &&
                ascii_lower((unsigned char)a[i - 2]) == cb && pp[j - 2] + 1 < best)
                best = pp[j - 2] + 1;
            cur[j] = best;
        }
        size_t *t = pp;
        pp = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb];
}

const char *ksiss_did_you_mean(const char *word, const char *const *candidates)
{
    if (!word)
        return NULL;
    size_t len = strlen(word);
    size_t limit = len / 3 > 1 ? len / 3 : 1;
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; candidates[i]; i++) {
        size_t dist = edit_distance(word, candidates[i]);
        if (dist < best_d) {
            best_d = dist;
            best = candidates[i];
        }
    }
    return best_d <= limit ? best : NULL;
}

size_t ksiss_y_check_keys(const ksiss_ynode *map, const char *file, const char *what,
                          const char *const *allowed, ksiss_diags *d)
{
    if (!map || map->kind != KSISS_Y_MAP)
        return 0;
    size_t bad = 0;
    for (size_t i = 0; i < map->n; i++) {
        const ksiss_ynode *k = map->keys[i];
        bool known = false;
        for (size_t j = 0; allowed[j] && !known; j++)
            known = k->scalar_len == strlen(allowed[j]) && !strcmp(k->scalar, allowed[j]);
        if (known)
            continue;
        bad++;
        char *ex = ksiss_y_excerpt(k);
        const char *sugg = ksiss_did_you_mean(k->scalar, allowed);
        ksiss_strbuf known_list;
        ksiss_sb_init(&known_list, 0);
        for (size_t j = 0; allowed[j]; j++)
            ksiss_sb_printf(&known_list, "%s%s", j ? ", " : "", allowed[j]);
        if (sugg)
            ksiss_diags_add(d, file, k->pos, "%s: unknown field %s (did you mean \"%s\"?)", what, ex, sugg);
        else
            ksiss_diags_add(d, file, k->pos, "%s: unknown field %s (known: %s)", what, ex,
                            ksiss_sb_str(&known_list));
        ksiss_sb_free(&known_list);
        free(ex);
    }
    return bad;
}
