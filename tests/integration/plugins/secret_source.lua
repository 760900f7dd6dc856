--- secret_source: a test source connector with a password key. open() writes the password
-- it was given to <echo.file>, so a test can tell the real value from the "[hidden]" mask.
local connect = require "luaconnect"

return connect.source {
  version = "1.0.0",
  doc = "Test connector with a password config key",
  aliases = { "SecretSource" },
  config = {
    ["db.user"] = { type = "string", required = true, doc = "User name" },
    ["db.password"] = { type = "password", required = true, doc = "Password (masked in the REST API)" },
    ["echo.file"] = { type = "string", required = true, doc = "File that receives the password at open()" },
    ["retries"] = { type = "int", default = 3, doc = "A number, for validation errors",
      validate = function(v) if v < 0 then return "must be >= 0" end end },
  },

  open = function(task)
    local f = assert(io.open(task.config["echo.file"], "wb"))
    f:write(task.config["db.password"])
    f:close()
  end,

  poll = function(task) return nil end,
}
