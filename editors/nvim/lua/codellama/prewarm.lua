-- Tells the server where the cursor rests, and which buffer was entered (`codellama/prewarm`):
-- the server computes the prompt there ahead of time, so the first suggestion computes only its
-- tail. The server waits for a short rest itself and drops it when a completion comes.
local suggestion = require("codellama.suggestion")
local util = require("codellama.util")

local M = {}

M.counters = { sent = 0 }

--- Send the cursor of the current window, if it shows `buf` and the server is attached.
function M.send(buf)
  if not suggestion.enabled or buf ~= vim.api.nvim_get_current_buf() then
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

--- The autocmds of a buffer the server is attached to.
function M.attach(buf)
  local group = vim.api.nvim_create_augroup("codellama.prewarm." .. buf, { clear = true })
  vim.api.nvim_create_autocmd({ "CursorHold", "CursorHoldI", "BufEnter" }, {
    group = group, buffer = buf,
    callback = function() M.send(buf) end,
  })
end

return M
