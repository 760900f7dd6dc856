--- _pgoffsets: the PostgreSQL CDC source's offsets, as Debezium 3.6's PostgreSQL connector
-- writes and reads them (PostgresOffsetContext, WalPositionLocator), so either connector can
-- take over the other's position on the same slot. Pure Lua over plain tables: no libpq here,
-- so the rules can be tested without a server.
--
-- Offsets (source partition {"server": topic.prefix}); LSNs are numbers (XLogData start LSNs):
--   snapshot row    {lsn = slot's LSN, txId, ts_usec, snapshot = "INITIAL",
--                    last_snapshot_record, snapshot_completed}   (both true on the last row)
--   change          {lsn = the change's LSN, lsn_proc = the same, lsn_commit = the end LSN of
--                    the last transaction before it (absent before the first Commit read after
--                    a snapshot), txId, ts_usec = commit time, messageType = "INSERT" | "UPDATE"
--                    | "DELETE", lsn_index = its place among the changes sharing its LSN,
--                    only when some do (see change below), change_complete = true on the
--                    last record of a change that gives more than one (see resume_at)}
--   after a Commit  {lsn = lsn_proc = lsn_commit = the transaction's end LSN, txId, ts_usec,
--                    messageType = "COMMIT"}   (heartbeats)
--
--   local po = require "_pgoffsets"
--   local r = po.resume(offset)   -- {start=, commit=, locator=?, legacy=?}
local M = {}

--- Offset of a snapshot row (last: the last row of the snapshot).
function M.snapshot(lsn, txid, ts_us, last)
  return { lsn = lsn, txId = txid, ts_usec = ts_us, snapshot = "INITIAL",
    last_snapshot_record = last and true or false, snapshot_completed = last and true or false }
end

--- Offset of a change at lsn (op: "INSERT", "UPDATE", "DELETE"); prev_commit may be nil.
-- index: when other changes of the transaction share this change's LSN (the rows of one
-- multi-row insert, as COPY writes them, are one WAL record), its 1-based place among them,
-- written as lsn_index. Debezium names a change by its LSN alone, so its rule passes over every
-- change at the LSN of the offset and a crash in the middle of such a record loses the rest of
-- its rows; lsn_index lets this connector resume after exactly the rows in Kafka. Debezium
-- ignores the key when it takes the offset over (and then behaves as it always does).
function M.change(lsn, prev_commit, txid, ts_us, op, index)
  return { lsn = lsn, lsn_proc = lsn, lsn_commit = prev_commit, txId = txid, ts_usec = ts_us, messageType = op,
    lsn_index = index }
end

--- Marks off, the offset of a change that gave more than one record, as committed with the
-- change's last record: every record of the change is in Kafka (see resume_at).
function M.complete(off)
  off.change_complete = true
  return off
end

--- Offset once the Commit at end_lsn is read.
function M.commit(end_lsn, txid, ts_us)
  return { lsn = end_lsn, lsn_proc = end_lsn, lsn_commit = end_lsn, txId = txid, ts_usec = ts_us,
    messageType = "COMMIT" }
end

local function truthy(v) return v == true or v == "true" end

--- True when off is a snapshot cut short (Debezium's isInitialSnapshotRunning on a loaded
-- offset: snapshot INITIAL, true or "true", and neither last_snapshot_record nor
-- snapshot_completed).
function M.snapshot_running(off)
  if not off then return false end
  local s = off.snapshot
  if not (s == "INITIAL" or truthy(s)) then return false end
  return not truthy(off.last_snapshot_record) and not truthy(off.snapshot_completed)
end

-- How offsets written by this connector before 1.1.0 are recognised: they have lsn_commit but
-- neither messageType nor a snapshot key. Then lsn_commit was the start LSN of the Commit
-- record of the record's own transaction and lsn_proc the end LSN of the last transaction
-- complete in Kafka. Debezium writes messageType into every offset it takes while streaming
-- (a pre-messageType Debezium 1.x offset read by the old rule gives at most its last
-- transaction again, never a loss).
function M.is_legacy(off)
  return off ~= nil and off.lsn_commit ~= nil and off.messageType == nil and off.snapshot == nil
end

--- Where streaming resumes from the committed offset off (nil: none):
--   start    LSN for START_REPLICATION (Debezium's: lsn_proc, else lsn)
--   commit   the last commit LSN known (lsn_commit of the next changes until a Commit is read)
--   locator  Debezium's WAL position search (locate / pass below), when off has lsn_proc
--   legacy   {commit=, lsn=}: the rule of offsets from before 1.1.0 (skip_legacy below)
function M.resume(off)
  if not off then return {} end
  if M.is_legacy(off) then
    return { start = off.lsn_proc or off.lsn, commit = off.lsn_proc,
      legacy = { commit = off.lsn_commit, lsn = off.lsn or 0 } }
  end
  local r = { start = off.lsn_proc or off.lsn, commit = off.lsn_commit or off.lsn_proc }
  if off.lsn_proc then
    r.locator = { commit = off.lsn_commit or off.lsn_proc, event = off.lsn_proc, mtype = off.messageType,
      index = tonumber(off.lsn_index), complete = truthy(off.change_complete) }
  end
  return r
end

--- Old rule: true when the change at lsn, in the transaction whose Commit record starts at
-- final_lsn (Begin's final_lsn), was in Kafka before the restart.
function M.skip_legacy(legacy, final_lsn, lsn)
  return final_lsn < legacy.commit or (final_lsn == legacy.commit and lsn <= legacy.lsn)
end

--- Debezium's WalPositionLocator.resumeFromLsn: fed every Begin ("BEGIN"), Commit ("COMMIT")
-- and change (any other kind) from the start of the stream with its XLogData start LSN,
-- returns the LSN of the first message to process once it is known (nil: read on).
function M.locate(s, kind, lsn)
  s.first = s.first or lsn
  if s.after_event then
    -- the message after the last one processed: resume there, or at its transaction's Begin
    -- when the offset was a Begin or Commit sharing its LSN with the next change
    if lsn == s.event then
      if s.tx_start and (s.mtype == nil or s.mtype == "BEGIN" or s.mtype == "COMMIT") then return s.tx_start end
      return nil
    end
    return lsn
  end
  if lsn == s.event then s.after_event = true end
  if s.commit == nil then return s.first end
  if s.mtype == "MESSAGE" and s.commit == s.event then return s.first end
  if kind == "BEGIN" then
    s.tx_start = lsn
  elseif kind == "COMMIT" and lsn > s.commit then
    return s.tx_start or s.first -- a transaction not processed: from its start
  end
  return nil
end

--- Where reading resumes once locate() gave from: {from=, skip=?, rest=?}. Debezium's rule
-- resumes at from, past every change at the offset's LSN; an offset with lsn_index (some of
-- the changes at its LSN are in Kafka, not all) resumes at that LSN instead, its first
-- lsn_index changes passed over (skip = {lsn=, n=}, see skip_change).
--
-- A delete gives two records (the delete and its tombstone), a primary key change three
-- (delete, tombstone, create). Debezium puts the change's offset on each of them, and Kafka
-- Connect commits an offset once the first record carrying it is acknowledged, so a stop
-- between two of them (they can be polled in two batches) leaves an offset on the change with
-- its later records never sent; Debezium's rule then resumes past them (a lost tombstone). An
-- offset of a DELETE or UPDATE that does not say change_complete (Debezium's; this
-- connector's say it on the last record of such a change) therefore resumes at the change
-- itself, its first record left out: rest = {lsn=} (see take_rest). At least once: the
-- records after the first are given again, once, if they were in Kafka.
function M.resume_at(loc, from)
  local partial = (loc.mtype == "DELETE" or loc.mtype == "UPDATE") and not loc.complete and loc.after_event
    and from > loc.event
  local rest = partial and { lsn = loc.event } or nil
  if loc.index and from > loc.event then
    return { from = loc.event, skip = { lsn = loc.event, n = partial and loc.index - 1 or loc.index }, rest = rest }
  end
  if partial then return { from = loc.event, rest = rest } end
  return { from = from }
end

--- True for the change at lsn whose first record is in Kafka and the rest maybe not (rest from
-- resume_at; true once).
function M.take_rest(rest, lsn)
  if not rest or rest.done or lsn ~= rest.lsn then return false end
  rest.done = true
  return true
end

--- True when the change at lsn is one of the changes at the offset's LSN already in Kafka
-- (skip from resume_at; counts them down).
function M.skip_change(skip, lsn)
  if not skip or skip.n == 0 or lsn ~= skip.lsn then return false end
  skip.n = skip.n - 1
  return true
end

--- Debezium's WalPositionLocator.skipMessage once the position is found (from = that LSN):
-- true while messages are to be passed over, until the one at from. f = {from=}.
function M.pass_over(f, lsn)
  if not f.from then return false end
  if lsn == f.from then
    f.from = nil
    return false
  end
  return true
end

--- The offset fields that say where a record is (same where for two records: same position).
function M.same_position(a, b)
  return a ~= nil and b ~= nil and a.lsn == b.lsn and a.lsn_proc == b.lsn_proc and a.lsn_commit == b.lsn_commit
    and a.messageType == b.messageType and a.txId == b.txId and a.lsn_index == b.lsn_index
end

return M
