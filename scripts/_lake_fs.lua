--- _lake_fs: the filesystem calls partitioned_sink needs and Lua's io lacks (LuaJIT FFI to
-- libc and zlib): mkdir -p, rename, unlink, fsync of a path or a directory, directory
-- listing, and gzip writers.
--
-- Linux (glibc) only: the struct dirent layout below is glibc's on 64-bit targets.
local ffi = require "ffi"

pcall(ffi.cdef, [[
int open(const char *path, int flags, ...);
int close(int fd);
int fsync(int fd);
int rename(const char *from, const char *to);
int unlink(const char *path);
int mkdir(const char *path, unsigned int mode);
int rmdir(const char *path);
char *strerror(int errnum);
typedef struct lc_lake_dir lc_lake_dir;
struct lc_lake_dirent { uint64_t d_ino; int64_t d_off; unsigned short d_reclen; unsigned char d_type; char d_name[256]; };
lc_lake_dir *opendir(const char *path);
struct lc_lake_dirent *readdir(lc_lake_dir *d);
int closedir(lc_lake_dir *d);
typedef struct lc_lake_gz *lc_lake_gzFile;
lc_lake_gzFile gzopen(const char *path, const char *mode);
int gzwrite(lc_lake_gzFile f, const void *buf, unsigned int len);
int gzclose(lc_lake_gzFile f);
]])

local C = ffi.C
local M = {}
local O_RDONLY, O_DIRECTORY = 0, 0x10000
local DT_DIR, DT_UNKNOWN = 4, 0

local function errno_text() return ffi.string(C.strerror(ffi.errno())) end

--- Creates dir and its parents (mkdir -p); raises naming the directory.
function M.mkdirs(dir)
  local path = ""
  for part in dir:gmatch("[^/]+") do
    if path == "" and dir:sub(1, 1) ~= "/" then path = part else path = path .. "/" .. part end
    if C.mkdir(path, 493) ~= 0 and ffi.errno() ~= 17 then
      error(string.format("cannot create directory %s: %s", path, errno_text()), 0)
    end
  end
end

--- fsyncs a file or directory by path; raises naming it.
function M.fsync_path(path, is_dir)
  local fd = C.open(path, is_dir and (O_RDONLY + O_DIRECTORY) or O_RDONLY)
  if fd < 0 then error(string.format("cannot open %s to fsync it: %s", path, errno_text()), 0) end
  local rc = C.fsync(fd)
  local e = errno_text()
  C.close(fd)
  if rc ~= 0 then error(string.format("fsync %s: %s", path, e), 0) end
end

--- Renames from to to (atomic within one filesystem); raises naming both.
function M.rename(from, to)
  if C.rename(from, to) ~= 0 then
    error(string.format("cannot rename %s to %s: %s", from, to, errno_text()), 0)
  end
end

--- Removes a file; true when it is gone (or was never there).
function M.unlink(path)
  return C.unlink(path) == 0 or ffi.errno() == 2
end

--- Removes an empty directory (errors ignored: it may hold files).
function M.rmdir(path) C.rmdir(path) end

--- Entries of dir (without . and ..): list of {name, is_dir}; empty when dir is missing.
function M.list(dir)
  local d = C.opendir(dir)
  local out = {}
  if d == nil then return out end
  while true do
    local e = C.readdir(d)
    if e == nil then break end
    local name = ffi.string(e.d_name)
    if name ~= "." and name ~= ".." then
      local is_dir = e.d_type == DT_DIR
      if e.d_type == DT_UNKNOWN then is_dir = C.opendir(dir .. "/" .. name) ~= nil end
      out[#out + 1] = { name, is_dir }
    end
  end
  C.closedir(d)
  return out
end

--- Every file under dir (recursively), skipping directories named in skip: calls fn(dir, name).
function M.walk(dir, fn, skip)
  for _, e in ipairs(M.list(dir)) do
    if e[2] then
      if not (skip and skip[e[1]]) then M.walk(dir .. "/" .. e[1], fn, skip) end
    else
      fn(dir, e[1])
    end
  end
end

local z
--- A gzip writer on path: {write = fn(self, s), close = fn(self)}; raises naming the file.
function M.gzip_open(path)
  z = z or ffi.load("z")
  local f = z.gzopen(path, "wb")
  if f == nil then error(string.format("cannot open %s: %s", path, errno_text()), 0) end
  return {
    write = function(self, s)
      if #s > 0 and z.gzwrite(f, s, #s) ~= #s then error("gzip write failed on " .. path, 0) end
      return true
    end,
    close = function(self)
      if f ~= nil then
        local rc = z.gzclose(f)
        f = nil
        if rc ~= 0 then error("gzip close failed on " .. path, 0) end
      end
    end,
  }
end

return M
