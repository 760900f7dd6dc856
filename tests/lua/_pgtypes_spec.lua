-- Specs for scripts/_pgtypes.lua: PostgreSQL's array and hstore text forms, and the
-- java.util.HashMap order Debezium's hstore JSON keeps (expected orders printed by Java 21
-- with pgjdbc 42.7.11's HStoreConverter.fromString, which Debezium 3.6.1 uses).
local pgt = require "_pgtypes"

describe("_pgtypes", function()
  it("reads arrays of one and more dimensions", function()
    expect.same(pgt.array("{}"), { n = 0 })
    expect.same(pgt.array('{1,NULL,"a \\"b\\"","NULL",\'x\'}'), { "1", nil, 'a "b"', "NULL", "'x'", n = 5 })
    expect.same(pgt.array('{"com,ma","{x}","back\\\\slash"}'), { "com,ma", "{x}", "back\\slash", n = 3 })
    expect.same(pgt.array("{{1,2},{3,NULL}}"), { { "1", "2", n = 2 }, { "3", nil, n = 2 }, n = 2 })
    expect.same(pgt.array("{{{1}},{{2}}}"), { { { "1", n = 1 }, n = 1 }, { { "2", n = 1 }, n = 1 }, n = 2 })
    expect.same(pgt.array("[0:1]={7,8}"), { "7", "8", n = 2 })
    expect.error_contains(function() pgt.array("{1,2") end, "array: unterminated array {1,2")
    expect.error_contains(function() pgt.array('{"a}') end, "array: unterminated quoted item")
    expect.error_contains(function() pgt.array("1") end, "array: not an array: 1")
  end)
  it("reads hstore text in its order, NULL values as nil", function()
    local kv = pgt.hstore('"a"=>"1", "b"=>NULL, ""=>"", "q\\"uote"=>"x,y=>z"')
    expect.eq(#kv, 4)
    expect.same(kv[1], { "a", "1" })
    expect.eq(kv[2][1], "b")
    expect.eq(kv[2][2], nil)
    expect.same(kv[3], { "", "" })
    expect.same(kv[4], { 'q"uote', "x,y=>z" })
    expect.same(pgt.hstore(""), {})
    expect.error_contains(function() pgt.hstore('"a"=>x') end, "hstore: expected a quoted value or NULL")
    expect.error_contains(function() pgt.hstore("a=>1") end, "hstore: expected a quoted key")
  end)
  it("hashes as java.lang.String.hashCode", function()
    expect.eq(pgt.java_hash(""), 0)
    expect.eq(pgt.java_hash("a"), 97)
    expect.eq(pgt.java_hash("hello"), 99162322)
    -- "polygenelubricants".hashCode() == Integer.MIN_VALUE
    expect.eq(pgt.java_hash("polygenelubricants"), 2147483648)
    -- U+1F600 is two UTF-16 units: 0xD83D * 31 + 0xDE00
    expect.eq(pgt.java_hash("\240\159\152\128"), 0xD83D * 31 + 0xDE00)
  end)
  it("orders keys as java.util.HashMap iterates them", function()
    local keys = {}
    for i = 0, 29 do keys[#keys + 1] = "key" .. i end
    keys[#keys + 1] = "\240\159\152\128x"
    keys[#keys + 1] = "Zz"
    keys[#keys + 1] = "aB"
    local got = {}
    for k, i in ipairs(pgt.hashmap_order(keys)) do got[k] = keys[i] end
    expect.eq(table.concat(got, "|"), "key1|key2|aB|key0|key5|key6|key3|key4|key9|key7|key8|key22|key21|key20|"
      .. "key15|key14|key13|key12|key19|key18|key17|key16|Zz|key11|key10|key26|key25|key24|key23|"
      .. "\240\159\152\128x|key29|key28|key27")
  end)
  it("writes Debezium's hstore JSON and map", function()
    local kv = pgt.hstore('"b"=>"2", "a"=>NULL, "é"=>"\\"q\\"\n"')
    expect.eq(pgt.hstore_json(kv), '{"a":null,"b":"2","é":"\\"q\\"\\n"}')
    expect.eq(pgt.hstore_json({}), "{}")
    local m = pgt.hstore_map(kv)
    expect.eq(m.b, "2")
    expect.eq(m.a, require("luaconnect").null)
  end)
end)
