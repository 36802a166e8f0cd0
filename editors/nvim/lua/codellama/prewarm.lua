-- Tells the server where the cursor rests, and which buffer was entered (`codellama/prewarm`):
-- the server computes the prompt there ahead of time, so the first suggestion computes only its
-- tail. The server waits for a short rest itself and drops it when a completion comes.
local suggestion = require("codellama.suggestion")
local util = require("codellama.util")

local M = {}

M.counters = { sent = 0 }
M.rest_ms = 250 -- setup()'s prewarm_ms

--- Send the cursor of the current window, if it shows `buf` and the server is attached.
function M.send(buf)
  if not suggestion.enabled or not suggestion.allowed(buf)
    or buf ~= vim.api.nvim_get_current_buf() then
    return
  end
  local client = util.client(buf)
  if not client then
    return
  end
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  util.notify(client, "codellama/prewarm",
    { textDocument = params.textDocument, position = params.position })
  M.counters.sent = M.counters.sent + 1
end

local timers = {} -- buffer -> the timer of its resting cursor

--- Send after the cursor rested `M.rest_ms` (every move starts the wait again).
function M.rested(buf)
  local timer = timers[buf]
  if not timer then
    timer = (vim.uv or vim.loop).new_timer()
    timers[buf] = timer
  end
  timer:stop()
  timer:start(M.rest_ms, 0, vim.schedule_wrap(function()
    if vim.api.nvim_buf_is_valid(buf) then
      M.send(buf)
    end
  end))
end

--- The autocmds of a buffer the server is attached to: a timer of its own, not CursorHold,
--- which comes only after 'updatetime' (4 s by default).
function M.attach(buf)
  local group = vim.api.nvim_create_augroup("codellama.prewarm." .. buf, { clear = true })
  vim.api.nvim_create_autocmd({ "CursorMoved", "CursorMovedI" }, {
    group = group, buffer = buf,
    callback = function() M.rested(buf) end,
  })
  vim.api.nvim_create_autocmd("BufEnter", {
    group = group, buffer = buf,
    callback = function() M.send(buf) end,
  })
  vim.api.nvim_create_autocmd("BufWipeout", {
    group = group, buffer = buf,
    callback = function()
      if timers[buf] then
        timers[buf]:stop()
        timers[buf]:close()
        timers[buf] = nil
      end
    end,
  })
end

return M
