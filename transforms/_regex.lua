--- _regex: Java regular expressions (java.util.regex.Pattern syntax and matching rules) for
-- RegexRouter and TopicNameMatches, compiled to Lua closures. Depends on nothing.
--
-- Why a compiler of our own: Lua patterns are not regexes (no alternation, no groups
-- under a quantifier), and POSIX regcomp through the FFI matches leftmost-longest where
-- Java matches leftmost-first ("a|ab" finds "a"), lacks lazy/possessive quantifiers,
-- (?:...), lookaround, \d, and is locale-dependent. Here the pattern is parsed as Java
-- parses it and run by a backtracking matcher with Java's order of trying alternatives,
-- so groups and replaceFirst() agree with Kafka. Matching speed matters little: the
-- transforms cache their result per topic name.
--
--   local re, err = regex.compile("(.*)-(\\d{8})")   -- err: "Illegal repetition near index 3"
--   re:matches("index-20160117")                      -- whole string, like Matcher.matches()
--   re:find(s)                                        -- first match: start, stop (inclusive)
--   local rep = assert(re:replacement("$1"))          -- Matcher's $n / ${name} / \x syntax
--   re:replace_first(s, rep)                          -- like Matcher.replaceFirst()
--
-- Supported: literals and escapes (\t \n \r \f \a \e \0oo \xhh \x{h..} \uhhhh \cX), . and
-- classes ([a-z], [^...], nested unions, && intersections, \d \D \w \W \s \S \h \H \v \V,
-- \p{Lower|Upper|ASCII|Alpha|Digit|Alnum|Punct|Graph|Print|Blank|Cntrl|XDigit|Space}),
-- anchors (^ $ \A \z \Z \b \B \G), groups (capturing, (?<name>...), (?:...), (?>...),
-- lookahead and bounded lookbehind), alternation, greedy/lazy/possessive * + ? {m,n},
-- backreferences (\1, \k<name>), \R, \Q...\E and inline flags (?imsxdu-imsxdu) / (?i:...).
-- Limits: strings are UTF-8 and matched per code point; case-insensitive matching and
-- \b, \w are ASCII-only (Java's default); Unicode properties (\p{L}, \p{IsLatin}),
-- \X, \N{...} and the U (UNICODE_CHARACTER_CLASS) flag are rejected at compile time.
local M = {}

local byte, sub, char, format = string.byte, string.sub, string.char, string.format
local concat, huge, floor = table.concat, math.huge, math.floor
local min_, max_ = math.min, math.max

-- UTF-8 --------------------------------------------------------------------------------

-- The code point at s[i] and the index after it; a malformed sequence is one byte.
local function decode(s, i)
  local b = byte(s, i)
  if b < 0xC0 or b > 0xF4 then return b, i + 1 end
  local n, cp
  if b < 0xE0 then n, cp = 1, b - 0xC0 elseif b < 0xF0 then n, cp = 2, b - 0xE0 else n, cp = 3, b - 0xF0 end
  for k = 1, n do
    local c = byte(s, i + k)
    if not c or c < 0x80 or c > 0xBF then return b, i + 1 end
    cp = cp * 64 + (c - 0x80)
  end
  return cp, i + n + 1
end

local function encode(cp)
  if cp < 0x80 then return char(cp) end
  if cp < 0x800 then return char(0xC0 + floor(cp / 64), 0x80 + cp % 64) end
  if cp < 0x10000 then
    return char(0xE0 + floor(cp / 4096), 0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
  end
  return char(0xF0 + floor(cp / 262144), 0x80 + floor(cp / 4096) % 64,
    0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
end

local function is_cont(b) return b ~= nil and b >= 0x80 and b < 0xC0 end

-- Character sets: {fn = cp -> bool, ascii = true when no code point >= 128 matches} ------

local function is_word(b) -- ASCII \w on a byte (nil is not a word character)
  return b ~= nil and ((b >= 48 and b <= 57) or (b >= 65 and b <= 90) or (b >= 97 and b <= 122)
    or b == 95)
end

local function other_case(cp)
  if cp >= 65 and cp <= 90 then return cp + 32 end
  if cp >= 97 and cp <= 122 then return cp - 32 end
  return nil
end

local function set_range(lo, hi, ci)
  local fn
  if ci then
    fn = function(cp)
      if cp >= lo and cp <= hi then return true end
      local o = other_case(cp)
      return o ~= nil and o >= lo and o <= hi
    end
  else
    fn = function(cp) return cp >= lo and cp <= hi end
  end
  return { fn = fn, ascii = hi < 128 }
end

local function set_ranges(list, ascii) -- list: {lo1, hi1, lo2, hi2, ...}
  local n = #list
  return {
    fn = function(cp)
      for k = 1, n, 2 do
        if cp >= list[k] and cp <= list[k + 1] then return true end
      end
      return false
    end,
    ascii = ascii,
  }
end

local function set_union(items)
  if #items == 1 then return items[1] end
  local n, ascii = #items, true
  for k = 1, n do ascii = ascii and items[k].ascii end
  return {
    fn = function(cp)
      for k = 1, n do
        if items[k].fn(cp) then return true end
      end
      return false
    end,
    ascii = ascii,
  }
end

local function set_and(a, b)
  local fa, fb = a.fn, b.fn
  return { fn = function(cp) return fa(cp) and fb(cp) end, ascii = a.ascii or b.ascii }
end

local function set_not(a)
  local fa = a.fn
  return { fn = function(cp) return not fa(cp) end, ascii = false }
end

local SET_ALL = { fn = function() return true end, ascii = false }

local PREDEF = {
  d = set_ranges({ 48, 57 }, true),
  w = set_ranges({ 48, 57, 65, 90, 95, 95, 97, 122 }, true),
  s = set_ranges({ 9, 13, 32, 32 }, true),
  h = set_ranges({ 9, 9, 32, 32, 0xA0, 0xA0, 0x1680, 0x1680, 0x180E, 0x180E, 0x2000, 0x200A,
    0x202F, 0x202F, 0x205F, 0x205F, 0x3000, 0x3000 }, false),
  v = set_ranges({ 10, 13, 0x85, 0x85, 0x2028, 0x2029 }, false),
}
for _, k in ipairs({ "d", "w", "s", "h", "v" }) do PREDEF[k:upper()] = set_not(PREDEF[k]) end

local POSIX = {
  Lower = { 97, 122 }, Upper = { 65, 90 }, ASCII = { 0, 127 }, Alpha = { 65, 90, 97, 122 },
  Digit = { 48, 57 }, Alnum = { 48, 57, 65, 90, 97, 122 },
  Punct = { 33, 47, 58, 64, 91, 96, 123, 126 }, Graph = { 33, 126 }, Print = { 32, 126 },
  Blank = { 9, 9, 32, 32 }, Cntrl = { 0, 31, 127, 127 }, XDigit = { 48, 57, 65, 70, 97, 102 },
  Space = { 9, 13, 32, 32 },
}

-- Line terminators (Java's, unless UNIX_LINES): \n \r \u0085 \u2028 \u2029.
local LINE_TERM = set_ranges({ 10, 10, 13, 13, 0x85, 0x85, 0x2028, 0x2029 }, false)
local DOT = set_not(LINE_TERM)
local DOT_UNIX = set_not(set_ranges({ 10, 10 }, true))

-- Length in bytes of the line terminator at s[i], 0 when there is none.
local function term_at(s, i)
  local b = byte(s, i)
  if b == 10 or b == 13 then return 1 end
  if b == 0xC2 and byte(s, i + 1) == 0x85 then return 2 end
  if b == 0xE2 and byte(s, i + 1) == 0x80 then
    local c = byte(s, i + 2)
    if c == 0xA8 or c == 0xA9 then return 3 end
  end
  return 0
end

-- True when a line terminator ends just before s[i].
local function term_before(s, i)
  local b = byte(s, i - 1)
  if b == 10 or b == 13 then return true end
  if b == 0x85 then return byte(s, i - 2) == 0xC2 end
  if b == 0xA8 or b == 0xA9 then return byte(s, i - 2) == 0x80 and byte(s, i - 3) == 0xE2 end
  return false
end

-- Parser ------------------------------------------------------------------------------

-- Java rewrites \Q...\E into escaped characters before parsing; so do we.
local function remove_qe(p)
  if not p:find("\\Q", 1, true) then return p end
  local out, i, n = {}, 1, #p
  while i <= n do
    local c = sub(p, i, i)
    if c == "\\" and sub(p, i + 1, i + 1) == "Q" then
      i = i + 2
      local e = p:find("\\E", i, true)
      for k = i, (e or n + 1) - 1 do
        local b = byte(p, k)
        if is_word(b) and b ~= 95 or b >= 128 then
          out[#out + 1] = char(b)
        else
          out[#out + 1] = "\\" .. char(b)
        end
      end
      i = e and e + 2 or n + 1
    elseif c == "\\" then
      out[#out + 1] = sub(p, i, i + 1)
      i = i + 2
    else
      out[#out + 1] = c
      i = i + 1
    end
  end
  return concat(out)
end

local FLAG_LETTERS = { i = "i", m = "m", s = "s", x = "x", d = "d", u = "u" }

-- Parses pattern into a tree; errors are raised as {regex_error = "..."}.
local function parse(pattern)
  local P = remove_qe(pattern)
  local pos, len = 1, #P
  local flags = { i = false, m = false, s = false, x = false, d = false, u = false }
  local ngroups, names = 0, {}

  -- Java reports the index of the character before its cursor; pos is 1-based.
  local function fail(desc, at)
    error({ regex_error = format("%s near index %d", desc, max_((at or pos) - 2, 0)) }, 0)
  end

  local function skip_ws()
    while pos <= len do
      local c = byte(P, pos)
      if c == 32 or (c >= 9 and c <= 13) then
        pos = pos + 1
      elseif c == 35 then -- '#' comment to the end of the line
        while pos <= len and byte(P, pos) ~= 10 and byte(P, pos) ~= 13 do pos = pos + 1 end
      else
        break
      end
    end
  end

  local function peek()
    if flags.x then skip_ws() end
    return byte(P, pos)
  end

  local function hexval(c)
    if not c then return nil end
    if c >= 48 and c <= 57 then return c - 48 end
    if c >= 65 and c <= 70 then return c - 55 end
    if c >= 97 and c <= 102 then return c - 87 end
    return nil
  end

  local function read_hex(n, desc)
    local v = 0
    for _ = 1, n do
      local h = hexval(byte(P, pos))
      if not h then fail(desc, pos + 1) end
      v = v * 16 + h
      pos = pos + 1
    end
    return v
  end

  local function single(cp)
    if flags.i and other_case(cp) then return set_range(cp, cp, true) end
    return set_range(cp, cp, false)
  end

  local function property(negate)
    local name
    if byte(P, pos) == 123 then
      local e = P:find("}", pos, true)
      if not e then fail("Unclosed character family", len + 1) end
      name = sub(P, pos + 1, e - 1)
      pos = e + 1
    else
      name = sub(P, pos, pos)
      pos = pos + 1
    end
    local key = name:gsub("^Is", "")
    local r = POSIX[name] or POSIX[key]
    if not r then
      fail(format("Unsupported character property '%s' (only the POSIX ASCII classes)", name))
    end
    local set = set_ranges(r, true)
    return negate and set_not(set) or set
  end

  -- After a backslash. Returns "char", cp | "set", set | "node", node.
  local function escape(in_class)
    pos = pos + 1
    local c = byte(P, pos)
    if not c then fail("Unexpected internal error", pos + 1) end
    pos = pos + 1
    if c == 48 then -- \0 octal: 1-3 digits, the three-digit form only up to \0377
      local function oct(b) return b and b >= 48 and b <= 55 end
      local a = byte(P, pos)
      if not oct(a) then fail("Illegal octal escape sequence", pos) end
      local v = a - 48
      pos = pos + 1
      if oct(byte(P, pos)) then
        v = v * 8 + byte(P, pos) - 48
        pos = pos + 1
        if oct(byte(P, pos)) and a <= 51 then
          v = v * 8 + byte(P, pos) - 48
          pos = pos + 1
        end
      end
      return "char", v
    elseif c >= 49 and c <= 57 then -- backreference: more digits while such a group exists
      if in_class then fail("Illegal/unsupported escape sequence") end
      local n = c - 48
      while true do
        local d = byte(P, pos)
        if not d or d < 48 or d > 57 then break end
        local nn = n * 10 + d - 48
        if nn > ngroups then break end
        n = nn
        pos = pos + 1
      end
      return "node", { t = "backref", n = n, ci = flags.i }
    end
    local e = char(c)
    if e == "t" then return "char", 9
    elseif e == "n" then return "char", 10
    elseif e == "r" then return "char", 13
    elseif e == "f" then return "char", 12
    elseif e == "a" then return "char", 7
    elseif e == "e" then return "char", 27
    elseif e == "c" then
      local x = byte(P, pos)
      if not x then fail("Illegal control escape sequence", pos + 1) end
      pos = pos + 1
      return "char", x % 128 >= 64 and x - 64 or x + 64 -- Java: the character XOR 64
    elseif e == "x" then
      if byte(P, pos) == 123 then
        pos = pos + 1
        local v, n = 0, 0
        while hexval(byte(P, pos)) do
          v = v * 16 + hexval(byte(P, pos))
          pos, n = pos + 1, n + 1
        end
        if n == 0 or byte(P, pos) ~= 125 or v > 0x10FFFF then
          fail("Illegal hexadecimal escape sequence", pos + 1)
        end
        pos = pos + 1
        return "char", v
      end
      return "char", read_hex(2, "Illegal hexadecimal escape sequence")
    elseif e == "u" then
      local v = read_hex(4, "Illegal Unicode escape sequence")
      if v >= 0xD800 and v <= 0xDBFF and sub(P, pos, pos + 1) == "\\u" then
        local save = pos
        pos = pos + 2
        local lo = read_hex(4, "Illegal Unicode escape sequence")
        if lo >= 0xDC00 and lo <= 0xDFFF then
          return "char", 0x10000 + (v - 0xD800) * 1024 + (lo - 0xDC00)
        end
        pos = save
      end
      return "char", v
    elseif PREDEF[e] then
      return "set", PREDEF[e]
    elseif e == "p" or e == "P" then
      return "set", property(e == "P")
    elseif not in_class and (e == "b" or e == "B" or e == "A" or e == "G" or e == "Z" or e == "z") then
      return "node", { t = "anchor", a = e, d = flags.d }
    elseif not in_class and e == "R" then
      local vt = set_ranges({ 10, 13, 0x85, 0x85, 0x2028, 0x2029 }, false)
      return "node", { t = "atomic", body = { t = "alt", list = {
        { t = "str", s = "\r\n" }, { t = "set", set = vt } } } }
    elseif not in_class and e == "k" then
      if byte(P, pos) ~= 60 then
        fail("\\k is not followed by '<' for named capturing group", pos + 1)
      end
      local e2 = P:find(">", pos, true)
      if not e2 then fail("named capturing group is missing trailing '>'", len + 1) end
      local name = sub(P, pos + 1, e2 - 1)
      pos = e2 + 1
      if not names[name] then fail(format("named capturing group <%s> does not exist", name)) end
      return "node", { t = "backref", n = names[name], ci = flags.i }
    elseif (c >= 65 and c <= 90) or (c >= 97 and c <= 122) then
      fail("Illegal/unsupported escape sequence")
    end
    if c >= 128 then -- an escaped non-ASCII character is itself
      local cp, j = decode(P, pos - 1)
      pos = j
      return "char", cp
    end
    return "char", c
  end

  local function class_atom()
    local c = peek()
    if c == 92 then
      local kind, v = escape(true)
      if kind == "set" then return nil, v end
      return v
    end
    local cp, j = decode(P, pos)
    pos = j
    return cp
  end

  -- After '['. Java 9+ semantics: '^' negates the whole class, nested classes are unions,
  -- '&&' intersects, ']' first in a class is a literal.
  local function parse_class()
    local neg = false
    if peek() == 94 then
      pos = pos + 1
      neg = true
    end
    local operands, items, first = {}, {}, true
    while true do
      local c = peek()
      if not c then fail("Unclosed character class", len + 1) end
      if c == 93 and not first then
        pos = pos + 1
        break
      end
      first = false
      if c == 91 then
        pos = pos + 1
        items[#items + 1] = parse_class()
      elseif c == 38 and byte(P, pos + 1) == 38 then
        pos = pos + 2
        if #items > 0 then operands[#operands + 1] = set_union(items) end
        items = {}
      else
        local lo, set = class_atom()
        if set then
          items[#items + 1] = set
        elseif peek() == 45 and byte(P, pos + 1) ~= 93 and byte(P, pos + 1) ~= 91
            and byte(P, pos + 1) ~= nil then
          pos = pos + 1
          local hi, hiset = class_atom()
          if hiset or hi < lo then fail("Illegal character range") end
          items[#items + 1] = set_range(lo, hi, flags.i)
        else
          items[#items + 1] = single(lo)
        end
      end
    end
    if #items > 0 then operands[#operands + 1] = set_union(items) end
    local set = operands[1] or set_ranges({}, true)
    for k = 2, #operands do set = set_and(set, operands[k]) end
    return neg and set_not(set) or set
  end

  local function literal(cp)
    if flags.i and other_case(cp) then return { t = "set", set = set_range(cp, cp, true) } end
    return { t = "str", s = encode(cp) }
  end

  local parse_alt

  local function parse_group()
    local saved = {}
    for k, v in pairs(flags) do saved[k] = v end
    pos = pos + 1
    local node
    if byte(P, pos) == 63 then -- '?'
      pos = pos + 1
      local c = byte(P, pos)
      if c == 58 then
        pos = pos + 1
        node = { t = "ncgroup", body = parse_alt() }
      elseif c == 61 or c == 33 then
        pos = pos + 1
        node = { t = "look", neg = c == 33, body = parse_alt() }
      elseif c == 62 then
        pos = pos + 1
        node = { t = "atomic", body = parse_alt() }
      elseif c == 60 and (byte(P, pos + 1) == 61 or byte(P, pos + 1) == 33) then
        local neg = byte(P, pos + 1) == 33
        pos = pos + 2
        node = { t = "look", behind = true, neg = neg, body = parse_alt() }
        local wmin, wmax = M._width(node.body)
        if wmax == huge then fail("Look-behind group does not have an obvious maximum length") end
        node.wmin, node.wmax = wmin, wmax
      elseif c == 60 then
        pos = pos + 1
        local s = pos
        local b = byte(P, pos)
        if not b or not ((b >= 65 and b <= 90) or (b >= 97 and b <= 122)) then
          fail("capturing group name does not start with a Latin letter", pos + 1)
        end
        while is_word(byte(P, pos)) and byte(P, pos) ~= 95 do pos = pos + 1 end
        if byte(P, pos) ~= 62 then fail("named capturing group is missing trailing '>'", pos + 1) end
        local name = sub(P, s, pos - 1)
        pos = pos + 1
        if names[name] then fail(format("Named capturing group <%s> is already defined", name)) end
        ngroups = ngroups + 1
        names[name] = ngroups
        node = { t = "group", n = ngroups, body = parse_alt() }
      else
        local on = true
        while true do
          c = byte(P, pos)
          if c == 45 then
            on = false
          elseif c == 41 or c == 58 then
            break
          elseif c == 85 then
            fail("Unsupported inline modifier 'U' (UNICODE_CHARACTER_CLASS)", pos + 1)
          elseif c and FLAG_LETTERS[char(c)] then
            flags[FLAG_LETTERS[char(c)]] = on
          else
            fail("Unknown inline modifier", pos + 1)
          end
          pos = pos + 1
        end
        pos = pos + 1
        if c == 41 then return nil end -- (?i): the flags hold to the end of the enclosing group
        node = { t = "ncgroup", body = parse_alt() }
      end
    else
      ngroups = ngroups + 1
      node = { t = "group", n = ngroups }
      node.body = parse_alt()
    end
    if byte(P, pos) ~= 41 then fail("Unclosed group", len + 2) end
    pos = pos + 1
    flags = saved
    return node
  end

  local function parse_quant(atom)
    local c = peek()
    local lo, hi
    if c == 42 then
      lo, hi = 0, huge
    elseif c == 43 then
      lo, hi = 1, huge
    elseif c == 63 then
      lo, hi = 0, 1
    elseif c == 123 then
      local d = byte(P, pos + 1)
      if not d or d < 48 or d > 57 then fail("Illegal repetition", pos) end
      pos = pos + 1
      lo = 0
      while byte(P, pos) and byte(P, pos) >= 48 and byte(P, pos) <= 57 do
        lo = lo * 10 + byte(P, pos) - 48
        pos = pos + 1
      end
      hi = lo
      if byte(P, pos) == 44 then
        pos = pos + 1
        if byte(P, pos) == 125 then
          hi = huge
        else
          hi = 0
          while byte(P, pos) and byte(P, pos) >= 48 and byte(P, pos) <= 57 do
            hi = hi * 10 + byte(P, pos) - 48
            pos = pos + 1
          end
        end
      end
      if byte(P, pos) ~= 125 then fail("Unclosed counted closure", pos + 1) end
      if hi < lo then fail("Illegal repetition range", pos + 1) end
    else
      return atom
    end
    pos = pos + 1
    local kind = "greedy"
    c = peek()
    if c == 63 then
      kind = "lazy"
      pos = pos + 1
    elseif c == 43 then
      kind = "possessive"
      pos = pos + 1
    end
    return { t = "rep", body = atom, min = lo, max = hi, kind = kind }
  end

  local function parse_atom()
    local c = peek()
    if c == 40 then return parse_group() end
    pos = pos + 1
    if c == 91 then return { t = "set", set = parse_class() } end
    if c == 46 then return { t = "set", set = flags.s and SET_ALL or (flags.d and DOT_UNIX or DOT) } end
    if c == 94 then return { t = "anchor", a = flags.m and "^m" or "^", d = flags.d } end
    if c == 36 then return { t = "anchor", a = flags.m and "$m" or "$", d = flags.d } end
    if c == 42 or c == 43 or c == 63 then fail(format("Dangling meta character '%s'", char(c))) end
    if c == 123 then fail("Illegal repetition") end
    if c == 92 then
      pos = pos - 1
      local kind, v = escape(false)
      if kind == "char" then return literal(v) end
      if kind == "set" then return { t = "set", set = v } end
      return v
    end
    local cp, j = decode(P, pos - 1)
    pos = j
    return literal(cp)
  end

  local function parse_seq()
    local items = {}
    while true do
      local c = peek()
      if c == nil or c == 124 or c == 41 then break end
      local atom = parse_atom()
      if atom then
        atom = parse_quant(atom)
        local prev = items[#items]
        if atom.t == "str" and prev and prev.t == "str" then
          prev.s = prev.s .. atom.s
        else
          items[#items + 1] = atom
        end
      end
    end
    if #items == 1 then return items[1] end
    return { t = "seq", list = items }
  end

  parse_alt = function()
    local alts = { parse_seq() }
    while peek() == 124 do
      pos = pos + 1
      alts[#alts + 1] = parse_seq()
    end
    if #alts == 1 then return alts[1] end
    return { t = "alt", list = alts }
  end

  local tree = parse_alt()
  if pos <= len then
    if byte(P, pos) == 41 then fail("Unmatched closing ')'") end
    fail("Unexpected internal error")
  end
  return tree, ngroups, names
end

--- Minimum and maximum length in bytes of what node can match (maximum may be huge).
function M._width(node)
  local t = node.t
  if t == "set" then return 1, node.set.ascii and 1 or 4 end
  if t == "str" then return #node.s, #node.s end
  if t == "seq" then
    local lo, hi = 0, 0
    for _, n in ipairs(node.list) do
      local a, b = M._width(n)
      lo, hi = lo + a, hi + b
    end
    return lo, hi
  end
  if t == "alt" then
    local lo, hi = huge, 0
    for _, n in ipairs(node.list) do
      local a, b = M._width(n)
      lo, hi = min_(lo, a), max_(hi, b)
    end
    return lo, hi
  end
  if t == "group" or t == "ncgroup" or t == "atomic" then return M._width(node.body) end
  if t == "rep" then
    local a, b = M._width(node.body)
    local hi = node.max == huge and (b == 0 and 0 or huge) or node.max * b
    return node.min * a, hi
  end
  if t == "backref" then return 0, huge end
  return 0, 0 -- anchors, lookaround
end

-- Compiler: each node becomes a function(i) -> bool that matches at byte i and then calls the
-- continuation it was compiled with, backtracking on false, in Java's order. ------------

local function ascii_table(set)
  local tab, fn = {}, set.fn
  for c = 0, 127 do tab[c] = fn(c) or nil end
  return tab
end

local function compile(tree, ngroups)
  local S, N = "", 0           -- subject and its length, set per match
  local cs, ce, pend = {}, {}, {} -- capture start/end (end exclusive), pending group starts
  local stk, sp = {}, 0        -- positions for backtracking over variable-width characters
  local full, search_start, match_start, match_end = false, 1, nil, nil

  local comp

  local function comp_set(set, nxt)
    local tab, fn = ascii_table(set), set.fn
    return function(i)
      local b = byte(S, i)
      if not b then return false end
      if b < 128 then
        if tab[b] then return nxt(i + 1) end
        return false
      end
      local cp, j = decode(S, i)
      if fn(cp) then return nxt(j) end
      return false
    end
  end

  -- x* / x+ / x{m,n} where x is one character.
  local function comp_char_rep(node, nxt)
    local set = node.body.t == "set" and node.body.set or set_range(byte(node.body.s), byte(node.body.s))
    local tab, fn, lo, hi, kind = ascii_table(set), set.fn, node.min, node.max, node.kind
    if kind == "lazy" then
      return function(i)
        local j, c = i, 0
        while true do
          if c >= lo and nxt(j) then return true end
          if c >= hi then return false end
          local b = byte(S, j)
          if not b then return false end
          if b < 128 then
            if not tab[b] then return false end
            j = j + 1
          else
            local cp, k = decode(S, j)
            if not fn(cp) then return false end
            j = k
          end
          c = c + 1
        end
      end
    end
    if set.ascii then -- one byte per character: back off by one
      return function(i)
        local last = hi == huge and N or min_(N, i + hi - 1)
        local j = i
        while j <= last and tab[byte(S, j)] do j = j + 1 end
        local low = i + lo
        if kind == "possessive" then
          if j >= low then return nxt(j) end
          return false
        end
        while j >= low do
          if nxt(j) then return true end
          j = j - 1
        end
        return false
      end
    end
    return function(i)
      local base, j, c = sp, i, 0
      while c < hi do
        local b = byte(S, j)
        if not b then break end
        local nj
        if b < 128 then
          if not tab[b] then break end
          nj = j + 1
        else
          local cp, k = decode(S, j)
          if not fn(cp) then break end
          nj = k
        end
        c = c + 1
        stk[base + c] = j
        j = nj
      end
      if kind == "possessive" then
        if c >= lo then return nxt(j) end
        return false
      end
      sp = base + c
      while c >= lo do
        if nxt(j) then return true end
        if c == 0 then break end
        j = stk[base + c]
        c = c - 1
      end
      sp = base
      return false
    end
  end

  -- General loop, as Java's Loop/LazyLoop: an iteration that matched nothing ends it.
  local function comp_loop(node, nxt)
    local lo, hi, lazy = node.min, node.max, node.kind == "lazy"
    local cur_c, cur_b = 0, 0 -- iterations done and where the last one began (this activation)
    local body
    local function iterate(j, c)
      local sc, sb = cur_c, cur_b
      cur_c, cur_b = c + 1, j
      if body(j) then return true end
      cur_c, cur_b = sc, sb
      return false
    end
    local function after(j)
      local c, b = cur_c, cur_b
      if j == b then return nxt(j) end
      if c < lo then return iterate(j, c) end
      if lazy then
        if nxt(j) then return true end
        return c < hi and iterate(j, c)
      end
      if c < hi and iterate(j, c) then return true end
      return nxt(j)
    end
    body = comp(node.body, after)
    return function(i)
      if lo > 0 then return iterate(i, 0) end
      if lazy then return nxt(i) or iterate(i, 0) end
      return iterate(i, 0) or nxt(i)
    end
  end

  local function comp_anchor(a, unix, nxt)
    if a == "^" or a == "A" then
      return function(i) return i == 1 and nxt(i) end
    elseif a == "^m" then
      return function(i)
        if i > N then return false end -- Java: no ^ at the end of input, even after a newline
        if i > 1 then
          if unix then
            if byte(S, i - 1) ~= 10 then return false end
          else
            if not term_before(S, i) then return false end
            if byte(S, i - 1) == 13 and byte(S, i) == 10 then return false end
          end
        end
        return nxt(i)
      end
    elseif a == "$" or a == "Z" then
      return function(i)
        if i == N + 1 then return nxt(i) end
        if unix then return i == N and byte(S, i) == 10 and nxt(i) end
        if i == N - 1 and byte(S, i) == 13 and byte(S, i + 1) == 10 then return nxt(i) end
        local l = term_at(S, i)
        if l > 0 and i + l == N + 1 and not (byte(S, i) == 10 and byte(S, i - 1) == 13) then
          return nxt(i)
        end
        return false
      end
    elseif a == "$m" then
      return function(i)
        if i == N + 1 then return nxt(i) end
        if unix then return byte(S, i) == 10 and nxt(i) end
        if term_at(S, i) == 0 then return false end
        if byte(S, i) == 10 and byte(S, i - 1) == 13 then return false end
        return nxt(i)
      end
    elseif a == "z" then
      return function(i) return i == N + 1 and nxt(i) end
    elseif a == "G" then
      return function(i) return i == search_start and nxt(i) end
    elseif a == "b" or a == "B" then
      local want = a == "b"
      return function(i)
        local left = i > 1 and is_word(byte(S, i - 1))
        local right = is_word(byte(S, i))
        if (left ~= right) == want then return nxt(i) end
        return false
      end
    end
    error("unknown anchor " .. a)
  end

  comp = function(node, nxt)
    local t = node.t
    if t == "seq" then
      local m = nxt
      for k = #node.list, 1, -1 do m = comp(node.list[k], m) end
      return m
    elseif t == "str" then
      local s0, L = node.s, #node.s
      if L == 1 then
        local b0 = byte(s0)
        return function(i)
          if byte(S, i) == b0 then return nxt(i + 1) end
          return false
        end
      end
      local bs = { byte(s0, 1, L) }
      return function(i)
        if i + L - 1 > N then return false end
        for k = 1, L do
          if byte(S, i + k - 1) ~= bs[k] then return false end
        end
        return nxt(i + L)
      end
    elseif t == "set" then
      return comp_set(node.set, nxt)
    elseif t == "alt" then
      local ms = {}
      for k, a in ipairs(node.list) do ms[k] = comp(a, nxt) end
      local n = #ms
      if n == 2 then
        local a, b = ms[1], ms[2]
        return function(i) return a(i) or b(i) end
      end
      return function(i)
        for k = 1, n do
          if ms[k](i) then return true end
        end
        return false
      end
    elseif t == "group" then
      local n = node.n
      local body = comp(node.body, function(j)
        local os, oe = cs[n], ce[n]
        cs[n], ce[n] = pend[n], j
        if nxt(j) then return true end
        cs[n], ce[n] = os, oe
        return false
      end)
      return function(i)
        local saved = pend[n]
        pend[n] = i
        if body(i) then return true end
        pend[n] = saved
        return false
      end
    elseif t == "ncgroup" then
      return comp(node.body, nxt)
    elseif t == "rep" then
      local b = node.body
      if node.max == 0 then return nxt end
      if node.min == 1 and node.max == 1 then return comp(b, nxt) end
      if b.t == "set" or (b.t == "str" and #b.s == 1) then return comp_char_rep(node, nxt) end
      if node.kind == "possessive" then
        return comp({ t = "atomic", body = { t = "rep", body = b, min = node.min,
          max = node.max, kind = "greedy" } }, nxt)
      end
      if node.min == 0 and node.max == 1 then -- Java's Ques: no empty-iteration rule
        local m = comp(b, nxt)
        if node.kind == "lazy" then return function(i) return nxt(i) or m(i) end end
        return function(i) return m(i) or nxt(i) end
      end
      return comp_loop(node, nxt)
    elseif t == "atomic" then
      local endpos
      local body = comp(node.body, function(j)
        endpos = j
        return true
      end)
      return function(i)
        if body(i) then return nxt(endpos) end
        return false
      end
    elseif t == "look" and not node.behind then
      local body = comp(node.body, function() return true end)
      if node.neg then
        return function(i)
          if body(i) then return false end
          return nxt(i)
        end
      end
      return function(i)
        if body(i) then return nxt(i) end
        return false
      end
    elseif t == "look" then
      local target
      local body = comp(node.body, function(j) return j == target end)
      local wmin, wmax, neg = node.wmin, node.wmax, node.neg
      return function(i)
        local saved, ok = target, false
        target = i
        for j = i - wmin, max_(1, i - wmax), -1 do -- nearest start first, as Java
          if not is_cont(byte(S, j)) and body(j) then
            ok = true
            break
          end
        end
        target = saved
        if ok ~= neg then return nxt(i) end
        return false
      end
    elseif t == "backref" then
      local n, ci = node.n, node.ci
      return function(i)
        local s0, e0 = cs[n], ce[n]
        if not s0 then return false end
        local L = e0 - s0
        if i + L - 1 > N then return false end
        for k = 0, L - 1 do
          local a, b = byte(S, s0 + k), byte(S, i + k)
          if a ~= b and not (ci and other_case(a) == b) then return false end
        end
        return nxt(i + L)
      end
    elseif t == "anchor" then
      return comp_anchor(node.a, node.d, nxt)
    end
    error("unknown node " .. tostring(t))
  end

  local top = comp(tree, function(j)
    if full then return j == N + 1 end
    match_end = j
    return true
  end)

  local function reset(s, from)
    S, N, sp, search_start = s, #s, 0, from
    for n = 1, ngroups do cs[n], ce[n], pend[n] = false, false, false end
  end

  local re = { groups = ngroups }

  --- True when the whole of s matches (Matcher.matches()).
  function re.matches(_, s)
    reset(s, 1)
    full = true
    match_start, match_end = 1, #s + 1
    return top(1)
  end

  --- The first match at or after init (default 1): start, stop (inclusive), or nil.
  function re.find(_, s, init)
    init = init or 1
    reset(s, init)
    full = false
    for i = init, N + 1 do
      if not is_cont(byte(S, i)) and top(i) then
        match_start = i
        return i, match_end - 1
      end
    end
    return nil
  end

  --- Group n of the last successful match or find (0 is the whole match), or nil.
  function re.group(_, n)
    if n == 0 then return sub(S, match_start, match_end - 1) end
    if not cs[n] then return nil end
    return sub(S, cs[n], ce[n] - 1)
  end

  return re
end

--- Compiles a Java regex. Returns the regex, or nil and Java's description of the error
-- ("Unclosed character class near index 3").
function M.compile(pattern)
  local ok, tree, ngroups, names = pcall(parse, pattern)
  if not ok then
    if type(tree) == "table" and tree.regex_error then return nil, tree.regex_error end
    error(tree, 0)
  end
  local re = compile(tree, ngroups)
  re.pattern, re.names = pattern, names

  --- Parses a Matcher replacement string: $n, ${name}, \c. Returns the expansion or nil
  -- and Java's message (IllegalArgumentException / IndexOutOfBoundsException).
  function re.replacement(_, repl)
    local parts, lit, i, n = {}, {}, 1, #repl
    local function flush()
      if #lit > 0 then
        parts[#parts + 1] = concat(lit)
        lit = {}
      end
    end
    while i <= n do
      local c = sub(repl, i, i)
      if c == "\\" then
        i = i + 1
        if i > n then return nil, "character to be escaped is missing" end
        lit[#lit + 1] = sub(repl, i, i)
        i = i + 1
      elseif c == "$" then
        i = i + 1
        if i > n then return nil, "Illegal group reference: group index is missing" end
        local ref
        if sub(repl, i, i) == "{" then
          i = i + 1
          local s = i
          while i <= n and sub(repl, i, i):match("^[%a%d]$") do i = i + 1 end
          local name = sub(repl, s, i - 1)
          if name == "" then return nil, "named capturing group has 0 length name" end
          if sub(repl, i, i) ~= "}" then return nil, "named capturing group is missing trailing '}'" end
          if name:match("^%d") then
            return nil, format("capturing group name {%s} starts with digit character", name)
          end
          ref = names[name]
          if not ref then return nil, format("No group with name {%s}", name) end
          i = i + 1
        else
          local d = byte(repl, i) - 48
          if d < 0 or d > 9 then return nil, "Illegal group reference" end
          ref = d
          i = i + 1
          while i <= n do
            local e = byte(repl, i) - 48
            if e < 0 or e > 9 or ref * 10 + e > ngroups then break end
            ref = ref * 10 + e
            i = i + 1
          end
          if ref > ngroups then return nil, format("No group %d", ref) end
        end
        flush()
        parts[#parts + 1] = ref
      else
        lit[#lit + 1] = c
        i = i + 1
      end
    end
    flush()
    return parts
  end

  --- s with its first match replaced by the expansion (Matcher.replaceFirst()).
  function re.replace_first(self, s, parts)
    local st, stop = self:find(s)
    if not st then return s end
    local out = { sub(s, 1, st - 1) }
    for _, p in ipairs(parts) do
      if type(p) == "string" then
        out[#out + 1] = p
      else
        out[#out + 1] = self:group(p) or ""
      end
    end
    out[#out + 1] = sub(s, stop + 1)
    return concat(out)
  end

  return re
end

return M
