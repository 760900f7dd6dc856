-- Specs for scripts/_pgoffsets.lua: offsets as Debezium 3.6 writes them, and where streaming
-- resumes from them (Debezium's WalPositionLocator), from offsets of both connectors.
local po = require "_pgoffsets"

-- The stream a restart reads: {kind, lsn} as the server sends them again from the start LSN.
-- Returns the LSN the search settles on and the change LSNs then processed (not passed over).
local function resume_on(off, stream)
  local r = po.resume(off)
  local found
  for _, m in ipairs(stream) do
    found = po.locate(r.locator, m[1], m[2])
    if found then break end
  end
  local f, kept = { from = found }, {}
  for _, m in ipairs(stream) do
    if not po.pass_over(f, m[2]) and m[1] == "CHANGE" then kept[#kept + 1] = m[2] end
  end
  return found, kept
end

-- two transactions one after the other: changes at 100, 150 (end 200), then 200, 250 (end 300)
local STREAM = { { "BEGIN", 100 }, { "CHANGE", 100 }, { "CHANGE", 150 }, { "COMMIT", 200 },
  { "BEGIN", 200 }, { "CHANGE", 200 }, { "CHANGE", 250 }, { "COMMIT", 300 } }

describe("_pgoffsets", function()
  it("writes Debezium's offsets", function()
    expect.same(po.snapshot(10, 7, 5, false), { lsn = 10, txId = 7, ts_usec = 5, snapshot = "INITIAL",
      last_snapshot_record = false, snapshot_completed = false })
    expect.eq(po.snapshot(10, 7, 5, true).snapshot_completed, true)
    expect.same(po.change(150, 50, 9, 5, "INSERT"), { lsn = 150, lsn_proc = 150, lsn_commit = 50, txId = 9,
      ts_usec = 5, messageType = "INSERT" })
    expect.same(po.commit(200, 9, 5), { lsn = 200, lsn_proc = 200, lsn_commit = 200, txId = 9, ts_usec = 5,
      messageType = "COMMIT" })
  end)
  it("resumes after the last change in Kafka, mid-transaction", function()
    local found, kept = resume_on(po.change(100, 50, 9, 5, "INSERT"), STREAM)
    expect.eq(found, 150)
    expect.same(kept, { 150, 200, 250 })
    expect.eq(po.resume(po.change(100, 50, 9, 5, "INSERT")).start, 100)
  end)
  it("resumes at the next transaction after its last change", function()
    local found, kept = resume_on(po.change(150, 50, 9, 5, "INSERT"), STREAM)
    expect.eq(found, 200)
    expect.same(kept, { 200, 250 })
  end)
  it("resumes at the Begin after a Commit offset whose LSN the next change shares", function()
    local found, kept = resume_on(po.commit(200, 9, 5), { unpack(STREAM, 5) })
    expect.eq(found, 200)
    expect.same(kept, { 200, 250 })
  end)
  it("resumes at the first transaction committed after the offset's last commit", function()
    -- the slot was confirmed past the change: the server starts at a later transaction
    local found, kept = resume_on(po.change(120, 50, 9, 5, "UPDATE"), { unpack(STREAM, 5) })
    expect.eq(found, 200)
    expect.same(kept, { 200, 250 })
  end)
  it("streams from lsn without a search after a snapshot", function()
    local r = po.resume(po.snapshot(10, 7, 5, true))
    expect.eq(r.start, 10)
    expect.eq(r.locator, nil)
    expect.eq(r.commit, nil)
  end)
  it("tells a snapshot cut short from a finished one", function()
    expect.eq(po.snapshot_running(po.snapshot(10, 7, 5, false)), true)
    expect.eq(po.snapshot_running(po.snapshot(10, 7, 5, true)), false)
    expect.eq(po.snapshot_running({ lsn = 10, snapshot = true, last_snapshot_record = false }), true)
    expect.eq(po.snapshot_running({ lsn = 10, snapshot = true, last_snapshot_record = true }), false)
    expect.eq(po.snapshot_running(po.change(1, 1, 1, 1, "INSERT")), false)
    expect.eq(po.snapshot_running(nil), false)
  end)
  it("reads offsets of versions before 1.1.0 by their rule", function()
    -- lsn_commit was the Commit record's start of the record's own transaction
    local old = { lsn = 100, lsn_proc = 50, lsn_commit = 190, txId = 9, ts_usec = 5 }
    expect.eq(po.is_legacy(old), true)
    expect.eq(po.is_legacy(po.change(100, 50, 9, 5, "INSERT")), false)
    expect.eq(po.is_legacy(po.snapshot(10, 7, 5, true)), false)
    local r = po.resume(old)
    expect.eq(r.start, 50)
    expect.eq(r.locator, nil)
    expect.eq(po.skip_legacy(r.legacy, 190, 100), true)
    expect.eq(po.skip_legacy(r.legacy, 190, 150), false)
    expect.eq(po.skip_legacy(r.legacy, 290, 200), false)
  end)
  it("compares positions", function()
    expect.eq(po.same_position(po.change(1, 2, 3, 4, "INSERT"), po.change(1, 2, 3, 9, "INSERT")), true)
    expect.eq(po.same_position(po.change(1, 2, 3, 4, "INSERT"), po.commit(1, 3, 4)), false)
    expect.eq(po.same_position(nil, po.commit(1, 3, 4)), false)
  end)
  it("resumes inside the rows sharing one LSN by lsn_index", function()
    local off = po.change(100, 50, 9, 5, "INSERT", 2)
    expect.eq(off.lsn_index, 2)
    expect.eq(po.change(100, 50, 9, 5, "INSERT").lsn_index, nil)
    local r = po.resume(off)
    expect.eq(r.locator.index, 2)
    -- Debezium's search ends at the first message after LSN 100 (its Commit, 180) ...
    local s = r.locator
    expect.eq(po.locate(s, "BEGIN", 100), nil)
    expect.eq(po.locate(s, "CHANGE", 100), nil)
    expect.eq(po.locate(s, "CHANGE", 100), nil)
    expect.eq(po.locate(s, "CHANGE", 100), nil)
    local at = po.resume_at(s, po.locate(s, "COMMIT", 180))
    -- ... and reading resumes at 100 instead, its first two changes passed over
    expect.eq(at.from, 100)
    expect.eq(po.skip_change(at.skip, 100), true)
    expect.eq(po.skip_change(at.skip, 100), true)
    expect.eq(po.skip_change(at.skip, 100), false)
    expect.eq(po.skip_change(at.skip, 180), false)
    -- without lsn_index, Debezium's rule
    local d = po.resume(po.change(100, 50, 9, 5, "INSERT")).locator
    po.locate(d, "CHANGE", 100)
    expect.eq(po.resume_at(d, po.locate(d, "COMMIT", 180)).from, 180)
    expect.eq(po.resume_at(d, 180).skip, nil)
    -- two rows of one LSN are not the same position
    expect.eq(po.same_position(po.change(1, 2, 3, 4, "INSERT", 1), po.change(1, 2, 3, 4, "INSERT", 2)), false)
  end)
  it("gives again the records after the first of a delete or update at a Debezium offset", function()
    -- Debezium's offset on the delete at 150: the delete is in Kafka, its tombstone maybe not
    local d = po.resume(po.change(150, 50, 9, 5, "DELETE")).locator
    expect.eq(po.locate(d, "BEGIN", 100), nil)
    expect.eq(po.locate(d, "CHANGE", 100), nil)
    expect.eq(po.locate(d, "CHANGE", 150), nil)
    local at = po.resume_at(d, po.locate(d, "COMMIT", 200))
    expect.same(at, { from = 150, rest = { lsn = 150 } })
    expect.eq(po.take_rest(at.rest, 100), false)
    expect.eq(po.take_rest(at.rest, 150), true)
    expect.eq(po.take_rest(at.rest, 150), false)
    -- an update (a key change gives three records) the same
    local u = po.resume(po.change(150, 50, 9, 5, "UPDATE")).locator
    po.locate(u, "CHANGE", 150)
    expect.eq(po.resume_at(u, po.locate(u, "COMMIT", 200)).rest.lsn, 150)
    -- this connector's offset says when the change's records are all in Kafka
    local ours = po.complete(po.change(150, 50, 9, 5, "DELETE"))
    expect.eq(ours.change_complete, true)
    local c = po.resume(ours).locator
    po.locate(c, "CHANGE", 150)
    expect.same(po.resume_at(c, po.locate(c, "COMMIT", 200)), { from = 200 })
    -- (also written as a string)
    local j = po.resume({ lsn = 150, lsn_proc = 150, lsn_commit = 50, messageType = "DELETE", change_complete = "true" }).locator
    expect.eq(j.complete, true)
    -- an insert gives one record: Debezium's rule
    local i = po.resume(po.change(150, 50, 9, 5, "INSERT")).locator
    po.locate(i, "CHANGE", 150)
    expect.same(po.resume_at(i, po.locate(i, "COMMIT", 200)), { from = 200 })
    -- the change not found in the stream (the slot is past it): nothing given again
    local gone = po.resume(po.change(120, 50, 9, 5, "DELETE")).locator
    po.locate(gone, "BEGIN", 200)
    expect.same(po.resume_at(gone, po.locate(gone, "COMMIT", 300)), { from = 200 })
    -- with lsn_index: the changes before it at that LSN passed over, itself given from its second record
    local x = po.resume(po.change(100, 50, 9, 5, "DELETE", 2)).locator
    po.locate(x, "CHANGE", 100)
    local xa = po.resume_at(x, po.locate(x, "COMMIT", 180))
    expect.same(xa, { from = 100, skip = { lsn = 100, n = 1 }, rest = { lsn = 100 } })
  end)
end)
