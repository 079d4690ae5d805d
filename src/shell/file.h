/* file.h: reading a whole file with a size cap (configuration files,
 * traces, a token file): one reader for the CLI and the shell. */
#ifndef KSISS_FILE_H
#define KSISS_FILE_H

#include <stddef.h>

/* Reads a whole file (at most max_bytes) into a NUL-terminated buffer
 * (caller frees), its length in *len. Returns NULL and a message naming
 * the path in *err (caller frees) when it cannot be opened or read, or is
 * larger than max_bytes. */
char *ksiss_read_file(const char *path, size_t max_bytes, size_t *len, char **err);

#endif
