-- :checkhealth codellama
local util = require("codellama.util")

local M = {}

local health = vim.health

local function check_version()
  local version = tostring(vim.version())
  if vim.fn.has("nvim-0.10") == 1 then
    health.ok("Neovim " .. version)
  else
    health.error("Neovim " .. version .. ": the plugin needs 0.10 or later")
  end
end

--- The server command is on PATH and answers `--help`.
local function check_command(config)
  local cmd = config.cmd
  if vim.fn.executable(cmd[1]) ~= 1 then
    health.error("server command not found: " .. cmd[1],
      { "pip install codellama-lsp", "or set `cmd` in require('codellama').setup()" })
    return
  end
  health.ok("server command found: " .. vim.fn.exepath(cmd[1]))
  local probe = vim.list_extend(vim.deepcopy(cmd), { "--help" })
  local ok, done = pcall(function()
    return vim.system(probe, { env = config.cmd_env, text = true }):wait(30000)
  end)
  if ok and done.code == 0 then
    health.ok("server command runs: " .. table.concat(cmd, " "))
  else
    local why = ok and ((done.stderr or ""):gsub("%s+$", "")) or tostring(done)
    health.error("server command fails: " .. table.concat(probe, " ") .. ": " .. why)
  end
end

local function check_model(config)
  local model = config.settings.model or "not set (the server's default: its --model, else auto)"
  health.info("model setting: " .. model)
  local client = util.client()
  if not client then
    health.info("no server running yet: open a file of a configured filetype")
    return
  end
  local answer = util.request_sync(client, "codellama/stats", {}, 5000)
  local stats = answer and answer.result
  if not stats then
    health.error("the server does not answer codellama/stats: " ..
      vim.inspect(answer and answer.err or "timeout"))
    return
  end
  local state = stats.model.state
  if state == "ready" then
    health.ok("model " .. stats.model.name .. ": ready")
  elseif state == "failed" then
    health.error("model " .. stats.model.name .. " failed to load: " .. tostring(stats.model.error))
  else
    health.warn("model " .. stats.model.name .. ": " .. state)
  end
end

function M.check()
  health.start("codellama")
  check_version()
  local config = require("codellama").config or require("codellama.config").merge()
  check_command(config)
  check_model(config)
end

return M
