-- :CodeLlamaEdit: rewrite lines as instructed (`codellama/edit`), applied as one undo step
-- only if the buffer did not change while the model answered.
local status = require("codellama.status")
local util = require("codellama.util")

local M = {}

M.counters = { started = 0, applied = 0, refused = 0, failed = 0 }

local function notify(message, level)
  vim.notify("codellama: " .. message, level or vim.log.levels.INFO)
end

--- The LSP range of lines line1..line2 (1-based, inclusive).
local function lines_range(buf, line1, line2, encoding)
  local finish
  if line2 < vim.api.nvim_buf_line_count(buf) then
    finish = { line = line2, character = 0 }
  else
    local last = vim.api.nvim_buf_get_lines(buf, line2 - 1, line2, false)[1] or ""
    finish = { line = line2 - 1, character = util.character(last, #last, encoding) }
  end
  return { start = { line = line1 - 1, character = 0 }, ["end"] = finish }
end

local function apply(buf, client, tick, result)
  if vim.api.nvim_buf_get_changedtick(buf) ~= tick
    or (result.version ~= nil and result.version ~= vim.lsp.util.buf_versions[buf]) then
    M.counters.refused = M.counters.refused + 1
    notify("the buffer changed while the edit was computed; nothing applied",
      vim.log.levels.WARN)
    return
  end
  if #result.edits == 0 then
    notify("the model changed nothing")
    return
  end
  -- One command, no undo sync in between: one undo step.
  vim.lsp.util.apply_text_edits(result.edits, buf, client.offset_encoding)
  M.counters.applied = M.counters.applied + 1
  notify("edit applied (u undoes it)")
end

--- Ask for the edit of lines line1..line2 of `buf` and apply the answer.
function M.request(buf, line1, line2, instruction)
  local client = util.client(buf)
  if not client then
    notify("no server attached to this buffer", vim.log.levels.ERROR)
    return
  end
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(buf) },
    range = lines_range(buf, line1, line2, client.offset_encoding),
    instruction = instruction,
  }
  local tick = vim.api.nvim_buf_get_changedtick(buf)
  M.counters.started = M.counters.started + 1
  notify("editing lines " .. line1 .. "-" .. line2 .. "…")
  util.request(client, "codellama/edit", params, function(err, result)
    if err then
      M.counters.failed = M.counters.failed + 1
      status.detail = err.message
      notify(err.message, vim.log.levels.ERROR)
      return
    end
    apply(buf, client, tick, result)
  end, buf)
end

--- The user command: an instruction as argument, or asked for.
function M.command(opts)
  local buf = vim.api.nvim_get_current_buf()
  local line1, line2 = opts.line1, opts.line2
  if opts.args ~= "" then
    M.request(buf, line1, line2, opts.args)
    return
  end
  vim.ui.input({ prompt = "Code Llama edit: " }, function(instruction)
    if instruction and vim.trim(instruction) ~= "" then
      M.request(buf, line1, line2, instruction)
    end
  end)
end

return M
