/* line_buffer: the read buffer of a line source (connect.line_buffer(), userdata
 * "luaconnect.line_buffer"). Bytes read from a file land in C memory, not in Lua strings:
 * LuaJIT hashes every string it makes, byte by byte, and a file source that read into Lua
 * strings made each byte into a string three or four times (the chunk read, the unfinished
 * line carried over, the batch's text), ~11,000 instructions a 1 KB line.
 *
 * The buffer holds [start, len): a batch of complete lines [start, cut) and after it what is
 * not cut yet. poll_lines() returns the buffer itself as its batch; the worker reads the batch
 * in place (lc_line_buffer_batch) until the next poll, which drops it (begin).
 *
 * Lua methods (b is the buffer):
 *   b:begin()              drops the last batch: the next cut starts a new one
 *   b:cut(max) -> n, bytes extends the batch by the complete lines after it, up to max lines
 *                          in the batch; its line count and size
 *   b:fill(file, size) -> n   reads up to size bytes of the io file into the buffer (the
 *                          batch and the unfinished line are kept); 0 at the end of the file
 *   b:append(s)            appends the string s (a line read from stdin)
 *   b:reset()              empties the buffer (a file replaced or truncated)
 *   b:text() -> s          the batch as one string
 *   b:line(k) -> s         the batch's k-th line, newline included (k counted from 1; reading
 *                          the lines in order costs one pass)
 *   #b                     the batch's size in bytes
 * Depends on LuaJIT and libc. */
#ifndef LC_LINE_BUFFER_H
#define LC_LINE_BUFFER_H

#include <lua.h>
#include <stddef.h>

/** Pushes connect.line_buffer, the constructor. */
void lc_line_buffer_open(lua_State *L);

/** When the value at idx is a line buffer: its batch in *data and *len, and 1; else 0. The
 * bytes stay valid until the buffer's next method call. */
int lc_line_buffer_batch(lua_State *L, int idx, const char **data, size_t *len);

#endif
